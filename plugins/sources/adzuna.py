"""Adzuna (free tier, key required): `GET /v1/api/jobs/{country}/search/{page}`.

Quirks: `salary_is_predicted` is the string "0"/"1"; optional keys are absent rather than null;
bad credentials give 401 with `"exception": "AUTH_FAIL"`; salaries are yearly, in the country's
currency; no remote filter; at most 50 results a page.
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
    COUNTRY_CURRENCY,
    clean_text,
    normalize_items,
    page_size,
    parse_datetime,
    remote_policy,
    salary_range,
)

COUNTRIES = ("at", "au", "be", "br", "ca", "ch", "de", "es", "fr", "gb", "in", "it", "mx", "nl", "nz", "pl",
             "sg", "us", "za")
EMPLOYMENT_PARAMS = {"full_time": "full_time", "part_time": "part_time", "contract": "contract",
                     "temporary": "contract", "permanent": "permanent"}
CONTRACT = {"full_time": "full_time", "part_time": "part_time", "permanent": "permanent", "contract": "contract"}


class AdzunaSettings(msgspec.Struct, frozen=True, kw_only=True):
    app_id: Annotated[str, env("ADZUNA_APP_ID", doc="Adzuna application id (developer.adzuna.com).")]
    app_key: Annotated[str, env("ADZUNA_APP_KEY", secret=True, doc="Adzuna application key.")]
    country: Annotated[
        str, msgspec.Meta(pattern="^(" + "|".join(COUNTRIES) + ")$"),
        env("ADZUNA_COUNTRY", doc="Country searched when a search names none (ISO code, lower case)."),
    ] = "gb"
    base_url: Annotated[str, env("ADZUNA_BASE_URL", doc="Adzuna API base URL.")] = "https://api.adzuna.com"


class Adzuna:
    info = SourceInfo(
        name="adzuna",
        tier="free",
        rate_limits=(RateLimit(25, 60), RateLimit(250, 86_400), RateLimit(1_000, 7 * 86_400),
                     RateLimit(2_500, 31 * 86_400)),
        attribution="Jobs by Adzuna",
        attribution_url="https://www.adzuna.com",
        honours=frozenset({"keywords", "location", "country", "posted_within_days", "salary_min",
                           "employment_type", "page_size", "distance_km", "sort_by"}),
        supports_fetch=False,
    )
    settings = AdzunaSettings
    credentials = ("ADZUNA_APP_ID", "ADZUNA_APP_KEY")

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(AdzunaSettings)

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        country = (query.country or self.config.country).lower()
        if country == "uk":
            country = "gb"
        if country not in COUNTRIES:
            raise SourceError(self.info.name, "unsupported_query",
                              f"Adzuna has no jobs for country {country!r}; it covers {', '.join(COUNTRIES)}")
        page_number = int(cursor) if cursor and cursor.isdigit() and int(cursor) >= 1 else 1
        per_page = page_size(query, 50)
        params: dict[str, Any] = {
            "app_id": self.config.app_id,
            "app_key": self.config.app_key,
            "results_per_page": per_page,
            "what": query.keywords.strip() or None,
            "where": query.location,
            "distance": query.distance_km if query.location else None,
            "max_days_old": query.posted_within_days,
            "salary_min": query.salary_min,
            "sort_by": query.sort_by,
            "content-type": "application/json",
        }
        if query.employment_type in EMPLOYMENT_PARAMS:
            params[EMPLOYMENT_PARAMS[query.employment_type]] = 1
        url = f"{self.config.base_url.rstrip('/')}/v1/api/jobs/{country}/search/{page_number}"
        data = await self.http.get_json(url, params=params, errors=self._error)
        if not isinstance(data, dict):
            raise SourceError(self.info.name, "bad_response", "the response is not a JSON object")
        postings, skipped = normalize_items(self.info.name, data.get("results"), lambda item: normalize(item, country))
        count = data.get("count") if isinstance(data.get("count"), int) else None
        more = bool(data.get("results")) and (count is None or page_number * per_page < count)
        return Page(postings=postings, next_cursor=str(page_number + 1) if more else None, skipped=skipped,
                    total=count)

    def _error(self, status: int, body: Any) -> SourceError | None:
        if not isinstance(body, dict) or not body.get("exception"):
            return None
        exception = str(body["exception"])[:60]
        display = str(body.get("display") or "")[:200]
        if status in (401, 403) or exception == "AUTH_FAIL":
            return SourceError(self.info.name, "auth_failed",
                               f"ADZUNA_APP_ID / ADZUNA_APP_KEY was refused by Adzuna ({exception}); "
                               "check ADZUNA_APP_ID and ADZUNA_APP_KEY")
        if status == 400:
            return SourceError(self.info.name, "bad_request", f"Adzuna rejected the search ({exception}: {display})")
        return None


def normalize(item: dict[str, Any], country: str) -> Posting:
    company = item.get("company") or {}
    location = item.get("location") or {}
    category = item.get("category") or {}
    title = clean_text(item["title"])
    where = clean_text(location.get("display_name"))
    salary = salary_range(item.get("salary_min"), item.get("salary_max"), currency=COUNTRY_CURRENCY.get(country),
                          period="year", predicted=str(item.get("salary_is_predicted", "0")) == "1")
    kind = CONTRACT.get(str(item.get("contract_time") or "")) or CONTRACT.get(str(item.get("contract_type") or ""))
    return Posting(
        source="adzuna",
        external_id=clean_text(item["id"]),
        title=title,
        company=clean_text(company.get("display_name")) or None,
        locations=[where] if where else [],
        country=country,
        remote=remote_policy(where, title),
        salary=salary,
        employment_type=kind,  # type: ignore[arg-type]
        posted_at=parse_datetime(item.get("created")),
        source_url=item.get("redirect_url"),
        apply_url=item.get("redirect_url"),
        description_text=clean_text(item.get("description")),
        raw=item,
        tags=[clean_text(category["tag"])] if isinstance(category.get("tag"), str) else [],
        category=clean_text(category.get("label")) or None,
    )


@hookimpl
def register_settings(register):
    register(AdzunaSettings)


@hookimpl
def register_sources(register):
    register(Adzuna)
