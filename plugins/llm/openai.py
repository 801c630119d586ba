"""The openai llm plugin (being written)."""
