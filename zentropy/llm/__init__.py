"""LLM providers and what Zentropy does with them: extraction, embeddings, metering.

Entry points for other features: `extract_posting`, `embed`, `embedding_model`, `llm_service`.
"""

from zentropy.llm.contract import (
    CallContext,
    ChatRequest,
    ChatResult,
    Delta,
    EmbeddingResult,
    Message,
    Provider,
    ProviderInfo,
    Usage,
)
from zentropy.llm.embeddings import embed, embedding_model
from zentropy.llm.errors import LLMError
from zentropy.llm.extraction import extract_posting
from zentropy.llm.schemas import Extraction
from zentropy.llm.service import llm_service
from zentropy.llm.settings import EMBEDDING_DIMENSION

__all__ = [
    "EMBEDDING_DIMENSION", "CallContext", "ChatRequest", "ChatResult", "Delta", "EmbeddingResult", "Extraction",
    "LLMError", "Message", "Provider", "ProviderInfo", "Usage", "embed", "embedding_model", "extract_posting",
    "llm_service",
]
