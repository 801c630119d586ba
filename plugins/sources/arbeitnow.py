"""Arbeitnow (free, no key; mostly Germany and Europe): `GET /api/job-board-api?page=N`.

100 jobs a page, newest first; `links.next` is null on the last page. The API has no search, so
this source filters locally and pages with the core's scan. `created_at` is epoch seconds,
`description` HTML, `remote` a boolean, `job_types` free strings ("Full Time", "Berufserfahren").
Terms: free public API, do not abuse; link back to Arbeitnow.
"""

from __future__ import annotations

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
    employment_type,
    html_to_text,
    matches,
    normalize_items,
    page_size,
    parse_datetime,
    remote_policy,
    safe_html,
    strings,
)
from zentropy.sources.scan import Listing, scan


class ArbeitnowSettings(msgspec.Struct, frozen=True, kw_only=True):
    base_url: Annotated[str, env("ARBEITNOW_BASE_URL", doc="Arbeitnow base URL.")] = "https://www.arbeitnow.com"
    pages_per_search: Annotated[
        int, msgspec.Meta(ge=1, le=10),
        env("ARBEITNOW_PAGES_PER_SEARCH", doc="API pages read at most for one page of matches."),
    ] = 3


class Arbeitnow:
    info = SourceInfo(
        name="arbeitnow",
        tier="free",
        rate_limits=(RateLimit(30, 60),),  # ours, to be polite: Arbeitnow publishes none
        attribution="Jobs by Arbeitnow",
        attribution_url="https://www.arbeitnow.com",
        honours=frozenset({"keywords", "location", "remote_only", "posted_within_days", "employment_type",
                           "page_size"}),
        supports_fetch=False,
    )
    settings = ArbeitnowSettings

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(ArbeitnowSettings)

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        async def load(unit: int) -> Listing:
            data = await self.http.get_json(f"{self.config.base_url.rstrip('/')}/api/job-board-api",
                                            params={"page": unit + 1}, cache_seconds=900)
            if not isinstance(data, dict):
                raise SourceError(self.info.name, "bad_response", "the response is not a JSON object")
            postings, skipped = normalize_items(self.info.name, data.get("data"), normalize)
            links = data.get("links") if isinstance(data.get("links"), dict) else {}
            return Listing(postings=postings, skipped=skipped, last=not links.get("next"))

        return await scan(self.info.name, cursor, page_size(query), load,
                          lambda p: matches(p, query, self.info.honours),
                          max_listings=self.config.pages_per_search)


def normalize(item: dict[str, Any]) -> Posting:
    description = item.get("description") if isinstance(item.get("description"), str) else None
    title = clean_text(item["title"])
    where = clean_text(item.get("location"))
    job_types = strings(item.get("job_types"))
    if item.get("remote") is True:
        remote = "remote"
    else:
        said = remote_policy(where, title)
        remote = said if said != "remote" else "unknown"  # the flag says not remote; the words disagree
        if item.get("remote") is False and said == "unknown":
            remote = "onsite"
    url = item.get("url") if isinstance(item.get("url"), str) else None
    return Posting(
        source="arbeitnow",
        external_id=clean_text(item["slug"]),
        title=title,
        company=clean_text(item.get("company_name")) or None,
        locations=[where] if where else [],
        remote=remote,  # type: ignore[arg-type]
        employment_type=employment_type(*job_types),
        posted_at=parse_datetime(item.get("created_at"), milliseconds=False),
        source_url=url,
        apply_url=url,
        description_text=html_to_text(description),
        description_html=safe_html(description),
        raw=item,
        tags=strings(item.get("tags")),
        category=None,
    )


@hookimpl
def register_settings(register):
    register(ArbeitnowSettings)


@hookimpl
def register_sources(register):
    register(Arbeitnow)
