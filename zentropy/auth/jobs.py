"""Housekeeping: expired sessions and used-up magic-link tokens are deleted hourly."""

from __future__ import annotations

from typing import Any

from zentropy.auth.store import purge_expired


async def purge_expired_sign_ins(ctx: dict[str, Any], **_: Any) -> int:
    return await purge_expired(ctx["runtime"].db)
