"""The remotive source plugin (being written)."""
