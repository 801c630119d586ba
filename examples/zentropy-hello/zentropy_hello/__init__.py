"""zentropy-hello: a worked third-party plugin with a settings class, a job source, a worker job
and a cron job. Its source reads a JSON feed of postings from HELLO_FEED_URL:

    {"jobs": [{"id": "1", "title": "...", "company": "...", "url": "...", "description": "<p>..</p>",
               "published": "2026-11-20T09:00:00Z", "remote": true}, ...]}
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from zentropy.hookspecs import hookimpl
from zentropy.settings import env, read_settings
from zentropy.sources import Page, Posting, RateLimit, SearchQuery, SourceError, SourceInfo
from zentropy.sources.http import SourceHTTP
from zentropy.sources.normalize import clean_text, html_to_text, matches, normalize_items, parse_datetime, safe_html


class HelloSettings(msgspec.Struct, frozen=True, kw_only=True):
    feed_url: Annotated[str, env("HELLO_FEED_URL", doc="URL of the hello job feed (JSON).")]
    greeting: Annotated[str, env("HELLO_GREETING", doc="What the hello job says.")] = "hello"


class HelloFeed:
    """A free source that reads one whole feed and filters it locally."""

    info = SourceInfo(
        name="hello", tier="free", rate_limits=(RateLimit(30, 60),),
        attribution="Jobs from the hello feed", honours=frozenset({"keywords", "remote_only", "page_size"}),
    )
    settings = HelloSettings  # without HELLO_FEED_URL the source is listed as not configured

    def __init__(self, http: SourceHTTP) -> None:
        self.http = http
        self.config = read_settings(HelloSettings)

    async def search(self, query: SearchQuery, cursor: str | None = None) -> Page:
        data = await self.http.get_json(self.config.feed_url, cache_seconds=300)
        if not isinstance(data, dict):
            raise SourceError(self.info.name, "bad_response", "the feed is not a JSON object")
        postings, skipped = normalize_items(self.info.name, data.get("jobs"), normalize)
        found = [p for p in postings if matches(p, query, self.info.honours)]
        return Page(postings=found[: query.page_size], skipped=skipped)


def normalize(item: dict) -> Posting:
    """One feed item; raising here skips (and counts) the item instead of failing the page."""
    return Posting(
        source="hello", external_id=str(item["id"]), title=clean_text(item["title"]),
        company=clean_text(item.get("company")) or None, posted_at=parse_datetime(item.get("published")),
        remote="remote" if item.get("remote") else "unknown", source_url=item.get("url"),
        apply_url=item.get("url"), description_text=html_to_text(item.get("description")),
        description_html=safe_html(item.get("description")), raw=item,
    )


async def say_hello(ctx, *, name: str = "world", user_id=None):
    return f"{read_settings(HelloSettings).greeting}, {name}"


async def hello_tick(ctx, **_):
    await ctx["runtime"].redis.incr("hello:ticks")


@hookimpl
def register_settings(register):
    register(HelloSettings)


@hookimpl
def register_sources(register):
    register(HelloFeed)


@hookimpl
def register_jobs(register):
    register(say_hello)


@hookimpl
def register_cron_jobs(register):
    register(hello_tick, cron="* * * * *")
