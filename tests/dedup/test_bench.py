"""The benchmark runner's plumbing (the benchmarks themselves run with `python -m bench`)."""

from __future__ import annotations

import subprocess
import sys

from bench.jobfunnel import TfIdf
from bench.report import write_section
from tests.plugin_packages import ROOT


def test_each_benchmark_rewrites_only_its_own_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    write_section("dedup", "dedup v1", doc)
    write_section("ingest", "ingest v1", doc)
    write_section("dedup", "dedup v2\nwith two lines", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    assert "dedup v1" not in text and "dedup v2\nwith two lines" in text and "ingest v1" in text
    assert text.index("dedup v2") < text.index("ingest v1")


def test_unknown_benchmarks_are_refused():
    result = subprocess.run([sys.executable, "-m", "bench", "nonsense"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "unknown benchmark nonsense" in result.stderr


def test_jobfunnel_tfidf_cosine():
    tfidf = TfIdf(["the robots move parcels", "robots move parcels quickly", "nurses care for patients"])
    assert tfidf.cosine("Robots move parcels", "robots move parcels") > 0.99
    assert tfidf.cosine("robots move parcels", "nurses care for patients") == 0.0
    assert tfidf.cosine("the a of", "the a of") == 0.0  # stop words only: nothing to compare
