"""OpenRouter, on the OpenAI plugin: attribution headers, the `models` fallback list, `provider`
routing preferences, an opaque `user`, `usage.cost`, users' own keys (BYOK) and embeddings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from zentropy_plugins.llm.openai import OpenAICompatibleProvider, optional_key

from zentropy.hookspecs import hookimpl
from zentropy.llm.contract import CallContext, ChatRequest
from zentropy.settings import SettingsError, env, read_settings

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


class OpenRouterKey(msgspec.Struct, frozen=True, kw_only=True):
    api_key: Annotated[str, env("OPENROUTER_API_KEY", secret=True, doc="OpenRouter API key (the service's).")]


class OpenRouterConnection(msgspec.Struct, frozen=True, kw_only=True):
    base_url: Annotated[str, env("OPENROUTER_BASE_URL", doc="OpenRouter API base URL.")] = DEFAULT_BASE_URL
    app_title: Annotated[
        str, env("OPENROUTER_APP_TITLE", doc="App name sent as X-OpenRouter-Title (attribution).")
    ] = "Zentropy"
    provider: Annotated[
        str | None,
        env("OPENROUTER_PROVIDER", doc='Provider routing preferences as JSON, sent as `provider`, e.g. '
            '{"sort": "price", "data_collection": "deny"}.'),
    ] = None
    timeout: Annotated[float, msgspec.Meta(gt=0), env("OPENROUTER_TIMEOUT", doc="Seconds per request.")] = 60.0


class ProviderPreferences(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """OpenRouter's `provider` object (the fields Zentropy passes through; unknown ones are typos)."""

    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    allow_fallbacks: bool | None = None
    require_parameters: bool | None = None
    data_collection: Literal["allow", "deny"] | None = None
    zdr: bool | None = None
    sort: Literal["price", "throughput", "latency"] | None = None
    quantizations: list[str] | None = None
    max_price: dict[str, float] | None = None


def parse_preferences(text: str | None) -> ProviderPreferences | None:
    if not text:
        return None
    try:
        return msgspec.json.decode(text, type=ProviderPreferences)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SettingsError(f"OPENROUTER_PROVIDER: {exc}") from None


class OpenRouterProvider(OpenAICompatibleProvider):
    name = "openrouter"
    accepts_user_keys = True
    server_fallback = True

    def __init__(self, *, api_key: str | None, base_url: str = DEFAULT_BASE_URL, app_title: str = "Zentropy",
                 preferences: ProviderPreferences | None = None, timeout: float = 60.0) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout)
        self.app_title = app_title
        self.preferences = preferences

    def headers(self, ctx: CallContext) -> dict[str, str]:
        return {"HTTP-Referer": ctx.app_url, "X-OpenRouter-Title": self.app_title}

    def body(self, request: ChatRequest | None, ctx: CallContext) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if request is not None and len(request.models) > 1:
            body["models"] = list(request.models)  # OpenRouter tries them in order; `model` says which answered
        provider = msgspec.to_builtins(self.preferences) if self.preferences else {}
        if request is not None and request.schema is not None:
            provider.setdefault("require_parameters", True)  # only providers that honour the schema
        if provider:
            body["provider"] = provider
        return body


def provider_from_env() -> OpenRouterProvider:
    connection = read_settings(OpenRouterConnection)
    return OpenRouterProvider(
        api_key=optional_key(OpenRouterKey), base_url=connection.base_url, app_title=connection.app_title,
        preferences=parse_preferences(connection.provider), timeout=connection.timeout,
    )


@hookimpl
def register_settings(register):
    register(OpenRouterKey)
    register(OpenRouterConnection)


@hookimpl
def register_llm_providers(register):
    register(provider_from_env())
