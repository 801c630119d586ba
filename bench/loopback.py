"""Synthetic postings fetched through the real source plugins, from loopback servers.

`fetch(postings, redis)` writes each posting of `bench.synthetic.stream` as its source's wire item
(in the shape of the captured responses in ../shared/fixtures/sources, as tests/sources/fakes.py
builds them), serves the items from that provider's fake (`tests.sources.fakes`: real HTTP/1.1 on
127.0.0.1, in a thread of this process) and reads them back page by page through the source's own
plugin (plugins/sources/, imported as `zentropy_plugins.sources`) and the core's `SourceHTTP`, as
the worker does. So what the ingest benchmark replays is what the plugins make of each wire format:
HTML turned into text, the raw item kept, Lever's company being its site's name, SerpApi's dates
relative to now ("3 days ago"), Adzuna's and SerpApi's country being the search's. The postings
come back in the stream's order (a re-listing still after the listing it repeats), with the
seconds the fetch took and the items each plugin skipped as malformed.

How the items are served:
- Adzuna and SerpApi take the country from the search, not from the item: one search (and one
  fake) per country. Adzuna covers neither Ireland nor Sweden: postings there are served by its
  UK search, and come back with country "gb".
- Remotive answers with its whole list, which the plugin reads and normalizes once and pages
  through (`zentropy.sources.scan.Normalized`).
- Greenhouse boards and Lever sites are a company's own: one per company slug in the stream's
  URLs (GREENHOUSE_BOARDS, LEVER_SITES).
- Arbeitnow: one list, 100 a page.

Rate limits are off (a `Guard` with no limits): the loopback server is not the provider, and the
benchmark measures what comes after the fetch. The plugins' Redis keys (response caches, breaker)
live under a prefix of the run's own (a namespace per listing), deleted afterwards; the source
settings are put in the environment only while a plugin is built and used, then restored.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import os
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from redis.asyncio import Redis

from tests.sources.fakes import (
    AdzunaFake, ArbeitnowFake, FakeServer, GreenhouseFake, LeverFake, RemotiveFake, Reply, Request, SerpApiFake,
)
from zentropy.sources.contract import Posting, Salary, SearchQuery
from zentropy.sources.guard import Guard
from zentropy.sources.http import SourceHTTP
from zentropy.sources.settings import HttpPolicy
from zentropy_plugins.sources.adzuna import COUNTRIES as ADZUNA_COUNTRIES
from zentropy_plugins.sources.adzuna import Adzuna
from zentropy_plugins.sources.arbeitnow import Arbeitnow
from zentropy_plugins.sources.greenhouse import Greenhouse
from zentropy_plugins.sources.lever import Lever
from zentropy_plugins.sources.remotive import Remotive
from zentropy_plugins.sources.serpapi import SerpApi

PLUGINS = {"adzuna": Adzuna, "serpapi": SerpApi, "remotive": Remotive, "arbeitnow": Arbeitnow,
           "greenhouse": Greenhouse, "lever": Lever}
POLICY = HttpPolicy(max_response_bytes=1 << 30)  # a whole Remotive list (or board, or site) is one response


class Wire(NamedTuple):
    external_id: str  # as the plugin will make it
    item: dict[str, Any]
    listing: str  # what it is served in: a country's search, a board, a site ("" for the source's one list)


@dataclasses.dataclass
class Listing:
    """What one plugin is pointed at: a fake, the settings that point it there ("{url}": the
    server's address), and the country searched."""

    handler: Callable[[Request], Reply]
    settings: dict[str, str]
    country: str | None = None


@dataclasses.dataclass
class Fetched:
    postings: list[Posting]  # in the stream's order
    seconds: float  # serving and fetching every page (encoding the items not counted)
    per_source: dict[str, int]  # postings fetched
    skipped: dict[str, int]  # items a plugin skipped as malformed


# -- wire formats -------------------------------------------------------------------------------
def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n"))


def _salary_text(salary: Salary | None) -> str:
    """'From 85,000 USD a year': what free-text salaries say of the stream's (a minimum only)."""
    if salary is None or salary.min is None:
        return ""
    return f"From {salary.min:,.0f} {salary.currency} a {salary.period}"


def _slug(url: str) -> str:
    """The board or site in a Greenhouse or Lever URL (boards.greenhouse.io/<slug>/jobs/...)."""
    return urlsplit(url).path.split("/")[1]


def adzuna(p: Posting, index: int) -> Wire:
    city = p.locations[0]
    item: dict[str, Any] = {
        "__CLASS__": "Adzuna::API::Response::Job", "id": str(4_000_000_000 + index), "title": p.title,
        "description": p.description_text, "created": p.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "redirect_url": p.apply_url,
        "company": {"__CLASS__": "Adzuna::API::Response::Company", "display_name": p.company},
        "location": {"__CLASS__": "Adzuna::API::Response::Location", "display_name": city,
                     "area": [p.country.upper(), city]},
        "salary_is_predicted": "0",
    }
    if p.salary is not None:  # optional keys are left out, not null
        item.update({k: v for k, v in (("salary_min", p.salary.min), ("salary_max", p.salary.max)) if v is not None})
    return Wire(item["id"], item, p.country if p.country in ADZUNA_COUNTRIES else "gb")


def serpapi(p: Posting, index: int) -> Wire:
    days = max(0, (datetime.now(timezone.utc) - p.posted_at).days)
    detected = {"posted_at": f"{days} days ago", **({"salary": _salary_text(p.salary)} if p.salary else {})}
    site = urlsplit(p.apply_url).hostname
    job_id = base64.b64encode(json.dumps({"job_title": p.title, "company_name": p.company, "htidocid": index})
                              .encode()).decode()
    item = {"title": p.title, "company_name": p.company, "location": p.locations[0], "via": site,
            "share_link": p.source_url, "extensions": list(detected.values()), "detected_extensions": detected,
            "description": p.description_text, "apply_options": [{"title": site, "link": p.apply_url}],
            "job_id": job_id}
    return Wire(job_id, item, p.country)


def remotive(p: Posting, index: int) -> Wire:
    item = {"id": 3_000_000 + index, "url": p.apply_url, "title": p.title, "company_name": p.company, "tags": [],
            "publication_date": p.posted_at.strftime("%Y-%m-%dT%H:%M:%S"),  # no zone: UTC
            "candidate_required_location": p.locations[0], "salary": _salary_text(p.salary),
            "description": _paragraphs(p.description_text)}
    return Wire(str(item["id"]), item, "")


def arbeitnow(p: Posting, index: int) -> Wire:
    slug = f"{re.sub(r'[^a-z0-9]+', '-', p.title.lower()).strip('-')}-{index}"
    item = {"slug": slug, "company_name": p.company, "title": p.title, "description": _paragraphs(p.description_text),
            "remote": False, "url": p.apply_url, "tags": [], "job_types": [], "location": p.locations[0],
            "created_at": int(p.posted_at.timestamp())}
    return Wire(slug, item, "")


def greenhouse(p: Posting, index: int) -> Wire:
    board = _slug(p.apply_url)
    item = {"absolute_url": p.apply_url, "internal_job_id": 4_000_000 + index, "location": {"name": p.locations[0]},
            "metadata": None, "id": 9_000_000 + index, "updated_at": p.posted_at.isoformat(), "title": p.title,
            "company_name": p.company, "first_published": p.posted_at.isoformat(), "language": "en",
            "content": html.escape(_paragraphs(p.description_text)), "departments": [], "offices": []}
    return Wire(f"{board}:{item['id']}", item, board)


def lever(p: Posting, index: int) -> Wire:
    site = _slug(p.apply_url)
    item: dict[str, Any] = {
        "id": str(uuid.UUID(int=index)), "text": p.title,
        "categories": {"location": p.locations[0], "allLocations": list(p.locations)},
        "country": p.country.upper(), "createdAt": int(p.posted_at.timestamp() * 1000),
        "description": _paragraphs(p.description_text), "descriptionPlain": p.description_text,
        "lists": [], "additional": "", "additionalPlain": "", "workplaceType": "unspecified",
        "hostedUrl": p.source_url, "applyUrl": p.apply_url,
    }
    if p.salary is not None:
        item["salaryRange"] = {"currency": p.salary.currency, "interval": f"per-{p.salary.period}-salary",
                               "min": p.salary.min, "max": p.salary.max}
    return Wire(f"{site}:{item['id']}", item, site)


ENCODERS: dict[str, Callable[[Posting, int], Wire]] = {
    "adzuna": adzuna, "serpapi": serpapi, "remotive": remotive, "arbeitnow": arbeitnow, "greenhouse": greenhouse,
    "lever": lever}


# -- serving ----------------------------------------------------------------------------------------
def _google_catch_all(fake: SerpApiFake) -> Callable[[Request], Reply]:
    """A search with no keywords is sent as q=jobs, for which Google Jobs lists every job; the
    fake matches q's words against each job's text, so it is asked without them."""
    return lambda request: fake(dataclasses.replace(request, query={**request.query, "q": [""]}))


def listings(source: str, groups: dict[str, list[dict]]) -> Iterator[Listing]:
    """The listings serving a source's items (`groups`: the items of each Wire.listing, in order)."""
    if source == "adzuna":
        for country, items in groups.items():
            fake = AdzunaFake(items)
            yield Listing(fake, {"ADZUNA_BASE_URL": "{url}", "ADZUNA_APP_ID": fake.app_id,
                                 "ADZUNA_APP_KEY": fake.app_key}, country)
    elif source == "serpapi":
        for country, items in groups.items():
            fake = SerpApiFake(items, searches_left=len(items))
            yield Listing(_google_catch_all(fake), {"SERPAPI_BASE_URL": "{url}", "SERPAPI_API_KEY": fake.api_key},
                          country)
    elif source == "remotive":
        yield Listing(RemotiveFake(groups[""]), {"REMOTIVE_BASE_URL": "{url}"})
    elif source == "arbeitnow":
        yield Listing(ArbeitnowFake(groups[""]), {"ARBEITNOW_BASE_URL": "{url}"})
    elif source == "greenhouse":
        yield Listing(GreenhouseFake(groups), {"GREENHOUSE_BASE_URL": "{url}", "GREENHOUSE_BOARDS": ",".join(groups)})
    elif source == "lever":
        yield Listing(LeverFake(groups), {"LEVER_BASE_URL": "{url}", "LEVER_SITES": ",".join(groups)})


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ for the duration; what was there before restored after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def fetch_listing(source: str, listing: Listing, redis: Redis, key_prefix: str) -> tuple[list[Posting], int]:
    """Every page of the listing, through the source's plugin: (postings, items skipped as malformed)."""
    plugin = PLUGINS[source]
    query = SearchQuery(keywords="", country=listing.country, page_size=100)
    with FakeServer(listing.handler) as server, \
            environment({k: v.format(url=server.url) for k, v in listing.settings.items()}):
        guard = Guard(redis, key_prefix, source, (), POLICY)  # no rate limits: the loopback is not the provider
        http = SourceHTTP(plugin.info, redis=redis, guard=guard, policy=POLICY, key_prefix=key_prefix)
        try:
            search = plugin(http).search
            postings, skipped, cursor = [], 0, None
            while True:
                page = await search(query, cursor)
                postings += page.postings
                skipped += page.skipped
                cursor = page.next_cursor
                if cursor is None:
                    return postings, skipped
        finally:
            await http.aclose()


async def fetch(postings: Sequence[Posting], redis: Redis) -> Fetched:
    """`postings` served in their sources' wire formats and fetched back through the plugins."""
    index_of: dict[tuple[str, str], int] = {}  # (source, external id) -> position in the stream
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for index, p in enumerate(postings):
        wire = ENCODERS[p.source](p, index)
        index_of[p.source, wire.external_id] = index
        groups[p.source][wire.listing].append(wire.item)
    in_order: list[Posting | None] = [None] * len(postings)
    per_source: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    key_prefix = f"zentropy-bench:{uuid.uuid4().hex}:sources"
    started = time.perf_counter()
    try:
        for source in (s for s in PLUGINS if s in groups):
            for number, listing in enumerate(listings(source, groups[source])):
                # a namespace per listing: a later server may get an earlier one's port, and so its cached answers
                fetched, malformed = await fetch_listing(source, listing, redis, f"{key_prefix}:{number}")
                skipped[source] += malformed
                for p in fetched:
                    index = index_of.pop((source, p.external_id), None)
                    if index is None:
                        raise RuntimeError(f"{source} returned {p.external_id!r}, which was not served or came twice")
                    in_order[index] = p
                per_source[source] += len(fetched)
    finally:
        seconds = time.perf_counter() - started
        keys = [key async for key in redis.scan_iter(match=f"{key_prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
    if len(index_of) != skipped.total():
        raise RuntimeError(f"{len(index_of) - skipped.total()} postings were served but neither fetched nor skipped")
    return Fetched([p for p in in_order if p is not None], seconds, dict(per_source), +skipped)
