"""The cron job: every five minutes, purge the content whose TTL has passed."""

from __future__ import annotations

from typing import Any

from zentropy.purge.service import purge


async def purge_expired_content(ctx: dict[str, Any], **_: Any) -> int:
    """How many contents were purged."""
    return (await purge(ctx["runtime"])).contents
