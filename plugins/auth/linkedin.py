"""The linkedin auth plugin (being written)."""
