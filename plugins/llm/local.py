"""The local llm plugin (being written)."""
