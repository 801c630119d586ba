"""LLM settings: the model route of each task, the per-user budget and rate limit, retries."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from zentropy.settings import SettingsError, env, env_names, read_settings

Task = Literal["extraction", "embedding", "scoring", "generation"]
TASKS: tuple[Task, ...] = get_args(Task)
EMBEDDING_DIMENSION = 384  # all-MiniLM-L6-v2; remote embedding models are asked for this many dimensions

# Cheap, fast models for bulk work; strong ones where quality shows; the no-key fallback last.
DEFAULT_ROUTES: dict[Task, str] = {
    "extraction": "openrouter:google/gemini-2.5-flash-lite, openrouter:openai/gpt-4.1-nano, "
                  "openai:gpt-4.1-nano, local:rules",
    "scoring": "openrouter:openai/gpt-4.1-nano, openrouter:google/gemini-2.5-flash-lite, openai:gpt-4.1-nano",
    "generation": "openrouter:anthropic/claude-sonnet-4, openrouter:openai/gpt-4.1, openai:gpt-4.1",
    "embedding": "local:all-minilm-l6-v2",
}


class ModelRef(msgspec.Struct, frozen=True):
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_route(text: str) -> list[ModelRef]:
    """`provider:model, provider:model, ...` (split at the first colon: model ids may hold one)."""
    refs = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        provider, sep, model = part.partition(":")
        if not sep or not provider.strip() or not model.strip():
            raise ValueError(f"{part!r} is not provider:model")
        refs.append(ModelRef(provider.strip(), model.strip()))
    if not refs:
        raise ValueError("names no model")
    return refs


class LLMSettings(msgspec.Struct, frozen=True, kw_only=True):
    extraction_models: Annotated[
        str, env("ZENTROPY_LLM_EXTRACTION_MODELS", doc="Route of the extraction task: provider:model, in order.")
    ] = DEFAULT_ROUTES["extraction"]
    scoring_models: Annotated[
        str, env("ZENTROPY_LLM_SCORING_MODELS", doc="Route of the scoring task.")
    ] = DEFAULT_ROUTES["scoring"]
    generation_models: Annotated[
        str, env("ZENTROPY_LLM_GENERATION_MODELS", doc="Route of the generation task.")
    ] = DEFAULT_ROUTES["generation"]
    embedding_models: Annotated[
        str, env("ZENTROPY_LLM_EMBEDDING_MODELS", doc="Embedding model: the first available entry is used, "
                 f"asked for {EMBEDDING_DIMENSION} dimensions.")
    ] = DEFAULT_ROUTES["embedding"]
    monthly_budget_usd: Annotated[
        float, msgspec.Meta(ge=0),
        env("ZENTROPY_LLM_MONTHLY_BUDGET_USD", doc="Per-user monthly LLM budget in USD (calls with the user's "
            "own key do not count)."),
    ] = 1.0
    rate_limit_calls: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_LLM_RATE_LIMIT_CALLS", doc="LLM calls a user may make per window.")
    ] = 60
    rate_limit_seconds: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_LLM_RATE_LIMIT_SECONDS", doc="Length of that window in seconds.")
    ] = 60
    max_retries: Annotated[
        int, msgspec.Meta(ge=0, le=10),
        env("ZENTROPY_LLM_MAX_RETRIES", doc="Retries of a call the provider rate-limited (429) or failed (5xx)."),
    ] = 2
    max_retry_wait: Annotated[
        float, msgspec.Meta(ge=0),
        env("ZENTROPY_LLM_MAX_RETRY_WAIT", doc="Longest Retry-After honoured in place, in seconds; a longer one "
            "fails the call with its retry_after."),
    ] = 30.0
    extraction_max_chars: Annotated[
        int, msgspec.Meta(ge=200),
        env("ZENTROPY_LLM_EXTRACTION_MAX_CHARS", doc="Posting text beyond this is not sent to a model."),
    ] = 12_000
    extraction_concurrency: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_LLM_EXTRACTION_CONCURRENCY", doc="Extractions run at once.")
    ] = 8

    def route(self, task: Task) -> list[ModelRef]:
        return parse_route(getattr(self, f"{task}_models"))


def read_llm_settings(source=None) -> LLMSettings:  # noqa: ANN001
    """LLMSettings from the environment, every route checked (a bad one is a SettingsError naming it)."""
    settings = read_settings(LLMSettings, source)
    names = env_names(LLMSettings)
    for task in TASKS:
        try:
            settings.route(task)
        except ValueError as exc:
            raise SettingsError(f"{names[f'{task}_models']}: {exc}") from None
    return settings
