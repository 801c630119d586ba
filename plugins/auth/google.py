"""The google auth plugin (being written)."""
