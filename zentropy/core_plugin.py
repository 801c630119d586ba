"""The core's own contributions, registered through the same hooks as any plugin."""

from __future__ import annotations

from zentropy.auth.jobs import purge_expired_sign_ins
from zentropy.auth.settings import AuthSettings
from zentropy.hookspecs import hookimpl
from zentropy.llm.settings import LLMSettings
from zentropy.settings import Settings


@hookimpl
def register_settings(register):
    register(Settings)
    register(AuthSettings)
    register(LLMSettings)


@hookimpl
def register_cron_jobs(register):
    register(purge_expired_sign_ins, cron="17 * * * *", timeout=300)
