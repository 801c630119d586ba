"""How long posting content is kept, and how the purge runs (all have defaults).

A source's content TTL is, in order: `ZENTROPY_CONTENT_TTL_OVERRIDES` for that source (the
operator's word, e.g. under a licence that allows more); else the source plugin's
`SourceInfo.content_ttl_seconds` (24 h unless the plugin says otherwise), capped by
`ZENTROPY_CONTENT_TTL_SECONDS` when that is set.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from zentropy.settings import env, read_settings
from zentropy.sources.contract import SourceInfo

_PAIR = r"[A-Za-z0-9_.-]+\s*=\s*\d+"
OVERRIDES_PATTERN = rf"^\s*({_PAIR}\s*(,\s*{_PAIR}\s*)*)?$"
SETTINGS_KEY = "purge.settings"


class ContentSettings(msgspec.Struct, frozen=True, kw_only=True):
    content_ttl_seconds: Annotated[
        Annotated[int, msgspec.Meta(ge=0)] | None,
        env("ZENTROPY_CONTENT_TTL_SECONDS", doc="Longest any posting's content (description, HTML, raw "
            "payload) is kept, in seconds; a source whose plugin declares less keeps its own. Unset: each "
            "source's own TTL (24 h by default)."),
    ] = None
    content_ttl_overrides: Annotated[
        str, msgspec.Meta(pattern=OVERRIDES_PATTERN),
        env("ZENTROPY_CONTENT_TTL_OVERRIDES", doc="Per-source content TTL in seconds, e.g. "
            "`remotive=21600,adzuna=86400`; wins over the plugin's and ZENTROPY_CONTENT_TTL_SECONDS."),
    ] = ""
    purge_lock_timeout_ms: Annotated[
        int, msgspec.Meta(ge=1, le=60_000),
        env("ZENTROPY_PURGE_LOCK_TIMEOUT_MS", doc="Longest the purge waits for the moment's exclusive lock "
            "detaching a content partition needs; past it, it steps back and retries later (readers never queue "
            "longer)."),
    ] = 100
    purge_max_partitions: Annotated[
        int, msgspec.Meta(ge=1),
        env("ZENTROPY_PURGE_MAX_PARTITIONS", doc="Most hourly content partitions one purge run drops; the "
            "next run goes on."),
    ] = 500

    @property
    def overrides(self) -> dict[str, int]:
        pairs = (item.split("=", 1) for item in self.content_ttl_overrides.split(",") if item.strip())
        return {name.strip(): int(seconds) for name, seconds in pairs}

    def ttl(self, info: SourceInfo) -> int:
        """The content TTL, in seconds, of `info`'s source."""
        override = self.overrides.get(info.name)
        if override is not None:
            return override
        if self.content_ttl_seconds is not None:
            return min(info.content_ttl_seconds, self.content_ttl_seconds)
        return info.content_ttl_seconds


def content_settings(runtime: Any) -> ContentSettings:
    """The runtime's content settings (read once; tests put their own in `runtime.extras`)."""
    if SETTINGS_KEY not in runtime.extras:
        runtime.extras[SETTINGS_KEY] = read_settings(ContentSettings)
    return runtime.extras[SETTINGS_KEY]


def content_ttl(runtime: Any, info: SourceInfo) -> int:
    """The content TTL of `info`'s source under this runtime's settings: what `ingest` should be given."""
    return content_settings(runtime).ttl(info)
