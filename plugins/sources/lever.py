"""Lever job sites (free, no key): `GET /v0/postings/{site}?mode=json`.

Each company's site is one listing (a JSON array); this source reads the sites in LEVER_SITES in
order (each kept for a while in Redis), filters locally and pages with the core's scan.
`createdAt` is epoch milliseconds; `workplaceType` is on-site / remote / hybrid / unspecified;
`salaryRange` has currency, interval ("per-year-salary", ...), min and max. One posting can be
fetched again: `GET /v0/postings/{site}/{id}`. EU-hosted sites: LEVER_BASE_URL=https://api.eu.lever.co.
Lever's API names no company: a posting's company is the name LEVER_SITES gives its site
(`site=Company Name`), else the site's name, which cross-source dedup matches only when it is the
company's key ("plaid" and "Plaid Inc." are one employer; "scaleai" and "Scale AI" are not).
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
    SalaryPeriod,
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
    salary_range,
    strings,
)
from zentropy.sources.scan import Normalized, scan_boards

SITE = re.compile(r"^[A-Za-z0-9_.-]+$")
_ENTRY = r"[A-Za-z0-9_.-]+(\s*=\s*[^,=\s][^,=]*)?"  # a site, or site=Company Name
SITES = rf"^\s*{_ENTRY}(\s*,\s*{_ENTRY})*\s*,?\s*$"
POSTING_ID = re.compile(r"^[A-Za-z0-9-]+$")
WORKPLACE = {"remote": "remote", "hybrid": "hybrid", "on-site": "onsite", "onsite": "onsite"}
INTERVALS: list[tuple[str, SalaryPeriod]] = [("year", "year"), ("month", "month"), ("week", "week"),
                                             ("day", "day"), ("hour", "hour")]


class LeverSettings(msgspec.Struct, frozen=True, kw_only=True):
    sites: Annotated[
        str, msgspec.Meta(pattern=SITES),
        env("LEVER_SITES", doc="Comma-separated Lever site names (jobs.lever.co/<site>), each optionally "
                               "with its company's name: site=Company Name (Lever's API names none)."),
    ] = "palantir=Palantir Technologies,spotify=Spotify,plaid=Plaid"
    base_url: Annotated[str, env("LEVER_BASE_URL", doc="Lever postings API base URL.")] = "https://api.lever.co"

    @property
    def companies(self) -> dict[str, str]:
        """Each site's company name, in the settings' order (the site's name where none is given)."""
        pairs = (entry.partition("=") for entry in self.sites.split(",") if entry.strip())
        return {site.strip(): name.strip() or site.strip() for site, _, name in pairs}

    @property
    def site_list(self) -> list[str]:
        return list(self.companies)


class Lever:
    info = SourceInfo(
        name="lever",
        tier="free",
        rate_limits=(RateLimit(60, 60),),  # ours, to be polite: Lever limits only applications
        attribution=None,
        honours=frozenset({"keywords", "location", "country", "remote_only", "posted_within_days",
                           "employment_type", "page_size"}),
        supports_fetch=True,
    )
    settings = LeverSettings

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(LeverSettings)
        self.base = self.config.base_url.rstrip("/")
        self.companies = self.config.companies  # parsed once, not for every posting
        self.normalized = Normalized()

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        async def read(site: str) -> tuple[list[Posting], int]:
            data = await self.http.get_json(f"{self.base}/v0/postings/{site}", params={"mode": "json"},
                                            cache_seconds=900)
            return normalize_items(self.info.name, data, lambda item: normalize(item, site, self._company(site)))

        return await scan_boards(self.info.name, self.config.site_list, cursor, page_size(query),
                                 lambda site: self.normalized.get(site, lambda: read(site)),
                                 lambda p: matches(p, query, self.info.honours),
                                 unknown="lever site not found; check LEVER_SITES")

    def _company(self, site: str) -> str:
        return self.companies.get(site, site)

    async def fetch(self, external_id: str) -> Posting | None:
        site, _, posting_id = external_id.partition(":")
        if not SITE.match(site) or not POSTING_ID.match(posting_id):
            raise SourceError(self.info.name, "not_found", f"{external_id!r} is not a Lever posting id")
        data = await self.http.get_json(f"{self.base}/v0/postings/{site}/{posting_id}")
        postings, _ = normalize_items(self.info.name, [data], lambda item: normalize(item, site, self._company(site)))
        if not postings:
            raise SourceError(self.info.name, "bad_response", "the posting could not be read")
        return postings[0]


def _html(item: dict[str, Any]) -> str:
    """The whole posting as HTML: description, then each list under its heading, then the closing."""
    parts = [item.get("description") if isinstance(item.get("description"), str) else ""]
    for block in item.get("lists") or []:
        if isinstance(block, dict) and isinstance(block.get("content"), str):
            heading = block.get("text") if isinstance(block.get("text"), str) else ""
            parts.append(f"<h3>{heading}</h3><ul>{block['content']}</ul>")
    if isinstance(item.get("additional"), str):
        parts.append(item["additional"])
    return "".join(parts)


def normalize(item: dict[str, Any], site: str, company: str) -> Posting:
    categories = item.get("categories") if isinstance(item.get("categories"), dict) else {}
    title = clean_text(item["text"])
    locations = strings(categories.get("allLocations")) or strings([categories.get("location")])
    workplace = str(item.get("workplaceType") or "").lower()
    salary_info = item.get("salaryRange") if isinstance(item.get("salaryRange"), dict) else {}
    interval = str(salary_info.get("interval") or "")
    period = next((p for word, p in INTERVALS if word in interval), None)
    currency = salary_info.get("currency") if isinstance(salary_info.get("currency"), str) else None
    markup = _html(item)
    country = item.get("country") if isinstance(item.get("country"), str) and len(item["country"]) == 2 else None
    team, department = clean_text(categories.get("team")), clean_text(categories.get("department"))
    return Posting(
        source="lever",
        external_id=f"{site}:{clean_text(item['id'])}",
        title=title,
        company=company,
        locations=locations,
        country=country.lower() if country else None,
        remote=WORKPLACE.get(workplace) or remote_policy(*locations, title),  # type: ignore[arg-type]
        salary=salary_range(salary_info.get("min"), salary_info.get("max"), currency=currency, period=period),
        employment_type=employment_type(categories.get("commitment")),
        posted_at=parse_datetime(item.get("createdAt"), milliseconds=True),
        source_url=item.get("hostedUrl") if isinstance(item.get("hostedUrl"), str) else None,
        apply_url=item.get("applyUrl") if isinstance(item.get("applyUrl"), str) else None,
        description_text=html_to_text(markup),
        description_html=safe_html(markup),
        raw=item,
        tags=[t for t in (team, department) if t],
        category=team or department or None,
    )


@hookimpl
def register_settings(register):
    register(LeverSettings)


@hookimpl
def register_sources(register):
    register(Lever)
