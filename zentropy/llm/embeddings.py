"""Embeddings for matching: `embed(runtime, texts) -> list[list[float]]`, EMBEDDING_DIMENSION each."""

from __future__ import annotations

import uuid

from zentropy.llm.service import llm_service
from zentropy.llm.settings import EMBEDDING_DIMENSION
from zentropy.runtime import Runtime

__all__ = ["EMBEDDING_DIMENSION", "embed", "embedding_model"]


async def embed(runtime: Runtime, texts: list[str], user_id: uuid.UUID | None = None) -> list[list[float]]:
    """Unit-length vectors, one per text, from the configured embedding model."""
    if not texts:
        return []
    return (await llm_service(runtime).embed(texts, user_id=user_id)).vectors


def embedding_model(runtime: Runtime) -> str:
    """provider:model that `embed` uses: store it with the vectors; re-embed when it changes."""
    return llm_service(runtime).embedding_model()
