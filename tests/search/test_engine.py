"""The tier engine against loopback sources: tier order, stop when enough, premium only when the
free tier falls short and premium is allowed, the user's order, a failing source skipped."""

from __future__ import annotations

from tests.search.helpers import run_engine, sources_of, tiers_of


async def test_the_first_free_source_answers_and_nothing_else_is_called(rig):
    run = await run_engine(rig.rt, f"{rig.token}", want=10)
    sources, tiers = sources_of(run), tiers_of(run)
    assert run.report.cache.answered is False and run.report.cache.matches == 0
    assert sources["adzuna"]["status"] == "ok" and sources["adzuna"]["calls"] == 1
    assert sources["adzuna"]["results"] == 20 == sources["adzuna"]["new"] == sources["adzuna"]["added"]
    assert sources["greenhouse"]["status"] == "not_needed" and sources["serpapi"]["status"] == "not_needed"
    assert tiers["free"]["status"] == "ran" and tiers["premium"]["status"] == "not_needed"
    assert (rig.calls("adzuna"), rig.calls("greenhouse"), rig.calls("serpapi")) == (1, 0, 0)
    assert len(run.results) == 20 and set(run.results.values()) == {"adzuna"}


async def test_the_next_free_source_fills_in_when_the_first_falls_short(rig):
    rig.adzuna.results = rig.adzuna.results[:5]
    run = await run_engine(rig.rt, rig.token, want=15)
    sources = sources_of(run)
    assert sources["adzuna"]["status"] == "exhausted" and sources["adzuna"]["results"] == 5
    assert sources["greenhouse"]["status"] == "ok" and sources["greenhouse"]["results"] == 20
    assert sources["serpapi"]["status"] == "not_needed" and rig.calls("serpapi") == 0
    assert len(run.results) == 25
    # results in tier and priority order: Adzuna's first
    assert list(run.results.values()) == ["adzuna"] * 5 + ["greenhouse"] * 20


async def test_premium_runs_only_when_the_free_tier_falls_short(rig):
    rig.adzuna.results = rig.adzuna.results[:3]
    rig.greenhouse.boards[rig.token] = rig.greenhouse.boards[rig.token][:2]
    run = await run_engine(rig.rt, rig.token, want=10)
    sources, tiers = sources_of(run), tiers_of(run)
    assert tiers["premium"]["status"] == "ran" and sources["serpapi"]["calls"] == 1
    assert sources["serpapi"]["results"] == 10 and sources["serpapi"]["cost"] == 1.0
    assert run.report.cost == 1.0 and run.report.premium_calls == 1
    assert len(run.results) == 15 and rig.calls("serpapi") == 1


async def test_premium_is_skipped_when_the_search_does_not_allow_it(rig):
    rig.adzuna.results = rig.adzuna.results[:3]
    rig.greenhouse.boards[rig.token] = rig.greenhouse.boards[rig.token][:2]
    run = await run_engine(rig.rt, rig.token, want=10, allow_premium=False)
    tiers, sources = tiers_of(run), sources_of(run)
    assert tiers["premium"]["status"] == "skipped" and tiers["premium"]["reason"] == "premium_not_allowed"
    assert sources["serpapi"]["status"] == "skipped" and rig.calls("serpapi") == 0
    assert len(run.results) == 3 + 2  # the free tier gave what it had
    assert run.report.cost == 0


async def test_the_users_order_and_disabled_sources_are_followed(rig):
    order = {"greenhouse": (0, True), "adzuna": (1, False)}
    run = await run_engine(rig.rt, rig.token, want=10, order=order)
    sources = sources_of(run)
    assert [s["source"] for s in tiers_of(run)["free"]["sources"]] == ["greenhouse", "adzuna"]
    assert sources["greenhouse"]["status"] == "ok" and rig.calls("greenhouse") >= 1
    assert sources["adzuna"]["status"] == "skipped" and sources["adzuna"]["reason"] == "disabled"
    assert rig.calls("adzuna") == 0


async def test_a_failing_source_is_recorded_and_skipped(rig):
    from tests.sources.fakes import json_reply

    for _ in range(3):  # the first try and both retries
        rig.servers["adzuna"].script.append(json_reply({"error": "down"}, 503))
    events: list[dict] = []
    run = await run_engine(rig.rt, rig.token, want=10, events=events)
    sources = sources_of(run)
    assert sources["adzuna"]["status"] == "failed" and sources["adzuna"]["error_code"] == "unavailable"
    assert sources["adzuna"]["results"] == 0 and sources["adzuna"]["cost"] == 0
    assert sources["greenhouse"]["status"] == "ok" and len(run.results) == 20
    assert {"type": "source", "source": "adzuna", "status": "failed"}.items() <= next(
        e for e in events if e.get("source") == "adzuna" and e["status"] != "calling").items()


async def test_postings_filtered_locally_on_fields_a_source_does_not_honour(rig):
    # Adzuna has no remote filter: its on-site postings are kept in the catalog but are no results
    run = await run_engine(rig.rt, rig.token, want=5, remote=True, allow_premium=False)
    sources = sources_of(run)
    assert rig.calls("adzuna") >= 1 and sources["adzuna"]["results"] == 0
    assert sources["adzuna"]["added"] == 0
