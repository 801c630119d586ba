"""Tier 1: the cache answers a repeated search without calling any source, within the freshness
window, and identical searches at once call each source once (single-flight)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.search.helpers import run_engine, sources_of, tiers_of
from zentropy.search.cache import cache_tier
from zentropy.search.query import SearchIn, normalize


async def test_a_repeated_search_is_answered_by_the_cache_without_source_calls(rig):
    first = await run_engine(rig.rt, f"{rig.token} Engineer", want=5)
    calls = (rig.calls("adzuna"), rig.calls("greenhouse"), rig.calls("serpapi"))
    again = await run_engine(rig.rt, f"  engineer,  {rig.token.upper()} ", want=5)  # the same search
    assert again.report.cache.answered is True and again.report.cache.matches == 5
    assert (rig.calls("adzuna"), rig.calls("greenhouse"), rig.calls("serpapi")) == calls
    assert list(again.results) == list(first.results)[:5]
    assert all(t["status"] == "not_needed" for t in tiers_of(again).values())
    assert again.report.cost == 0


async def test_matches_older_than_the_freshness_window_do_not_answer(rig, owner_engine):
    rig.configure(shared_result_seconds=0)  # no late sharing of the first run's source call
    query = normalize(SearchIn(keywords=rig.token))
    await run_engine(rig.rt, rig.token, want=5)
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE query_matches SET matched_at = matched_at - interval '7 hours' "
                                "WHERE fingerprint = :f"), {"f": query.fingerprint()})
    cache_tier(rig.rt).hot.clear()
    again = await run_engine(rig.rt, rig.token, want=5)
    assert again.report.cache.answered is False and again.report.cache.matches == 0
    assert rig.calls("adzuna") == 2


async def test_fewer_matches_than_wanted_answer_when_every_source_was_exhausted(rig):
    rig.adzuna.results = rig.adzuna.results[:2]
    rig.greenhouse.boards[rig.token] = rig.greenhouse.boards[rig.token][:1]
    rig.serpapi.jobs = rig.serpapi.jobs[:1]
    first = await run_engine(rig.rt, rig.token, want=10)
    assert len(first.results) == 4 and {s["status"] for s in sources_of(first).values()} == {"exhausted"}
    again = await run_engine(rig.rt, rig.token, want=10)
    assert again.report.cache.answered is True and len(again.results) == 4
    assert rig.calls("serpapi") == 1 and rig.calls("adzuna") == 1


async def test_when_premium_was_not_tried_a_premium_search_is_not_answered_short(rig):
    rig.adzuna.results = rig.adzuna.results[:2]
    rig.greenhouse.boards[rig.token] = rig.greenhouse.boards[rig.token][:1]
    await run_engine(rig.rt, rig.token, want=10, allow_premium=False)
    free_only = await run_engine(rig.rt, rig.token, want=10, allow_premium=False)
    assert free_only.report.cache.answered is True and rig.calls("serpapi") == 0
    with_premium = await run_engine(rig.rt, rig.token, want=10, allow_premium=True)
    assert with_premium.report.cache.answered is False and rig.calls("serpapi") == 1
    assert len(with_premium.results) == 13


async def test_a_hot_answer_is_served_from_memory_and_dropped_when_the_catalog_changes(rig):
    cache = cache_tier(rig.rt)
    await run_engine(rig.rt, rig.token, want=5)
    fingerprint = normalize(SearchIn(keywords=rig.token)).fingerprint()
    first = await cache.lookup(fingerprint, 5)
    assert (await cache.lookup(fingerprint, 5)) is first  # from memory
    await run_engine(rig.rt, f"{rig.token} other words", want=5)  # writes the catalog: a new version
    assert (await cache.lookup(fingerprint, 5)) is not first
    assert (await cache.lookup(fingerprint, 5)).posting_ids == first.posting_ids


async def test_two_identical_searches_at_once_call_each_source_once(rig):
    rig.servers["adzuna"].script.append(_slow(rig.adzuna, rig.token))
    one, two = await asyncio.gather(run_engine(rig.rt, rig.token, want=10), run_engine(rig.rt, rig.token, want=10))
    assert rig.calls("adzuna") == 1
    assert set(one.results) == set(two.results) and len(one.results) == 20
    reports = [sources_of(one)["adzuna"], sources_of(two)["adzuna"]]
    assert sorted((r["calls"], r["shared_pages"]) for r in reports) == [(0, 1), (1, 0)]
    assert sum(r["new"] for r in reports) == 40, reports  # both saw the page as new postings ...
    async with rig.rt.db.session() as session:  # ... placed in the catalog once
        count = (await session.execute(text("SELECT count(*) FROM posting_sources WHERE source = 'adzuna' "
                                            "AND title LIKE :t"), {"t": f"%{rig.token}%"})).scalar()
    assert count == 20


def _slow(fake, token):
    """Adzuna's answer to the search, after a pause long enough for the second search to arrive."""
    from tests.sources.fakes import Request

    reply = fake(Request("GET", "/v1/api/jobs/gb/search/1", {
        "app_id": [fake.app_id], "app_key": [fake.app_key], "what": [token], "results_per_page": ["20"]}, {}))
    reply.delay = 0.3  # under the test policy's read timeout
    return reply


async def test_an_answer_in_memory_is_dropped_when_another_process_changes_the_catalog(rig):
    """Another API process (same Redis, same database) writes the catalog: within the version check
    interval this process still answers from memory, then reads the answer again."""
    import dataclasses

    rig.configure(version_check_seconds=0.3)
    other = dataclasses.replace(rig.rt, extras={key: rig.rt.extras[key] for key in (
        "search.settings", "search.sources", "quotas.settings")})
    here = cache_tier(rig.rt)
    await run_engine(rig.rt, rig.token, want=5)
    fingerprint = normalize(SearchIn(keywords=rig.token)).fingerprint()
    first = await here.lookup(fingerprint, 5)
    assert (await here.lookup(fingerprint, 5)) is first
    await asyncio.sleep(0.35)  # this process's last read of the version is now due again
    assert (await here.lookup(fingerprint, 5)) is first  # read again, unchanged: still from memory
    await run_engine(other, f"{rig.token} other", want=5)  # the other process writes the catalog
    assert cache_tier(other).version.value > here.version.value
    await asyncio.sleep(0.35)
    again = await here.lookup(fingerprint, 5)
    assert again is not first and again.posting_ids == first.posting_ids
