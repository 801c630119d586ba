"""Tier engine settings (all have defaults)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from zentropy.settings import env, read_settings

Seconds = Annotated[float, msgspec.Meta(ge=0)]


class SearchSettings(msgspec.Struct, frozen=True, kw_only=True):
    want: Annotated[
        int, msgspec.Meta(ge=1, le=500), env("ZENTROPY_SEARCH_WANT", doc="Results a search wants when it "
                                             "does not say; the engine stops once it has them.")
    ] = 20
    max_want: Annotated[int, msgspec.Meta(ge=1, le=500), env("ZENTROPY_SEARCH_MAX_WANT",
                                                             doc="Most results one search may ask for.")] = 100
    page_size: Annotated[int, msgspec.Meta(ge=1, le=100), env("ZENTROPY_SEARCH_PAGE_SIZE",
                                                              doc="Postings asked of a source per call.")] = 20
    pages_per_source: Annotated[
        int, msgspec.Meta(ge=1, le=50), env("ZENTROPY_SEARCH_PAGES_PER_SOURCE",
                                            doc="Most pages one search reads from one source.")
    ] = 3
    freshness_hours: Annotated[
        float, msgspec.Meta(gt=0), env("ZENTROPY_SEARCH_FRESHNESS_HOURS", doc="Cache tier: a source's match "
                                       "for a query answers the same query for this long.")
    ] = 6.0
    hot_cache_size: Annotated[
        int, msgspec.Meta(ge=0), env("ZENTROPY_SEARCH_HOT_CACHE_SIZE", doc="Cache tier: answers kept in each "
                                     "API process's memory (0: none).")
    ] = 4096
    hot_cache_seconds: Annotated[
        Seconds, env("ZENTROPY_SEARCH_HOT_CACHE_SECONDS", doc="Cache tier: longest an in-memory answer is kept.")
    ] = 60.0
    version_check_seconds: Annotated[
        Seconds, env("ZENTROPY_SEARCH_VERSION_CHECK_SECONDS", doc="Cache tier: how often a process reads the "
                     "catalog version that invalidates in-memory answers.")
    ] = 0.5
    premium_by_default: Annotated[
        bool, env("ZENTROPY_SEARCH_PREMIUM_BY_DEFAULT", doc="Whether a user who never said otherwise allows "
                  "premium sources (within their premium quota).")
    ] = True
    single_flight_seconds: Annotated[
        Seconds, env("ZENTROPY_SEARCH_SINGLE_FLIGHT_SECONDS", doc="Lease of a source call shared by identical "
                     "searches; renewed while the call runs.")
    ] = 15.0
    shared_result_seconds: Annotated[
        Seconds, env("ZENTROPY_SEARCH_SHARED_RESULT_SECONDS", doc="How long a finished source call is shared "
                     "with identical searches that arrive late.")
    ] = 30.0
    job_timeout: Annotated[int, msgspec.Meta(ge=1), env("ZENTROPY_SEARCH_JOB_TIMEOUT",
                                                        doc="Seconds a search job may run.")] = 600
    job_heartbeat: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_SEARCH_JOB_HEARTBEAT", doc="A search job not heard from for "
                                     "this many seconds is taken as lost and retried.")
    ] = 30
    job_retries: Annotated[int, msgspec.Meta(ge=0, le=10), env("ZENTROPY_SEARCH_JOB_RETRIES",
                                                               doc="Attempts after a lost worker.")] = 2
    stalled_seconds: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_SEARCH_STALLED_SECONDS", doc="A running search with no heartbeat "
                                     "for this long is marked failed (worker_lost).")
    ] = 300
    events_seconds: Annotated[
        Seconds, env("ZENTROPY_SEARCH_EVENTS_SECONDS", doc="Longest a progress event stream stays open.")
    ] = 300.0


def search_settings(runtime: Any) -> SearchSettings:
    """The runtime's search settings (read once; tests put their own in `runtime.extras`)."""
    if "search.settings" not in runtime.extras:
        runtime.extras["search.settings"] = read_settings(SearchSettings)
    return runtime.extras["search.settings"]
