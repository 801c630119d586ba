"""Candidate blocking: placing a posting probes an index per key, never scans the catalog."""

from __future__ import annotations

import contextlib
import importlib
import random
from collections.abc import AsyncIterator

import asyncpg
import numpy as np
import pytest
from sqlalchemy import text

from tests.catalog.conftest import DESCRIPTION, NOW, posting, source
from zentropy.catalog import ingest, store
from zentropy.dedup.calibration import load_pairs
from zentropy.dedup.fingerprints import BANDS
from zentropy.dedup.keys import dedup_keys

ingest_module = importlib.import_module("zentropy.catalog.ingest")  # the package's `ingest` is the function
SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "xe", "zo", "bri", "dan", "fel", "gor", "hum"]


def words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(n))


def many_postings(n: int, seed: int = 3) -> list:
    rng = random.Random(seed)
    return [posting(f"bulk-{i}", title=f"{words(rng, 2).title()} Engineer", company=f"Company {i % 700}",
                    locations=[f"City {i % 90}"], description_text=words(rng, 160)) for i in range(n)]


def probe_keys(postings: list) -> tuple[list[int], list[int]]:
    """What placing these postings looks up: keys in `posting_keys`, and in `posting_agency_keys`."""
    keys = dedup_keys(postings)
    agency = {k for p in keys for k in p.agency_keys}
    return sorted({k for p in keys for k in p.lookup_keys} - agency), sorted(agency)


@contextlib.asynccontextmanager
async def ingest_transaction(runtime) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction as an ingest write has it: the lock taken, its settings in force."""
    async with runtime.db.raw() as conn, conn.transaction():
        await store.begin_write(conn)
        yield conn


async def explain(runtime, sql: str, *args) -> str:
    """The plan of `sql` in an ingest transaction (its settings in force)."""
    async with ingest_transaction(runtime) as conn:
        return "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))


async def test_candidate_lookups_use_the_indexes_at_a_few_thousand_postings(catalog, owner_engine):
    bulk = many_postings(3000)
    ids = []
    for start in range(0, len(bulk), 500):
        report = await ingest(catalog, source(), bulk[start:start + 500], now=NOW)
        ids += [r.posting_id for r in report.results]
    keys, agency_keys = probe_keys(many_postings(100, seed=4))
    for analyzed in (False, True):  # fresh statistics or none: the plan must not depend on them
        if analyzed:
            async with owner_engine.begin() as conn:
                await conn.execute(text("ANALYZE postings, posting_keys, posting_agency_keys"))
        plan = await explain(catalog, store.CANDIDATE_KEYS, keys, agency_keys, store.HOT_KEY)
        assert "ix_posting_keys_key" in plan and "Seq Scan on posting_keys" not in plan, plan
        assert "ix_posting_agency_keys_key" in plan and "Seq Scan on posting_agency_keys" not in plan, plan
        assert "Bitmap" not in plan, plan  # a plain index probe per key, half the cost
        for table in store.KEY_TABLES:  # a merged listing's keys: one probe each for the pair
            plan = await explain(catalog, store.ADD_KEYS.format(table=table), keys[:50], ids[:50])
            assert f"ix_{table}_key" in plan and "Seq Scan on" not in plan and "Bitmap" not in plan, plan
        plan = await explain(catalog, store.CANDIDATE_ROWS, ids[::150])  # a page's few candidates
        assert "pk_postings" in plan and "Seq Scan on postings" not in plan, plan
        plan = await explain(catalog, store.LISTINGS, ["adzuna"] * 100, [f"bulk-{i}" for i in range(100)])
        assert "uq_posting_sources_source_external_id" in plan and "Seq Scan" not in plan, plan


async def test_a_generic_plan_made_on_a_nearly_empty_catalog_still_probes_the_index(catalog):
    """PostgreSQL plans a statement for good at its sixth run on a connection: made while the
    catalog is tiny, that plan must still probe `posting_keys` by index once it has grown."""
    keys, agency_keys = probe_keys(many_postings(100, seed=4))
    async with ingest_transaction(catalog) as conn:
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        statement = await conn.prepare(store.CANDIDATE_KEYS)
        await statement.fetch(keys, agency_keys, store.HOT_KEY)  # planned now, on an empty catalog, and kept
        for start in range(0, 2000, 500):  # the catalog grows in the same transaction
            bulk = many_postings(2000)[start:start + 500]
            rows = [(k, 10_000_000 + start + i) for i, p in enumerate(dedup_keys(bulk)) for k in p.block_keys]
            await conn.copy_records_to_table("posting_keys", records=list(dict.fromkeys(rows)),
                                             columns=["key", "posting_id"])
        literals = ", ".join("ARRAY[" + ",".join(map(str, some)) + "]::bigint[]" for some in (keys, agency_keys))
        plan = "\n".join(r[0] for r in await conn.fetch(
            f"EXPLAIN EXECUTE {statement.get_name()}({literals}, {store.HOT_KEY})"))
    assert "ix_posting_keys_key" in plan and "ix_posting_agency_keys_key" in plan, plan
    assert "Seq Scan" not in plan and "Bitmap" not in plan, plan


async def test_a_key_shared_by_many_postings_is_boilerplate_and_skipped(catalog):
    shared = "We are an equal opportunity employer and value diversity at our company. " * 3
    rng = random.Random(9)
    bulk = [posting(f"eeo-{i}", title=f"{words(rng, 2).title()} Analyst", company=f"Employer {i}",
                    locations=[f"Town {i}"], description_text=shared) for i in range(store.HOT_KEY + 5)]
    report = await ingest(catalog, source(), bulk, now=NOW)
    assert report.new == len(bulk)  # one paragraph, different employers and jobs: not duplicates
    first = dedup_keys(bulk[:1])[0]
    async with ingest_transaction(catalog) as conn:
        found = await store.candidates(conn, first.lookup_keys)
    # every band of the shared paragraph is hot: the only candidate left is the posting itself,
    # through its own identity key
    assert list(found.keys_of) == [report.results[0].posting_id]
    assert len(found.by_key) == 1 and len(found.hot) == BANDS



async def test_a_key_shared_by_many_postings_of_one_page_is_boilerplate_there_too(catalog, monkeypatch):
    # one page, so every candidate is a posting the page itself creates
    shared = "We are an equal opportunity employer and value diversity at our company. " * 3
    rng = random.Random(9)
    bulk = [posting(f"eeo-{i}", title=f"{words(rng, 2).title()} Analyst", company=f"Employer {i}",
                    locations=[f"Town {i}"], description_text=shared) for i in range(3 * store.HOT_KEY)]
    compared: list[int] = []  # candidates per look-up, in the catalog and then among the page's new postings
    real_match = ingest_module._match

    def counting_match(k, keys_of, by_key):
        compared.append(len({pid for key in k.lookup_keys for pid in by_key.get(key, ())}))
        return real_match(k, keys_of, by_key)

    monkeypatch.setattr(ingest_module, "_match", counting_match)
    report = await ingest(catalog, source(), bulk, now=NOW)
    assert report.new == len(bulk)
    # the paragraph's band keys stop making candidates once HOT_KEY postings of the page have them
    assert max(compared) == store.HOT_KEY - 1
    assert compared[-len(bulk) // 2:] == [0] * (len(bulk) // 2)


async def test_an_agency_repost_ingested_first_is_found_by_the_employers_posting(catalog, owner_engine):
    """The agency-namespace keys live in `posting_agency_keys`: the agency's posting stores them
    there (and not in `posting_keys`), the employer's posting, in a later write, looks them up there."""
    for pair in (p for p in load_pairs() if p.id.startswith("hard-staffing-agency-")):
        agency = await ingest(catalog, source(f"agency-{pair.id}"), [pair.b], now=NOW)
        [keys] = dedup_keys([pair.b])
        assert keys.agency and keys.agency_keys
        async with owner_engine.connect() as conn:
            stored = {table: set((await conn.execute(text(f"SELECT key FROM {table} WHERE posting_id = :p"), {
                "p": agency.results[0].posting_id})).scalars()) for table in store.KEY_TABLES}
        assert stored["posting_agency_keys"] == set(keys.agency_keys)
        assert stored["posting_keys"] == set(keys.block_keys) - set(keys.agency_keys)
        [employer_keys] = dedup_keys([pair.a])
        async with ingest_transaction(catalog) as conn:  # what the employer's posting finds, by which keys
            found = await store.candidates(conn, employer_keys.lookup_keys, None,
                                           np.array(sorted(employer_keys.agency_keys), dtype=np.int64))
        passages = set(employer_keys.agency_keys) & set(keys.agency_keys)  # their common passages' keys
        assert bool(passages) is pair.duplicate
        assert all(found.by_key[key] == [agency.results[0].posting_id] for key in passages)
        employer = await ingest(catalog, source(f"employer-{pair.id}"), [pair.a], now=NOW)
        merged = employer.results[0].posting_id == agency.results[0].posting_id
        assert merged is pair.duplicate, pair.id


class RolledBack(Exception):
    pass


async def test_keys_found_hot_are_recorded_and_a_new_process_neither_looks_them_up_nor_stores_them(
        catalog, owner_engine):
    shared = "We are an equal opportunity employer and value diversity at our company. " * 3
    rng = random.Random(11)
    bulk = [posting(f"eeo-{i}", title=f"{words(rng, 2).title()} Analyst", company=f"Employer {i}",
                    locations=[f"Town {i}"], description_text=shared) for i in range(store.HOT_KEY + 2)]
    keys = dedup_keys(bulk)
    # its LSH bands: stored and looked up by every posting
    paragraph = set.intersection(*(set(k.lookup_keys) & set(k.block_keys) for k in keys))

    async def stored(sql: str, **params) -> set[int]:
        async with owner_engine.connect() as conn:
            return set((await conn.execute(text(sql), params)).scalars())

    await ingest(catalog, source(), bulk[:store.HOT_KEY], now=NOW)
    assert await stored("SELECT key FROM hot_keys") == set()  # nothing looked up found them hot yet
    second = await ingest(catalog, source(), bulk[store.HOT_KEY:store.HOT_KEY + 1], now=NOW)
    assert len(paragraph) == BANDS and await stored("SELECT key FROM hot_keys") == paragraph
    # the posting that found them hot did not store them
    own = await stored("SELECT key FROM posting_keys WHERE posting_id = :p", p=second.results[0].posting_id)
    assert own == set(keys[store.HOT_KEY].block_keys) - paragraph

    catalog.extras.pop("catalog.hot_keys")  # a process started now
    with pytest.raises(RolledBack):
        async with ingest_transaction(catalog) as conn:
            # were they looked up, they would not be hot any more
            await conn.execute("DELETE FROM posting_keys WHERE key = ANY($1::bigint[])", sorted(paragraph))
            found = await store.candidates(conn, keys[-1].lookup_keys, ingest_module._hot_keys(catalog))
            raise RolledBack
    assert found.hot == paragraph and not paragraph & found.by_key.keys()
    catalog.extras.pop("catalog.hot_keys")
    last = await ingest(catalog, source(), bulk[-1:], now=NOW)
    assert last.new == 1
    own = await stored("SELECT key FROM posting_keys WHERE posting_id = :p", p=last.results[0].posting_id)
    assert own == set(keys[-1].block_keys) - paragraph
    for key in paragraph:  # as many as made it hot, however many postings have it since
        assert len(await stored("SELECT posting_id FROM posting_keys WHERE key = :k", k=key)) == store.HOT_KEY
    # a repost of the first job is still found, by its other keys
    repost = await ingest(catalog, source("remotive"), [bulk[0]], now=NOW)
    first = await stored("SELECT posting_id FROM posting_sources WHERE external_id = 'eeo-0' AND source = 'adzuna'")
    assert repost.duplicates == 1 and {repost.results[0].posting_id} == first


async def test_a_merged_listing_does_not_add_keys_known_hot_to_its_posting(catalog, owner_engine):
    first = await ingest(catalog, source(), [posting("job-1", apply_url="https://acme.example/careers/1")], now=NOW)
    target = first.results[0].posting_id
    repost = posting("job-1", source="remotive", apply_url="https://boards.greenhouse.io/acme/jobs/1",
                     description_text=DESCRIPTION + " Apply with your CV and a note on a system you are proud of.")

    async def stored_keys() -> set[int]:
        async with owner_engine.connect() as conn:
            return set((await conn.execute(text("SELECT key FROM posting_keys WHERE posting_id = :p"),
                                           {"p": target})).scalars())

    before = await stored_keys()
    [keys] = dedup_keys([repost])
    added = set(keys.block_keys) - before  # its apply URL's key, and keys of its longer description
    assert added - set(keys.lookup_keys)  # some it is found by but does not look up: its own passages'
    async with owner_engine.begin() as conn:  # known hot to every process from now on
        await conn.execute(text("INSERT INTO hot_keys (key) SELECT unnest(CAST(:keys AS bigint[]))"),
                           {"keys": sorted(added)})
    catalog.extras.pop("catalog.hot_keys", None)
    report = await ingest(catalog, source("remotive"), [repost], now=NOW)
    assert report.duplicates == 1 and report.results[0].posting_id == target
    assert await stored_keys() == before


async def test_merged_listings_add_only_the_key_pairs_not_there_yet(catalog, owner_engine):
    """The key tables have no unique constraint (a hash index on `key`): adding a merged listing's
    keys must skip the pairs its posting already has."""
    first = await ingest(catalog, source(), [posting("job-1", apply_url="https://acme.example/careers/1")], now=NOW)
    target = first.results[0].posting_id
    longer = DESCRIPTION + " Apply with your CV and a note on a system you are proud of."
    reposts = [posting("job-1", source="remotive", description_text=longer,
                       apply_url="https://boards.greenhouse.io/acme/jobs/1"),
               posting("job-1", source="arbeitnow", description_text=longer + " Visa sponsorship available.")]
    for repost in reposts:
        report = await ingest(catalog, source(repost.source), [repost], now=NOW)
        assert report.duplicates == 1 and report.results[0].posting_id == target
    async with owner_engine.connect() as conn:
        repeated = (await conn.execute(text(
            "SELECT key FROM posting_keys GROUP BY key, posting_id HAVING count(*) > 1"))).all()
        stored = set((await conn.execute(text("SELECT key FROM posting_keys WHERE posting_id = :p"),
                                         {"p": target})).scalars())
    assert repeated == []
    every = {k for keys in dedup_keys([posting("job-1", apply_url="https://acme.example/careers/1"), *reposts])
             for k in keys.block_keys}
    assert stored == every  # each listing's keys, once


async def test_a_passage_hot_in_one_namespace_is_neither_looked_up_nor_stored_in_the_other(catalog, owner_engine,
                                                                                            monkeypatch):
    """An employer's About paragraph, once its employer-namespace keys are hot (shared by its many
    postings), would find through its agency-namespace keys every agency repost of any of the
    employer's jobs: those keys are not looked up, nor stored for new agency postings; the job's
    own passages still find the agency's repost of the job."""
    rng = random.Random(5)
    about, duties, other_duties, third_duties = (words(rng, 120) for _ in range(4))

    def job(external_id: str, title: str, company: str, *passages: str):
        return posting(external_id, title=title, company=company, description_text=" ".join(passages))

    employer = job("acme-1", "Platform Engineer", "Acme Corp", about, duties)
    other_job = job("acme-2", "Sales Manager", "Acme Corp", about, other_duties)
    [employer_keys, other_keys] = dedup_keys([employer, other_job])
    about_keys = set(employer_keys.employer_keys) & set(other_keys.employer_keys)
    window = {e: a for e, a in zip(employer_keys.employer_keys, employer_keys.agency_keys)}
    about_partners = {window[e] for e in about_keys}
    assert about_keys and about_partners and set(employer_keys.agency_keys) - about_partners

    agency = source("agency-board")
    reposts = await ingest(catalog, agency, [
        job("r-2", "Sales Manager", "Hays Recruitment", about, other_duties),
        job("r-1", "Platform Engineer", "Hays Recruitment", about, duties)], now=NOW)
    assert reposts.new == 2
    async with owner_engine.begin() as conn:  # the About paragraph: boilerplate to every process from now on
        await conn.execute(text("INSERT INTO hot_keys (key) SELECT unnest(CAST(:keys AS bigint[]))"),
                           {"keys": sorted(about_keys)})
    catalog.extras.pop("catalog.hot_keys", None)
    looked_up: list[set[int]] = []
    real = store.candidates

    async def candidates(conn, lookup_keys, *args):
        looked_up.append(set(np.asarray(lookup_keys).tolist()))
        return await real(conn, lookup_keys, *args)

    monkeypatch.setattr(store, "candidates", candidates)
    placed = await ingest(catalog, source(), [employer], now=NOW)
    assert placed.duplicates == 1 and placed.results[0].posting_id == reposts.results[1].posting_id
    assert not looked_up[-1] & about_partners  # would find the repost of the other job too
    assert set(employer_keys.agency_keys) - about_partners <= looked_up[-1]

    third_job = job("r-3", "Data Analyst", "Hays Recruitment", about, third_duties)
    third = await ingest(catalog, agency, [third_job], now=NOW)
    [third_keys] = dedup_keys([third_job])
    async with owner_engine.connect() as conn:
        stored = set((await conn.execute(text("SELECT key FROM posting_agency_keys WHERE posting_id = :p"),
                                         {"p": third.results[0].posting_id})).scalars())
    assert stored == set(third_keys.agency_keys) - about_partners and about_partners <= set(third_keys.agency_keys)
