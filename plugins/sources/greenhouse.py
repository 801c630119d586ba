"""Greenhouse job boards (free, no key): `GET /v1/boards/{token}/jobs?content=true`.

Each company's public board is one listing; this source reads the boards in GREENHOUSE_BOARDS in
order (each kept for a while in Redis), filters locally and pages with the core's scan. `content`
is HTML-entity-escaped HTML: unescape it, then make text. A board that does not exist is logged
and skipped. One posting can be fetched again: `GET /v1/boards/{token}/jobs/{id}`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from zentropy.hookspecs import hookimpl
from zentropy.settings import env, read_settings
from zentropy.sources.contract import (
    Page,
    Posting,
    RateLimit,
    SearchQuery,
    SourceError,
    SourceInfo,
)
from zentropy.sources.http import SourceHTTP
from zentropy.sources.normalize import (
    clean_text,
    html_to_text,
    matches,
    normalize_items,
    page_size,
    parse_datetime,
    remote_policy,
    safe_html,
)
from zentropy.sources.scan import Normalized, scan_boards

TOKEN = re.compile(r"^[A-Za-z0-9_.-]+$")
TOKENS = r"^\s*[A-Za-z0-9_.-]+(\s*,\s*[A-Za-z0-9_.-]+)*\s*,?\s*$"


class GreenhouseSettings(msgspec.Struct, frozen=True, kw_only=True):
    boards: Annotated[
        str, msgspec.Meta(pattern=TOKENS),
        env("GREENHOUSE_BOARDS", doc="Comma-separated board tokens (boards.greenhouse.io/<token>)."),
    ] = "stripe,gitlab,cloudflare"
    base_url: Annotated[
        str, env("GREENHOUSE_BASE_URL", doc="Greenhouse job board API base URL.")
    ] = "https://boards-api.greenhouse.io"

    @property
    def board_list(self) -> list[str]:
        return [b.strip() for b in self.boards.split(",") if b.strip()]


class Greenhouse:
    info = SourceInfo(
        name="greenhouse",
        tier="free",
        rate_limits=(RateLimit(60, 60),),  # ours, to be polite: Greenhouse publishes none
        attribution=None,
        honours=frozenset({"keywords", "location", "remote_only", "posted_within_days", "page_size"}),
        supports_fetch=True,
    )
    settings = GreenhouseSettings

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(GreenhouseSettings)
        self.base = self.config.base_url.rstrip("/")
        self.normalized = Normalized()

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        async def read(board: str) -> tuple[list[Posting], int]:
            data = await self.http.get_json(f"{self.base}/v1/boards/{board}/jobs", params={"content": "true"},
                                            cache_seconds=900)
            if not isinstance(data, dict):
                raise SourceError(self.info.name, "bad_response", "the response is not a JSON object")
            return normalize_items(self.info.name, data.get("jobs"), lambda item: normalize(item, board))

        return await scan_boards(self.info.name, self.config.board_list, cursor, page_size(query),
                                 lambda board: self.normalized.get(board, lambda: read(board)),
                                 lambda p: matches(p, query, self.info.honours),
                                 unknown="greenhouse board not found; check GREENHOUSE_BOARDS")

    async def fetch(self, external_id: str) -> Posting | None:
        board, _, job_id = external_id.partition(":")
        if not TOKEN.match(board) or not job_id.isdigit():
            raise SourceError(self.info.name, "not_found", f"{external_id!r} is not a Greenhouse posting id")
        data = await self.http.get_json(f"{self.base}/v1/boards/{board}/jobs/{job_id}")
        postings, _ = normalize_items(self.info.name, [data], lambda item: normalize(item, board))
        if not postings:
            raise SourceError(self.info.name, "bad_response", "the posting could not be read")
        return postings[0]


def normalize(item: dict[str, Any], board: str) -> Posting:
    content = item.get("content") if isinstance(item.get("content"), str) else None
    title = clean_text(item["title"])
    location = item.get("location") or {}
    where = clean_text(location.get("name")) if isinstance(location, dict) else ""
    departments = [clean_text(d.get("name")) for d in item.get("departments") or []
                   if isinstance(d, dict) and isinstance(d.get("name"), str) and clean_text(d.get("name"))]
    url = item.get("absolute_url") if isinstance(item.get("absolute_url"), str) else None
    return Posting(
        source="greenhouse",
        external_id=f"{board}:{int(item['id'])}",
        title=title,
        company=clean_text(item.get("company_name")) or board,
        locations=[where] if where else [],
        remote=remote_policy(where, title),
        posted_at=parse_datetime(item.get("first_published")) or parse_datetime(item.get("updated_at")),
        source_url=url,
        apply_url=url,
        description_text=html_to_text(content, escaped=True),
        description_html=safe_html(content, escaped=True),
        raw=item,
        tags=departments,
        category=departments[0] if departments else None,
    )


@hookimpl
def register_settings(register):
    register(GreenhouseSettings)


@hookimpl
def register_sources(register):
    register(Greenhouse)
