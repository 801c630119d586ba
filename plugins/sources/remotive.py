"""Remotive (free, no key): remote jobs from `GET /api/remote-jobs`.

Remotive's terms: call the API at most a few times a day (they advise 4), link back to the job's
Remotive URL and name Remotive as the source; do not submit the jobs to other job boards (Google
Jobs, LinkedIn, ...). So this source reads the whole list at most every REMOTIVE_REFRESH_HOURS
(the copy is shared by all processes through Redis), filters it locally, and its apply URL is the
Remotive page. `description` is HTML; `salary` is free text; `publication_date` has no zone (UTC).
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
    parse_salary_text,
    safe_html,
    strings,
)
from zentropy.sources.scan import Listing, Normalized, scan

JOB_TYPES = {"full_time": "full_time", "part_time": "part_time", "contract": "contract", "freelance": "contract",
             "internship": "internship"}


class RemotiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    base_url: Annotated[str, env("REMOTIVE_BASE_URL", doc="Remotive base URL.")] = "https://remotive.com"
    refresh_hours: Annotated[
        float, msgspec.Meta(ge=6, le=24),
        env("REMOTIVE_REFRESH_HOURS", doc="Hours between reads of the job list (Remotive asks for at most 4 a day)."),
    ] = 6.0


class Remotive:
    info = SourceInfo(
        name="remotive",
        tier="free",
        rate_limits=(RateLimit(4, 86_400),),
        attribution="Remote jobs by Remotive",
        attribution_url="https://remotive.com",
        honours=frozenset({"keywords", "location", "remote_only", "posted_within_days", "employment_type",
                           "page_size"}),
        supports_fetch=False,
    )
    settings = RemotiveSettings

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(RemotiveSettings)
        self.normalized = Normalized()

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        async def read() -> tuple[list[Posting], int]:
            data = await self.http.get_json(f"{self.config.base_url.rstrip('/')}/api/remote-jobs",
                                            cache_seconds=self.config.refresh_hours * 3600)
            if not isinstance(data, dict):
                raise SourceError(self.info.name, "bad_response", "the response is not a JSON object")
            return normalize_items(self.info.name, data.get("jobs"), normalize)

        async def load(_: int) -> Listing:
            postings, skipped = await self.normalized.get("remote-jobs", read)
            return Listing(postings=postings, skipped=skipped, last=True)

        return await scan(self.info.name, cursor, page_size(query), load,
                          lambda p: matches(p, query, self.info.honours))


def normalize(item: dict[str, Any]) -> Posting:
    description = item.get("description") if isinstance(item.get("description"), str) else None
    where = clean_text(item.get("candidate_required_location"))
    url = item.get("url") if isinstance(item.get("url"), str) else None
    job_type = str(item.get("job_type") or "").lower()
    return Posting(
        source="remotive",
        external_id=clean_text(item["id"]),
        title=clean_text(item["title"]),
        company=clean_text(item.get("company_name")) or None,
        locations=[where] if where else [],
        remote="remote",
        salary=parse_salary_text(item.get("salary")),
        employment_type=JOB_TYPES.get(job_type) or employment_type(job_type),  # type: ignore[arg-type]
        posted_at=parse_datetime(item.get("publication_date")),
        source_url=url,
        apply_url=url,  # Remotive's terms: link back to the job on Remotive
        description_text=html_to_text(description),
        description_html=safe_html(description),
        raw=item,
        tags=strings(item.get("tags")),
        category=clean_text(item.get("category")) or None,
    )


@hookimpl
def register_settings(register):
    register(RemotiveSettings)


@hookimpl
def register_sources(register):
    register(Remotive)
