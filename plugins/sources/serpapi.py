"""The serpapi source plugin (being written)."""
