"""Reading a posting's content: the fullest live description among its listings, or why not.

`content_status` is derived, never stored: `live` while some listing's content has not expired,
`expired` after, `none` when no listing ever had content. So purging (dropping partitions) updates
no metadata row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ContentStatus = Literal["live", "expired", "none"]


class PostingContent(msgspec.Struct, frozen=True, kw_only=True):
    status: ContentStatus
    expires_at: datetime | None  # when the (last) content expires or expired
    source: str | None = None  # the listing the description comes from
    source_url: str | None = None
    description_text: str | None = None
    description_html: str | None = None
    raw: dict[str, Any] | None = None


def content_status(content_expires_at: datetime | None, now: datetime) -> ContentStatus:
    if content_expires_at is None:
        return "none"
    return "live" if content_expires_at > now else "expired"


async def read_content(session: AsyncSession, posting_id: int, now: datetime) -> PostingContent:
    """The fullest unexpired description of posting `posting_id`; when none is left, the status,
    when it expired and a source URL to read it at."""
    best = (await session.execute(
        text("""
            SELECT s.source, s.source_url, c.description_text, c.description_html, c.raw::text AS raw,
                   c.expires_at
            FROM posting_sources s
            JOIN posting_content c ON c.source_id = s.id AND c.expires_at = s.content_expires_at
            WHERE s.posting_id = :posting_id AND s.content_expires_at > :now
            ORDER BY length(c.description_text) DESC, s.id
            LIMIT 1
        """),
        {"posting_id": posting_id, "now": now},
    )).first()
    if best is not None:
        return PostingContent(
            status="live", expires_at=best.expires_at, source=best.source, source_url=best.source_url,
            description_text=best.description_text, description_html=best.description_html,
            raw=msgspec.json.decode(best.raw) if best.raw else None,
        )
    row = (await session.execute(
        text("""
            SELECT p.content_expires_at, p.source_url,
                   (SELECT s.source_url FROM posting_sources s WHERE s.posting_id = p.id AND s.source_url IS NOT NULL
                    ORDER BY s.id LIMIT 1) AS listing_url
            FROM postings p WHERE p.id = :posting_id
        """),
        {"posting_id": posting_id},
    )).first()
    if row is None:
        raise LookupError(f"no posting {posting_id}")
    status = content_status(row.content_expires_at, now)
    return PostingContent(status="expired" if status == "live" else status, expires_at=row.content_expires_at,
                          source_url=row.source_url or row.listing_url)
