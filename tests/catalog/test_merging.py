"""Merging two postings already in the catalog: the best of both, every listing kept, every user's
references moved, the absorbed id leading to the kept posting; whole or not at all."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from tests.catalog.conftest import NOW, posting, snapshot, source
from tests.conftest import migrated_by_an_ordinary_role
from tests.test_rls import make_user
from zentropy.catalog import ingest, merging
from zentropy.catalog.merging import merge_postings
from zentropy.db.tenant import tenant
from zentropy.sources.contract import Salary

OTHER = ("Beta Freight plans the routes of three hundred trucks across Europe every night. The pricing "
         "team owns the tariff engine, written in Kotlin, and its forecasts of demand per lane and week.")


async def two_postings(runtime) -> tuple[int, int]:  # noqa: ANN001
    """One job that the ingest took for two (no description in common, other title words)."""
    first = await ingest(runtime, source(), [posting("a1", title="Backend Developer", apply_url="https://jobs.example/x?utm_source=a",
                                                     posted_at=NOW - timedelta(days=3))], now=NOW)
    second = await ingest(runtime, source("greenhouse"), [posting(
        "g1", source="greenhouse", title="Platform Engineer", description_text=OTHER,
        apply_url="https://boards.greenhouse.io/acme/jobs/1", salary=Salary(min=70000, max=90000, currency="EUR",
                                                                            period="year"),
        posted_at=NOW - timedelta(days=1))], now=NOW + timedelta(hours=1))
    a, b = first.results[0].posting_id, second.results[0].posting_id
    assert a < b and second.results[0].outcome == "new"
    return a, b


async def rows(engine, sql: str, **params) -> list:  # noqa: ANN001
    async with engine.connect() as conn:
        return list(await conn.execute(text(sql), params))


async def test_the_older_posting_keeps_the_best_of_both_and_every_listing(catalog, owner_engine):
    a, b = await two_postings(catalog)
    merged = await merge_postings(catalog, b, a, "test")
    assert merged == merging.Merged(kept=a, absorbed=b, listings=1)
    [kept] = await rows(owner_engine, "SELECT * FROM postings")
    assert kept.id == a
    assert kept.apply_url == "https://boards.greenhouse.io/acme/jobs/1"  # the ATS's over an aggregator's
    assert (kept.salary_min, kept.salary_max, kept.salary_currency) == (70000, 90000, "EUR")
    assert kept.posted_at == NOW - timedelta(days=3)  # the earliest
    assert kept.first_seen_at == NOW and kept.last_seen_at == NOW + timedelta(hours=1)
    listings = await rows(owner_engine, "SELECT external_id, posting_id FROM posting_sources ORDER BY external_id")
    assert [tuple(r) for r in listings] == [("a1", a), ("g1", a)]  # no source link lost
    contents = await rows(owner_engine, "SELECT posting_id FROM posting_content")
    assert sorted(r.posting_id for r in contents) == [a, a]
    [redirect] = await rows(owner_engine, "SELECT * FROM posting_merges")
    assert (redirect.absorbed_id, redirect.kept_id, redirect.reason) == (b, a, "test")


async def test_a_later_listing_found_by_the_absorbed_postings_keys_joins_the_kept_one(catalog):
    a, b = await two_postings(catalog)
    await merge_postings(catalog, a, b, "test")
    # the absorbed posting's keys (its ATS URL among them) stay in the key tables: they lead to `a`
    again = await ingest(catalog, source("lever"), [posting("l1", source="lever", title="Platform Engineer",
                                                            description_text=OTHER,
                                                            apply_url="https://boards.greenhouse.io/acme/jobs/1")],
                         now=NOW + timedelta(hours=2))
    assert again.results[0].outcome == "duplicate" and again.results[0].duplicate_of == a


async def test_merges_follow_earlier_merges_and_a_posting_is_never_merged_with_itself(catalog, owner_engine):
    a, b = await two_postings(catalog)
    third = (await ingest(catalog, source("lever"), [posting("l9", source="lever", title="Data Scientist",
                                                             company="Other Co", description_text="")], now=NOW))
    c = third.results[0].posting_id
    assert (await merge_postings(catalog, b, c, "test")).kept == b  # c -> b
    assert await merge_postings(catalog, c, b, "again") is None  # already one posting
    assert (await merge_postings(catalog, c, a, "test")) == merging.Merged(kept=a, absorbed=b, listings=2)
    redirects = {r.absorbed_id: r.kept_id for r in await rows(owner_engine, "SELECT * FROM posting_merges")}
    assert redirects == {b: a, c: a}  # every redirect leads to the end of the chain
    assert await merge_postings(catalog, a, 10**12, "no such posting") is None


async def test_a_failed_merge_changes_nothing(catalog, owner_engine, monkeypatch):
    a, b = await two_postings(catalog)
    before = await snapshot(owner_engine)
    monkeypatch.setattr(merging, "DROP", [*merging.DROP, "SELECT 1 / 0 WHERE $1::bigint IS NOT NULL"])
    with pytest.raises(Exception, match="division by zero"):
        await merge_postings(catalog, a, b, "test")
    assert await snapshot(owner_engine) == before


async def hold(runtime, user_id: uuid.UUID, posting_id: int, status: str, at: datetime,  # noqa: ANN001
               results: list[int] | None = None) -> None:
    """A feed entry and a fit score of `posting_id`, and a search whose results are `results`."""
    with tenant(user_id):
        async with runtime.db.session() as s:
            await s.execute(text("INSERT INTO feed_entries (user_id, posting_id, status, added_at, updated_at) "
                                 "VALUES (:u, :p, :s, :at, :at)"), {"u": user_id, "p": posting_id, "s": status, "at": at})
            await s.execute(text("INSERT INTO match_fit_scores (user_id, posting_id, profile_digest, fit, summary, model) "
                                 "VALUES (:u, :p, 'd', 0.5, :summary, 'm')"),
                            {"u": user_id, "p": posting_id, "summary": f"fit of {posting_id}"})
            if results is not None:
                await s.execute(text(
                    "INSERT INTO searches (id, user_id, origin, query, fingerprint, want, status, result_ids, result_sources) "
                    "VALUES (:id, :u, 'api', '{}'::jsonb, 'f', 20, 'done', :ids, :sources)"),
                    {"id": uuid.uuid4(), "u": user_id, "ids": results, "sources": [f"s{i}" for i in range(len(results))]})


async def held(runtime, user_id: uuid.UUID) -> dict:  # noqa: ANN001
    with tenant(user_id):
        async with runtime.db.session() as s:
            feed = {r.posting_id: (r.status, r.added_at) for r in
                    await s.execute(text("SELECT posting_id, status, added_at FROM feed_entries"))}
            fits = {r.posting_id: r.summary for r in
                    await s.execute(text("SELECT posting_id, summary FROM match_fit_scores"))}
            searches = [(list(r.result_ids), list(r.result_sources)) for r in
                        await s.execute(text("SELECT result_ids, result_sources FROM searches"))]
    return {"feed": feed, "fits": fits, "searches": searches}


async def test_every_users_references_move_to_the_kept_posting(catalog):
    a, b = await two_postings(catalog)
    both, only_absorbed = await make_user(catalog.db, []), await make_user(catalog.db, [])
    earlier = datetime(2026, 11, 1, tzinfo=timezone.utc)
    await hold(catalog, both, a, "new", earlier, results=[b, 7, a])
    await hold(catalog, both, b, "applied", earlier + timedelta(days=1))  # changed last: its status stays
    await hold(catalog, only_absorbed, b, "saved", earlier, results=[b])

    await merge_postings(catalog, a, b, "test")

    mine = await held(catalog, both)
    assert mine["feed"] == {a: ("applied", earlier)}
    assert mine["fits"] == {a: f"fit of {a}"}  # where both were scored, the kept posting's score
    assert mine["searches"] == [([a, 7], ["s0", "s1"])]  # order kept, `a` once where it came first
    theirs = await held(catalog, only_absorbed)
    assert theirs == {"feed": {a: ("saved", earlier)}, "fits": {a: f"fit of {b}"}, "searches": [([a], ["s0"])]}


async def test_references_move_when_the_migration_role_is_not_a_superuser(server_url):
    """On a managed database FORCE'd row security applies to the function's owner too: without its
    policies the moves would find no rows, silently."""
    async with migrated_by_an_ordinary_role(server_url) as (_, db):
        runtime = SimpleNamespace(db=db)
        users = [await make_user(db, []), await make_user(db, [])]
        at = datetime(2026, 11, 1, tzinfo=timezone.utc)
        await hold(runtime, users[0], 1, "new", at, results=[2, 1])
        await hold(runtime, users[0], 2, "saved", at + timedelta(days=1))
        await hold(runtime, users[1], 2, "dismissed", at, results=[2])
        async with db.raw() as conn:  # as the service role, which can call it
            await conn.execute("SELECT catalog_merge_posting_refs(2, 1)")
        assert await held(runtime, users[0]) == {"feed": {1: ("saved", at)}, "fits": {1: "fit of 1"},
                                                 "searches": [([1], ["s0"])]}
        assert await held(runtime, users[1]) == {"feed": {1: ("dismissed", at)}, "fits": {1: "fit of 2"},
                                                 "searches": [([1], ["s0"])]}
