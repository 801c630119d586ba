"""The process's `SourceService`: one per runtime, shared with the tier engine (one pooled HTTP
client per source)."""

from __future__ import annotations

from typing import Any

from zentropy.sources.service import SourceService

KEY = "search.sources"  # where the tier engine keeps it too


def source_service(runtime: Any) -> SourceService:
    service = runtime.extras.get(KEY)
    if service is None:
        service = runtime.extras[KEY] = SourceService(runtime)
    return service
