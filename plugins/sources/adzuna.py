"""The adzuna source plugin (being written)."""
