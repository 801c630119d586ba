"""The arbeitnow source plugin (being written)."""
