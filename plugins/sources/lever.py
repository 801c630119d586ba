"""The lever source plugin (being written)."""
