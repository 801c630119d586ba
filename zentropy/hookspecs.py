"""The hooks Zentropy plugins implement.

Every hook is synchronous and registration-style: the core calls it once at start-up with a
`register` callable, and the plugin registers objects whose methods may be async (pluggy has no
async support). Each plugin's implementation is called on its own, so one plugin that raises is
reported as failed without taking the others down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("zentropy")
hookimpl = pluggy.HookimplMarker("zentropy")


@hookspec
def register_settings(register: Callable[[type], None]) -> None:
    """Register the plugin's settings class: a msgspec Struct read with `read_settings`.

    Call pattern: `register(MySettings)`, once per class. A plugin is *configured* when every
    class it registered can be read from the environment; `zentropy plugins` shows it.
    """


@hookspec
def register_sources(register: Callable[[Any], None]) -> None:
    """Register job sources.

    Call pattern: `register(SourceClass)` with a `zentropy.sources.SourceFactory`, usually the
    source class: `info` (name, tier, cost, limits, TTL, attribution, honoured fields) and
    `settings` readable on the class; the core builds it with its `SourceHTTP` and calls
    `async search(query, cursor) -> Page`, optionally `async fetch(external_id)`.
    """


@hookspec
def register_llm_providers(register: Callable[[Any], None]) -> None:
    """Register LLM providers.

    Call pattern: `register(provider)` with an object that follows `zentropy.llm.Provider`:
    a `name`, the models it serves, and async `chat`, `stream` and `embed` methods that return
    content with usage.
    """


@hookspec
def register_identity_providers(register: Callable[[Any], None]) -> None:
    """Register identity providers (sign-in).

    Call pattern: `register(provider)` with an object that follows
    `zentropy.auth.IdentityProvider`: a redirect provider (OAuth / OpenID Connect) turns a sign-in
    into an authorization URL and a callback into a verified identity; an email provider sends a
    link and verifies its token.
    """


@hookspec
def register_jobs(register: Callable[..., None]) -> None:
    """Register worker jobs.

    Call pattern: `register(async_function)`. The function takes the SAQ context and keyword
    arguments, `async def job(ctx, *, user_id=None, **kwargs)`; it is enqueued by its name.
    """


@hookspec
def register_cron_jobs(register: Callable[..., None]) -> None:
    """Register scheduled worker jobs.

    Call pattern: `register(async_function, cron="*/5 * * * *", timeout=300)`. However many
    workers run, each schedule slot runs once.
    """


@hookspec
def register_company_aliases(register: Callable[[str, str], None]) -> None:
    """Register company name aliases for cross-source dedup.

    Call pattern: `register("facebook", "meta")`: postings from either name are one employer.
    Names are normalized (case, punctuation, legal forms) before they are compared.
    """
