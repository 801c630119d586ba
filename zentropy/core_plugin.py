"""The core's own contributions, registered through the same hooks as any plugin."""

from __future__ import annotations

from zentropy.hookspecs import hookimpl
from zentropy.settings import Settings


@hookimpl
def register_settings(register):
    register(Settings)
