"""The magic_link auth plugin (being written)."""
