"""The greenhouse source plugin (being written)."""
