"""Ingest: outcomes, idempotent replays, dedup across sources, merging, failures."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.catalog.conftest import DESCRIPTION, NOW, posting, snapshot, source
from zentropy.catalog import ingest, read_content
from zentropy.catalog import store as catalog_store
from zentropy.dedup.calibration import load_pairs
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.sources.contract import Salary

OTHER = ("Northwind delivers fresh food to 3,000 restaurants across the UK. Our data team builds the forecasts that "
         "decide what every warehouse orders tomorrow. You will own demand models in Python, run experiments with "
         "the commercial team and present what you learn to the directors. You know SQL and statistics well.")


async def test_outcomes_new_duplicate_unchanged_updated(catalog):
    first = await ingest(catalog, source(), [posting("1"), posting("2", title="Data Scientist", company="Northwind",
                                                                       description_text=OTHER)], now=NOW)
    assert [r.outcome for r in first.results] == ["new", "new"] and first.new == 2
    gh = await ingest(catalog, source("greenhouse"), [posting("g1", source="greenhouse", company="ACME CORP GmbH",
                                                              title="Software Eng", locations=["Berlin, Germany"],
                                                              apply_url="https://boards.greenhouse.io/acme/jobs/1")],
                      now=NOW)
    assert gh.duplicates == 1
    result = gh.results[0]
    assert (result.outcome, result.duplicate_of, result.rule) == ("duplicate", first.results[0].posting_id, "score")
    replay = await ingest(catalog, source(), [posting("1"), posting("2", title="Data Scientist", company="Northwind",
                                                                        description_text=OTHER)], now=NOW)
    assert replay.unchanged == 2 and [r.posting_id for r in replay.results] == [r.posting_id for r in first.results]
    changed = await ingest(catalog, source(), [posting("2", title="Data Scientist", company="Northwind",
                                                       description_text=OTHER,
                                                       salary=Salary(min=50000, max=60000, currency="GBP"))], now=NOW)
    assert changed.updated == 1


async def test_replaying_a_page_changes_nothing(catalog, owner_engine):
    page = [posting(str(i), title=t, company=c, description_text=d)
            for i, (t, c, d) in enumerate([("Software Engineer", "Acme", DESCRIPTION),
                                           ("Data Scientist", "Northwind", OTHER),
                                           ("Software Eng", "ACME Inc.", DESCRIPTION)])]
    first = await ingest(catalog, source(), page, now=NOW)
    assert (first.new, first.duplicates) == (2, 1)  # the third is the first again, within the page
    before = await snapshot(owner_engine)
    again = await ingest(catalog, source(), page, now=NOW)
    assert again.unchanged == 3
    assert await snapshot(owner_engine) == before
    later = await ingest(catalog, source(), page, now=NOW + timedelta(minutes=10))  # same hour of expiry
    assert later.unchanged == 3
    after = await snapshot(owner_engine)
    assert len(after["postings"]) == 2 and len(after["posting_sources"]) == 3
    assert after["posting_keys"] == before["posting_keys"] and after["posting_content"] == before["posting_content"]


async def test_the_hard_cases_through_the_catalog(catalog):
    """Each hand-written hard case: `a` from its source, then `b` from another; merged or not."""
    for pair in (p for p in load_pairs() if p.id.startswith("hard-")):
        a = await ingest(catalog, source(f"a-{pair.id}"), [pair.a], now=NOW)
        b = await ingest(catalog, source(f"b-{pair.id}"), [pair.b], now=NOW)
        merged = b.results[0].posting_id == a.results[0].posting_id
        assert merged is pair.duplicate, pair.id


async def test_merging_keeps_the_best_of_each_field_and_every_link(catalog, owner_engine):
    aggregator = posting("ad-1", company="Acme", posted_at=NOW - timedelta(days=2),
                         apply_url="https://www.adzuna.de/details/1?utm_source=x", source_url="https://www.adzuna.de/1",
                         salary=Salary(min=60000, max=75000, currency="EUR", period="year"),
                         description_text=DESCRIPTION[:400] + "…")
    ats = posting("gh-1", source="greenhouse", company="Acme GmbH", posted_at=NOW - timedelta(days=5),
                  apply_url="https://boards.greenhouse.io/acme/jobs/77", source_url="https://boards.greenhouse.io/acme/77")
    a = await ingest(catalog, source("adzuna"), [aggregator], now=NOW)
    b = await ingest(catalog, source("greenhouse"), [ats], now=NOW)
    posting_id = a.results[0].posting_id
    assert b.results[0].duplicate_of == posting_id
    async with owner_engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM postings WHERE id = :id"), {"id": posting_id})).one()
        links = (await conn.execute(text("SELECT source, external_id, apply_url, source_url FROM posting_sources "
                                         "WHERE posting_id = :id ORDER BY source"), {"id": posting_id})).all()
    assert row.apply_url == "https://boards.greenhouse.io/acme/jobs/77" and row.apply_url_rank == 2
    assert (row.salary_min, row.salary_max, row.salary_currency) == (60000, 75000, "EUR")
    assert row.posted_at == NOW - timedelta(days=5)
    assert row.description_length == len(DESCRIPTION)
    assert links == [("adzuna", "ad-1", aggregator.apply_url, aggregator.source_url),
                     ("greenhouse", "gh-1", ats.apply_url, ats.source_url)]
    async with catalog.db.session() as s:
        content = await read_content(s, posting_id, NOW)
    assert content.status == "live" and content.description_text == DESCRIPTION and content.source == "greenhouse"


async def test_postings_without_id_or_title_are_skipped_and_the_last_of_a_repeated_id_counts(catalog):
    report = await ingest(catalog, source(), [posting("", title="No id"), posting("1", title="  "),
                                              posting("2", title="First"), posting("2", title="Data Scientist",
                                                                                   description_text=OTHER)], now=NOW)
    assert report.skipped == 3 and report.new == 1
    async with catalog.db.session() as s:
        title = (await s.execute(text("SELECT title FROM posting_sources WHERE external_id = '2'"))).scalar_one()
    assert title == "Data Scientist"


async def test_an_empty_page_writes_nothing(catalog, owner_engine):
    before = await snapshot(owner_engine)
    report = await ingest(catalog, source(), [], now=NOW)
    assert report.results == [] and await snapshot(owner_engine) == before


class AliasPlugin:
    @hookimpl
    def register_company_aliases(self, register):
        register("Initrode", "Initech")


async def test_plugin_aliases_join_companies(catalog):
    plugins = Plugins(catalog.settings)
    plugins.register(AliasPlugin(), name="alias-test")
    runtime = dataclasses.replace(catalog, plugins=plugins, extras={})
    a = await ingest(runtime, source(), [posting("1", company="Initech LLC")], now=NOW)
    b = await ingest(runtime, source("lever"), [posting("L1", company="Initrode")], now=NOW)
    assert b.results[0].duplicate_of == a.results[0].posting_id
    # without the plugin they are two employers with one job description: not merged
    without = await ingest(catalog, source("other"), [posting("o1", company="Initrode")], now=NOW)
    assert without.results[0].outcome == "new"


async def test_concurrent_pages_with_one_job_make_one_posting(catalog, owner_engine):
    pages = [(source(name), [posting(f"{name}-1", source=name, company=f"Acme {form}")])
             for name, form in [("adzuna", "Inc."), ("greenhouse", "GmbH"), ("lever", "LLC"), ("serpapi", "")]]
    reports = await asyncio.gather(*(ingest(catalog, info, page, now=NOW) for info, page in pages))
    assert sorted(r.new for r in reports) == [0, 0, 0, 1]
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM postings"))).scalar_one() == 1
        assert (await conn.execute(text("SELECT count(*) FROM posting_sources"))).scalar_one() == 4


async def test_a_failed_write_leaves_the_catalog_as_it_was(catalog, owner_engine, monkeypatch):
    await ingest(catalog, source(), [posting("1")], now=NOW)
    before = await snapshot(owner_engine)
    real = catalog_store.copy_rows

    async def failing(conn, table, columns, rows):
        if table == "posting_content":
            raise RuntimeError("disk full")
        await real(conn, table, columns, rows)

    monkeypatch.setattr(catalog_store, "copy_rows", failing)
    page = [posting("2", title="Data Scientist", company="Northwind", description_text=OTHER),
            posting("g1", source="greenhouse", company="Acme GmbH")]
    with pytest.raises(RuntimeError, match="disk full"):
        await ingest(catalog, source(), page, now=NOW)
    assert await snapshot(owner_engine) == before  # nothing half-written
    monkeypatch.setattr(catalog_store, "copy_rows", real)
    report = await ingest(catalog, source(), page, now=NOW)  # the retry does it all
    assert (report.new, report.duplicates) == (1, 1)
