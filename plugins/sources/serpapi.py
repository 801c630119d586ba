"""SerpApi Google Jobs (premium: one search credit a call): `GET /search.json?engine=google_jobs`.

Paging only by `next_page_token` (10 a page; `start` is discontinued). "No results" is HTTP 200
with an `error` string and `jobs_results_state: "Fully empty"`: an empty page. An invalid key is
401; "Your account has run out of searches." is 429 (credits spent, not a rate limit). Remaining
searches come from `/account.json`, which costs nothing. Salary and remote come from
`detected_extensions`, the apply URL from `apply_options`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import msgspec

from zentropy.hookspecs import hookimpl
from zentropy.settings import env, read_settings
from zentropy.sources.contract import (
    Page,
    Posting,
    Quota,
    SearchQuery,
    SourceError,
    SourceInfo,
)
from zentropy.sources.http import SourceHTTP
from zentropy.sources.normalize import (
    COUNTRY_CURRENCY,
    clean_text,
    employment_type,
    normalize_items,
    parse_ago,
    parse_salary_text,
    remote_policy,
)

FULLY_EMPTY = "Fully empty"


class SerpApiSettings(msgspec.Struct, frozen=True, kw_only=True):
    api_key: Annotated[str, env("SERPAPI_API_KEY", secret=True, doc="SerpApi private API key.")]
    language: Annotated[str, env("SERPAPI_HL", doc="Google interface language (hl).")] = "en"
    base_url: Annotated[str, env("SERPAPI_BASE_URL", doc="SerpApi base URL.")] = "https://serpapi.com"


class SerpApi:
    info = SourceInfo(
        name="serpapi",
        tier="premium",
        cost_per_call=1.0,
        cost_unit="search credit",
        rate_limits=(),  # the account's credits are the budget: read from /account.json
        attribution="Results from Google Jobs via SerpApi",
        attribution_url="https://serpapi.com",
        honours=frozenset({"keywords", "location", "country", "remote_only", "distance_km"}),
        supports_fetch=False,
    )
    settings = SerpApiSettings

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(SerpApiSettings)

    @property
    def _base(self) -> str:
        return self.config.base_url.rstrip("/")

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        country = (query.country or "").lower() or None
        params: dict[str, Any] = {
            "engine": "google_jobs",
            "q": query.keywords.strip() or "jobs",
            "location": query.location,
            "gl": country,
            "hl": self.config.language,
            "lrad": query.distance_km if query.location else None,
            "ltype": 1 if query.remote_only else None,
            "next_page_token": cursor or None,
            "api_key": self.config.api_key,
        }
        data = await self.http.get_json(f"{self._base}/search.json", params=params, errors=self._error)
        if not isinstance(data, dict):
            raise SourceError(self.info.name, "bad_response", "the response is not a JSON object")
        if data.get("error"):
            if data.get("jobs_results_state") == FULLY_EMPTY or "hasn't returned any results" in str(data["error"]):
                return Page(postings=[], next_cursor=None, total=0)
            raise SourceError(self.info.name, "bad_request", f"SerpApi: {str(data['error'])[:200]}")
        now = datetime.now(timezone.utc)
        postings, skipped = normalize_items(self.info.name, data.get("jobs_results", []),
                                            lambda item: normalize(item, country, now))
        pagination = data.get("serpapi_pagination") or {}
        token = pagination.get("next_page_token") if isinstance(pagination, dict) else None
        return Page(postings=postings, next_cursor=token if isinstance(token, str) and token else None,
                    skipped=skipped)

    async def quota(self) -> Quota | None:
        data = await self.http.get_json(f"{self._base}/account.json", params={"api_key": self.config.api_key},
                                        billable=False, errors=self._error)
        if not isinstance(data, dict) or not isinstance(data.get("total_searches_left"), (int, float)):
            raise SourceError(self.info.name, "bad_response", "account.json has no total_searches_left")
        number = lambda key: data[key] if isinstance(data.get(key), (int, float)) else None  # noqa: E731
        return Quota(remaining=data["total_searches_left"], limit=number("searches_per_month"),
                     used=number("this_month_usage"))

    def _error(self, status: int, body: Any) -> SourceError | None:
        message = str(body.get("error", ""))[:200] if isinstance(body, dict) else ""
        if status == 429 and "run out of searches" in message:
            return SourceError(self.info.name, "quota_exhausted",
                               "the SerpApi account has run out of searches; no more calls until it is "
                               "topped up or the month renews")
        if status == 401:
            return SourceError(self.info.name, "auth_failed",
                               f"SERPAPI_API_KEY was refused by SerpApi ({message or 'HTTP 401'}); "
                               "check SERPAPI_API_KEY")
        if status == 400 and message:
            return SourceError(self.info.name, "bad_request", f"SerpApi rejected the search: {message}")
        return None


def normalize(item: dict[str, Any], country: str | None, now: datetime) -> Posting:
    extensions = item.get("detected_extensions") or {}
    title = clean_text(item["title"])
    location = clean_text(item.get("location"))
    remote = "remote" if extensions.get("work_from_home") is True else remote_policy(location, title)
    options = [o for o in item.get("apply_options") or [] if isinstance(o, dict) and isinstance(o.get("link"), str)]
    text = clean_text(item.get("description")) or "\n\n".join(
        _highlight(h) for h in item.get("job_highlights") or [] if isinstance(h, dict))
    return Posting(
        source="serpapi",
        external_id=clean_text(item["job_id"]),
        title=title,
        company=clean_text(item.get("company_name")) or None,
        locations=[location] if location else [],
        country=country,
        remote=remote,
        salary=parse_salary_text(extensions.get("salary"), currency=COUNTRY_CURRENCY.get(country or "")),
        employment_type=employment_type(extensions.get("schedule_type")),
        posted_at=parse_ago(extensions.get("posted_at"), now),
        source_url=item.get("share_link") if isinstance(item.get("share_link"), str) else None,
        apply_url=options[0]["link"] if options else None,
        description_text=text,
        raw=item,
        tags=[clean_text(e) for e in item.get("extensions") or [] if isinstance(e, str)][:20],
        category=None,
    )


def _highlight(block: dict[str, Any]) -> str:
    """'Qualifications:\n- ...' from one of `job_highlights` (used when there is no description)."""
    items = [f"- {clean_text(i)}" for i in block.get("items") or [] if isinstance(i, str)]
    return "\n".join([f"{clean_text(block.get('title'))}:", *items])


@hookimpl
def register_settings(register):
    register(SerpApiSettings)


@hookimpl
def register_sources(register):
    register(SerpApi)
