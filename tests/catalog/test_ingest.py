"""Ingest: outcomes, idempotent replays, dedup across sources, merging, failures."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.catalog.conftest import DESCRIPTION, NOW, posting, snapshot, source
from tests.catalog.test_blocking import SYLLABLES
from zentropy.catalog import ingest, read_content
from zentropy.catalog import store as catalog_store
from zentropy.dedup.calibration import load_pairs
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins
from zentropy.sources.contract import Salary

ingest_module = importlib.import_module("zentropy.catalog.ingest")  # the package's `ingest` is the function

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


async def test_concurrent_pages_of_overlapping_jobs_make_one_posting_per_job(catalog, owner_engine):
    """Four sources list the same 60 jobs (each also some of its own), in pages of 25 ingested all
    at once, as concurrent searches do: one posting per job, every listing kept; replayed at once,
    nothing changes."""
    rng = random.Random(5)

    def gibberish(n: int) -> str:
        return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(n))

    jobs = [(f"{gibberish(2).title()} Engineer", f"Company {i}", f"City {i % 7}", gibberish(150)) for i in range(60)]
    forms = {"adzuna": "", "greenhouse": " GmbH", "lever": " Inc.", "serpapi": " LLC"}
    pages = []
    for name, form in forms.items():
        listings = [posting(f"{name}-{i}", source=name, title=title, company=company + form, locations=[city],
                            description_text=body) for i, (title, company, city, body) in enumerate(jobs)]
        listings += [posting(f"{name}-own-{i}", source=name, title=f"{gibberish(2).title()} Analyst",
                             company=f"{name} employer {i}", description_text=gibberish(150)) for i in range(15)]
        rng.shuffle(listings)
        pages += [(source(name), listings[i:i + 25]) for i in range(0, len(listings), 25)]
    rng.shuffle(pages)
    # two writers, as two worker processes have: their own group commits, one catalog lock
    writers = [catalog, dataclasses.replace(catalog, extras={})]
    reports = await asyncio.gather(*(ingest(writers[i % 2], info, page, now=NOW)
                                     for i, (info, page) in enumerate(pages)))
    assert sum(r.new for r in reports) == 60 + 4 * 15
    placed = {r.external_id: r.posting_id for report in reports for r in report.results}
    for i in range(60):
        assert len({placed[f"{name}-{i}"] for name in forms}) == 1, i
    async with owner_engine.connect() as conn:
        counts = [(await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                  for table in ("postings", "posting_sources", "posting_content")]
    assert counts == [60 + 4 * 15, 4 * 75, 4 * 75]
    before = await snapshot(owner_engine)
    again = await asyncio.gather(*(ingest(catalog, info, page, now=NOW) for info, page in pages))
    assert sum(r.unchanged for r in again) == 4 * 75
    assert await snapshot(owner_engine) == before


async def idle_in_transaction(engine) -> int:  # noqa: ANN001
    """Connections left inside a transaction, doing nothing."""
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND state LIKE 'idle in transaction%'"))).scalar_one()


async def test_a_caller_leaving_while_its_page_waits_for_the_lock_loses_nothing(catalog, owner_engine):
    """Its search cancelled while another transaction holds the catalog lock: the caller is gone at
    once; the page, already fetched, is written once the lock is free (public data), and the pooled
    connections are clean."""
    async with owner_engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": catalog_store.INGEST_LOCK})
        try:
            task = asyncio.create_task(ingest(catalog, source(), [posting("1")], now=NOW))
            await asyncio.sleep(0.5)
            assert not task.done()  # waiting for the lock
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 1)
            assert all(not rows for rows in (await snapshot(owner_engine)).values())
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": catalog_store.INGEST_LOCK})
    await writer_idle(catalog)
    assert (await ingest(catalog, source(), [posting("1")], now=NOW)).unchanged == 1  # it was written
    assert await idle_in_transaction(owner_engine) == 0
    reports = await asyncio.gather(*(ingest(catalog, source(f"s{i}"), [posting(f"s{i}-1", source=f"s{i}")], now=NOW)
                                     for i in range(12)))
    assert sum(r.duplicates for r in reports) == 12


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


async def test_a_writer_stopped_mid_write_writes_nothing_and_frees_its_connection(catalog, owner_engine, monkeypatch):
    """The process shutting down (`Runtime.close` stops the writer) while a page is written: rolled
    back, the lock released, the caller cancelled, the pooled connection usable (not left inside a
    transaction); a new writer takes over."""
    await ingest(catalog, source(), [posting("1")], now=NOW)
    before = await snapshot(owner_engine)
    real, written = catalog_store.copy_rows, asyncio.Event()

    async def stalled(conn, table, columns, rows):
        await real(conn, table, columns, rows)
        if table == "posting_content":
            written.set()
            await asyncio.sleep(30)

    monkeypatch.setattr(catalog_store, "copy_rows", stalled)
    task = asyncio.create_task(ingest(catalog, source(), [posting("2", title="Data Scientist", company="Northwind",
                                                                  description_text=OTHER)], now=NOW))
    await asyncio.wait_for(written.wait(), 10)
    await asyncio.wait_for(ingest_module.stop_writer(catalog), 5)
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.setattr(catalog_store, "copy_rows", real)
    assert await snapshot(owner_engine) == before
    assert await idle_in_transaction(owner_engine) == 0
    # the lock is free and every pooled connection works: as many concurrent pages as the pool holds
    reports = await asyncio.gather(*(ingest(catalog, source(f"s{i}"), [posting(f"s{i}-1", source=f"s{i}")], now=NOW)
                                     for i in range(12)))
    assert sum(r.new for r in reports) == 0 and sum(r.duplicates for r in reports) == 12


async def writer_idle(runtime) -> None:
    """Wait until this process's catalog writer has nothing left to write."""
    writer = ingest_module._writer(runtime)
    if writer.task is not None:
        await asyncio.wait_for(asyncio.shield(writer.task), 10)


def written_together(monkeypatch) -> list[list[tuple[str, str]]]:
    """The listings each ingest transaction wrote, as it happens."""
    batches: list[list[tuple[str, str]]] = []
    real = ingest_module._apply

    async def apply(conn, plan):
        batches.append([item.listing for item in plan.prepared])
        await real(conn, plan)

    monkeypatch.setattr(ingest_module, "_apply", apply)
    return batches


async def test_pages_arriving_during_a_write_are_written_together(catalog, owner_engine, monkeypatch):
    """Group commit: twelve pages at once take fewer transactions than pages, and each page's
    report is what it would have been alone."""
    pages = [(source(f"s{i}"), [posting(f"s{i}-{j}", source=f"s{i}", title=f"Role {i} {j} Engineer",
                                        company=f"Employer {j}", description_text=f"{OTHER} Team {i}-{j}.")
                                for j in range(3)]) for i in range(12)]
    batches = written_together(monkeypatch)
    reports = await asyncio.gather(*(ingest(catalog, info, page, now=NOW) for info, page in pages))
    sizes = [len(batch) for batch in batches]
    assert sum(sizes) == 36 and len(sizes) < 12 and max(sizes) > 3
    for (info, page), report in zip(pages, reports):
        assert report.source == info.name
        assert [r.external_id for r in report.results] == [p.external_id for p in page]
    by_listing = {r.external_id: r.posting_id for report in reports for r in report.results}
    async with owner_engine.connect() as conn:
        rows = dict((await conn.execute(text("SELECT external_id, posting_id FROM posting_sources"))).all())
    assert rows == by_listing
    # the same jobs, listed again by every source at once: each duplicate report names its posting
    again = await asyncio.gather(*(ingest(catalog, source(f"t{i}"), [posting(f"t{i}-{j}", source=f"t{i}", title=f"Role {i} {j} Engineer",
                                                                             company=f"Employer {j}", description_text=f"{OTHER} Team {i}-{j}.")
                                                                     for j in range(3)], now=NOW) for i in range(12)))
    for i, report in enumerate(again):
        assert [r.duplicate_of for r in report.results] == [by_listing[f"s{i}-{j}"] for j in range(3)]


async def test_pages_with_the_same_listing_are_not_written_together(catalog, owner_engine, monkeypatch):
    calls = written_together(monkeypatch)
    first, second = [posting("1"), posting("2", title="Data Scientist", company="Northwind", description_text=OTHER)], \
        [posting("2", title="Data Scientist", company="Northwind", description_text=OTHER,
                 salary=Salary(min=50000, max=60000, currency="GBP"))]
    others = [[posting(f"L{i}", source="lever", title=f"Welder {i}", company="Initech", description_text="")]
              for i in range(2)]
    # four pages at once, two per write: the first write takes `first` and a Lever page, not `second`
    a, b, *_ = await asyncio.gather(ingest(catalog, source(), first, now=NOW), ingest(catalog, source(), second, now=NOW),
                                    *(ingest(catalog, source("lever"), page, now=NOW) for page in others))
    assert [sorted(keys) for keys in calls] == [[("adzuna", "1"), ("adzuna", "2"), ("lever", "L0")],
                                                [("adzuna", "2"), ("lever", "L1")]]
    assert (a.new, b.updated) == (2, 1) and b.results[0].posting_id == a.results[1].posting_id
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM posting_sources"))).scalar_one() == 4
        salary = (await conn.execute(text("SELECT salary_min FROM postings WHERE id = :id"),
                                     {"id": a.results[1].posting_id})).scalar_one()
    assert salary == 50000


async def test_a_page_whose_write_fails_fails_alone(catalog, owner_engine, monkeypatch):
    """Written together with others, a page that makes the transaction fail: the others are written
    without it, its caller sees the error, and nothing of it is in the catalog."""
    real = catalog_store.copy_rows

    async def failing(conn, table, columns, rows):
        if table == "posting_content" and any(row.description_text == "poison" for row in rows):
            raise RuntimeError("disk full")
        await real(conn, table, columns, rows)

    monkeypatch.setattr(catalog_store, "copy_rows", failing)
    batches = written_together(monkeypatch)
    pages = [(source(f"s{i}"), [posting(f"s{i}-1", source=f"s{i}", title=f"Role {i}", company=f"Employer {i}",
                                        description_text="poison" if i == 3 else f"{OTHER} Team {i}.")])
             for i in range(6)]
    outcomes = await asyncio.gather(*(ingest(catalog, info, page, now=NOW) for info, page in pages),
                                    return_exceptions=True)
    assert isinstance(outcomes[3], RuntimeError) and "disk full" in str(outcomes[3])
    assert all(o.new == 1 for i, o in enumerate(outcomes) if i != 3)
    assert max(len(batch) for batch in batches) > 1  # it was in a batch with others at first
    async with owner_engine.connect() as conn:
        written = (await conn.execute(text("SELECT external_id FROM posting_sources ORDER BY 1"))).scalars().all()
    assert written == [f"s{i}-1" for i in range(6) if i != 3]


async def test_a_caller_leaving_during_a_shared_write_takes_nothing_from_the_others(catalog, owner_engine, monkeypatch):
    """One of the callers whose pages are written together is cancelled mid-write: the write goes
    on, every page is in the catalog, and the other callers get their reports."""
    real, written, go_on = catalog_store.copy_rows, asyncio.Event(), asyncio.Event()

    async def stalled(conn, table, columns, rows):
        await real(conn, table, columns, rows)
        if table == "posting_content" and not written.is_set():
            written.set()
            await go_on.wait()

    monkeypatch.setattr(catalog_store, "copy_rows", stalled)
    pages = [(source(f"s{i}"), [posting(f"s{i}-1", source=f"s{i}", title=f"Role {i}", company=f"Employer {i}",
                                        description_text=f"{OTHER} Team {i}.")]) for i in range(4)]
    tasks = [asyncio.create_task(ingest(catalog, info, page, now=NOW)) for info, page in pages]
    await asyncio.wait_for(written.wait(), 10)
    tasks[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]
    go_on.set()
    others = await asyncio.gather(*tasks[1:])
    assert [r.new for r in others] == [1, 1, 1]
    await writer_idle(catalog)
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT external_id FROM posting_sources ORDER BY 1"))).scalars().all()
    assert rows == ["s0-1", "s1-1", "s2-1", "s3-1"]

def counting_decisions(monkeypatch) -> list[str]:
    """How each batch was read and decided, as it happens: "ahead" (before the lock, on top of the
    write in flight or not) or "under the lock"."""
    kinds: list[str] = []
    real = ingest_module._read_and_decide

    async def read_and_decide(conn, plan, hot_keys):
        await real(conn, plan, hot_keys)
        kinds.append("under the lock" if plan.read_at is None else "ahead, on top" if plan.after else "ahead")

    monkeypatch.setattr(ingest_module, "_read_and_decide", read_and_decide)
    return kinds


async def test_the_next_batch_is_decided_on_top_of_the_one_being_written(catalog, owner_engine, monkeypatch):
    """While a page is being written, the next is read and decided ahead of the lock, against the
    catalog as the write in flight will leave it: a duplicate of a posting that write creates, and
    a listing it adds, seen again with a salary."""
    kinds = counting_decisions(monkeypatch)
    real, decided = catalog_store.copy_rows, asyncio.Event()

    async def held(conn, table, columns, rows):  # the first write waits until the next batch is decided
        if table == "posting_content" and not decided.is_set():
            await asyncio.wait_for(decided.wait(), 10)
        await real(conn, table, columns, rows)

    monkeypatch.setattr(catalog_store, "copy_rows", held)
    real_decide = ingest_module._decide

    def decide(plan, *args):
        real_decide(plan, *args)
        if plan.after is not None:
            decided.set()

    monkeypatch.setattr(ingest_module, "_decide", decide)
    first = [posting("a-1"), posting("a-2", title="Data Scientist", company="Northwind", description_text=OTHER)]
    again = [posting("b-1", source="greenhouse", company="Acme GmbH"),
             posting("a-2", title="Data Scientist", company="Northwind", description_text=OTHER,
                     salary=Salary(min=50000, max=60000, currency="GBP"))]
    a, b = await asyncio.gather(ingest(catalog, source(), first, now=NOW),
                                ingest(catalog, source(), again, now=NOW))
    assert kinds == ["ahead", "ahead, on top"]  # neither read again under the lock: both plans held
    assert [r.outcome for r in a.results] == ["new", "new"]
    assert [(r.outcome, r.duplicate_of) for r in b.results] == [("duplicate", a.results[0].posting_id),
                                                                ("updated", None)]
    assert b.results[1].posting_id == a.results[1].posting_id
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM postings"))).scalar_one() == 2
        assert (await conn.execute(text("SELECT salary_min FROM postings WHERE id = :id"),
                                   {"id": a.results[1].posting_id})).scalar_one() == 50000


async def test_while_the_next_batch_is_decided_a_written_page_returns_and_its_next_is_prepared(catalog, monkeypatch):
    """A caller gets its page's results as soon as the page's write commits, not once the writer
    has decided the batch after it; the search's next page, handed in meanwhile, is normalized and
    fingerprinted while the writer waits for the database."""
    real_read, real_prepare = ingest_module._read_and_decide, ingest_module._prepare
    next_prepared, seen = asyncio.Event(), []

    def prepare(source_name, kept, *args):
        if any(p.external_id == "c-1" for p in kept):
            next_prepared.set()
        return real_prepare(source_name, kept, *args)

    async def read_and_decide(conn, plan, hot_keys):
        if plan.after is not None and not seen:  # the second batch, decided on top of the first's write
            seen.append(await asyncio.wait_for(asyncio.shield(first), 10))
            seen.append(asyncio.create_task(ingest(catalog, source(), [posting("c-1")], now=NOW)))
            await asyncio.wait_for(next_prepared.wait(), 10)
        await real_read(conn, plan, hot_keys)

    monkeypatch.setattr(ingest_module, "_read_and_decide", read_and_decide)
    monkeypatch.setattr(ingest_module, "_prepare", prepare)
    kinds = counting_decisions(monkeypatch)
    first = asyncio.create_task(ingest(catalog, source(), [posting("a-1")], now=NOW))
    second = asyncio.create_task(ingest(catalog, source("other"), [posting("b-1", source="other")], now=NOW))
    a, b = await asyncio.wait_for(asyncio.gather(first, second), 30)
    c = await asyncio.wait_for(seen[1], 30)
    assert seen[0] is a and a.new == 1  # returned while the writer still decided the batch after it
    assert kinds[:2] == ["ahead", "ahead, on top"]  # the held decision went through: nothing timed out
    assert [r.duplicate_of for r in b.results + c.results] == [a.results[0].posting_id] * 2  # the same job
    await writer_idle(catalog)


async def test_a_page_that_fails_to_normalize_fails_alone(catalog, monkeypatch):
    """A page the writer cannot prepare (before a batch, or while it waits for the database) fails
    for its caller only: the pages around it are written, and the writer goes on."""
    real_read, real_prepare = ingest_module._read_and_decide, ingest_module._prepare
    late, failed_while_held = [], []

    def prepare(source_name, kept, *args):
        if any(p.external_id.startswith("bad") for p in kept):
            raise ValueError("unreadable page")
        return real_prepare(source_name, kept, *args)

    async def read_and_decide(conn, plan, hot_keys):
        if plan.after is not None and not late:  # a bad page handed in while the writer waits
            late.append(asyncio.create_task(ingest(catalog, source("late"), [posting("bad-2", source="late")],
                                                   now=NOW)))
            await asyncio.wait({late[0]}, timeout=10)
            failed_while_held.append(late[0].done())
        await real_read(conn, plan, hot_keys)

    monkeypatch.setattr(ingest_module, "_read_and_decide", read_and_decide)
    monkeypatch.setattr(ingest_module, "_prepare", prepare)
    pages = [(source("a"), [posting("a-1", source="a")]), (source("bad"), [posting("bad-1", source="bad")]),
             (source("b"), [posting("b-1", source="b", title="Data Scientist", company="Northwind")]),
             (source("c"), [posting("c-1", source="c", title="Welder", company="Initech")])]
    outcomes = await asyncio.wait_for(asyncio.gather(*(ingest(catalog, info, page, now=NOW) for info, page in pages),
                                                     return_exceptions=True), 30)
    assert isinstance(outcomes[1], ValueError) and "unreadable page" in str(outcomes[1])
    assert [o.new for i, o in enumerate(outcomes) if i != 1] == [1, 1, 1]
    assert failed_while_held == [True]  # prepared, and failed, while the next batch's decision was held
    with pytest.raises(ValueError, match="unreadable page"):
        await late[0]
    after = await ingest(catalog, source("d"), [posting("d-1", source="d", title="Baker", company="Bakery")],
                         now=NOW)
    assert after.new == 1
    await writer_idle(catalog)


async def test_a_batch_decided_while_another_process_wrote_is_decided_again(catalog, owner_engine, monkeypatch):
    """Two processes (each with its own writer, two pages each, so that each decides ahead) decide
    pages listing the same job before either has the catalog lock: the one that writes second
    finds the catalog epoch moved, reads and decides again under the lock, and the job gets one
    posting."""
    kinds = counting_decisions(monkeypatch)
    other = dataclasses.replace(catalog, extras={})
    pages = [(catalog, source(), [posting("1")]), (catalog, source(), [posting("2", title="Data Scientist",
                                                                                company="Northwind", description_text=OTHER)]),
             (other, source("lever"), [posting("L1", source="lever", company="Acme LLC")]),
             (other, source("lever"), [posting("L2", source="lever", title="Welder", company="Initech",
                                               description_text="")])]
    async with owner_engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": catalog_store.INGEST_LOCK})
        try:
            tasks = [asyncio.create_task(ingest(runtime, info, page, now=NOW)) for runtime, info, page in pages]
            for _ in range(100):  # both first pages decided ahead, both waiting for the lock
                waiting = (await holder.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))).scalar_one()
                if waiting == 2:
                    break
                await asyncio.sleep(0.05)
            assert waiting == 2 and "under the lock" not in kinds and kinds.count("ahead") == 2
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": catalog_store.INGEST_LOCK})
    reports = await asyncio.gather(*tasks)
    assert "under the lock" in kinds  # the second first page, at least
    assert [r.new + r.duplicates for r in reports] == [1, 1, 1, 1]
    assert reports[0].results[0].posting_id == reports[2].results[0].posting_id  # one posting for the job
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM postings"))).scalar_one() == 3


async def test_a_batch_that_cannot_be_read_ahead_is_read_under_the_lock(catalog, owner_engine, monkeypatch):
    kinds = counting_decisions(monkeypatch)

    async def broken(conn):
        raise OSError("connection reset")

    monkeypatch.setattr(catalog_store, "snapshot_epoch", broken)
    reports = await asyncio.gather(ingest(catalog, source(), [posting("1")], now=NOW),
                                   ingest(catalog, source("greenhouse"),
                                          [posting("g1", source="greenhouse", company="Acme GmbH")], now=NOW))
    assert kinds == ["under the lock", "under the lock"]
    assert [(r.new, r.duplicates) for r in reports] == [(1, 0), (0, 1)]


async def test_a_page_alone_is_read_and_written_in_one_transaction(catalog, monkeypatch):
    """Nothing to overlap with: no read ahead, no second transaction."""
    kinds = counting_decisions(monkeypatch)
    report = await ingest(catalog, source(), [posting("1"), posting("g1", source="greenhouse", company="Acme GmbH")],
                          now=NOW)
    assert kinds == ["under the lock"]
    assert (report.new, report.duplicates) == (1, 1)


async def test_a_caller_leaving_while_the_writer_prepares_other_pages_disturbs_nothing(catalog, monkeypatch):
    """The writer prepares the pages in hand one after another, giving the event loop a turn between
    slices; a caller that leaves meanwhile (its page, with nothing valid in it, not yet prepared)
    costs the other callers nothing."""
    real_prepare = ingest_module._prepare
    to_cancel: list[asyncio.Task] = []

    def prepare_and_cancel(*args):
        if to_cancel:
            to_cancel.pop().cancel()
        return real_prepare(*args)

    monkeypatch.setattr(ingest_module, "_prepare", prepare_and_cancel)
    first = asyncio.create_task(ingest(catalog, source(), [posting(str(i)) for i in range(60)], now=NOW))
    leaving = asyncio.create_task(ingest(catalog, source("other"), [posting("x", title="")], now=NOW))
    last = asyncio.create_task(ingest(catalog, source("third"), [posting("y", source="third")], now=NOW))
    to_cancel.append(leaving)
    reports = await asyncio.wait_for(asyncio.gather(first, last), 30)
    assert [r.new + r.duplicates for r in reports] == [60, 1]
    with pytest.raises(asyncio.CancelledError):
        await leaving
    await writer_idle(catalog)
