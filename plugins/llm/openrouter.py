"""The openrouter llm plugin (being written)."""
