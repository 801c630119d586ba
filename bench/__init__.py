"""Benchmarks: `python -m bench` runs them all, `python -m bench NAME` one; results are written
to docs/benchmarks.md (each benchmark owns one section of it)."""
