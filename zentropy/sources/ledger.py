"""Writing the source-call ledger (`source_calls`)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from sqlalchemy.exc import SQLAlchemyError

from zentropy.db import Database
from zentropy.sources.models import SourceCall

log = logging.getLogger(__name__)


class LedgerEntry(msgspec.Struct, kw_only=True):
    source: str
    operation: str
    query: dict[str, Any]
    cursor: str | None = None
    status: str = "ok"
    error_code: str | None = None
    items: int = 0
    skipped: int = 0
    requests: int = 0
    cost: float = 0.0
    latency_ms: int = 0


async def record(db: Database, entry: LedgerEntry) -> None:
    """Add one row. A ledger that cannot be written is logged; it never fails the call itself."""
    try:
        async with db.session() as session:
            session.add(SourceCall(**msgspec.structs.asdict(entry)))
    except (SQLAlchemyError, OSError) as exc:
        log.error("source ledger write failed", extra={"source": entry.source, "error": type(exc).__name__})
