"""Ingest a page of postings from one source into the shared catalog: normalize, dedup, merge,
upsert. The tier engine calls it after each source page.

`await ingest(runtime, source_info, postings)` -> `IngestReport` with, per posting, `new`,
`duplicate` (of which posting, by which rule), `updated` or `unchanged`.

- Batched: a fixed number of statements per write, whatever its size: COPY for new rows, one
  `unnest` UPDATE per table for changed ones.
- Group commit: each process has one writer task (`GroupWriter`). Pages handed to it while it is
  busy (the worker runs several searches at once) go into the database together, in one
  transaction; a page whose write fails is tried again alone, so it fails alone.
- Pipelined: while one batch is being written, the writer prepares the next (normalizes,
  fingerprints), reads what its decisions need and decides it, on top of the batch in flight
  (its changes held in memory), so that Python and PostgreSQL work at the same time. A catalog
  epoch, moved by every write under the lock, tells whether anything else wrote in between; if
  so, the batch is read and decided again under the lock. Callers get their results as soon as
  their write commits, and pages handed in while the writer waits for the database are prepared
  meanwhile.
- Idempotent: replaying a page changes nothing (with the same clock, not a byte; later, only the
  "last seen" times and, past the hour, the content's expiry move).
- Safe under concurrency: every write holds a transaction-level advisory lock, so two workers
  never both create the same posting.
- Content (description, HTML, raw payload) goes to `posting_content`, one row per listing, expiring
  `source_info.content_ttl_seconds` after the fetch (rounded down to the hour); metadata stays.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator, Sequence
from datetime import datetime, timezone
from functools import cached_property
from hashlib import blake2b
from typing import TypeVar

import asyncpg
import msgspec
import numpy as np

from zentropy.catalog import store
from zentropy.catalog.partitions import PartitionCache, content_expiry
from zentropy.catalog.schemas import IngestReport, IngestResult
from zentropy.dedup.companies import CompanyAliases
from zentropy.dedup.keys import DedupKeys, dedup_keys
from zentropy.dedup.merge import CanonicalPosting, merge, new_canonical
from zentropy.dedup.score import decide
from zentropy.purge.settings import content_ttl
from zentropy.sources.contract import Posting, SourceInfo

_ALIASES = "catalog.company_aliases"
_PARTITIONS = "catalog.partitions"
_HOT_KEYS = "catalog.hot_keys"
_WRITER = "catalog.writer"
T = TypeVar("T")
PREPARE_SLICE = 10  # postings normalized between two turns of the event loop (about 0.3 ms)


def company_aliases(runtime) -> CompanyAliases:  # noqa: ANN001 - zentropy.runtime.Runtime
    """The alias table: built-in entries plus every plugin's `register_company_aliases`."""
    if _ALIASES not in runtime.extras:
        runtime.extras[_ALIASES] = CompanyAliases.from_plugins(runtime.plugins)
    return runtime.extras[_ALIASES]


def _partitions(runtime) -> PartitionCache:  # noqa: ANN001
    return runtime.extras.setdefault(_PARTITIONS, PartitionCache())


class _Prepared(msgspec.Struct, gc=False):
    source: str
    posting: Posting
    keys: DedupKeys
    content_hash: bytes | None
    raw_json: str | None
    now: datetime  # the fetch time
    expires_at: datetime | None  # None: nothing to keep (no content, or its TTL is under the hour)

    @property
    def listing(self) -> tuple[str, str]:
        return self.source, self.posting.external_id


def _valid(postings: Sequence[Posting]) -> list[Posting]:
    """The postings with an external id and a title, the last of each external id."""
    last: dict[str, Posting] = {}
    for p in postings:
        if p.external_id and p.title and p.title.strip():
            last.pop(p.external_id, None)
            last[p.external_id] = p
    return list(last.values())


def _prepare(source: str, kept: Sequence[Posting], aliases: CompanyAliases, now: datetime,
             ttl_seconds: int) -> list[_Prepared]:
    """The postings with their keys, content hash and expiry."""
    keys = dedup_keys(kept, aliases)
    expires_at = content_expiry(now, ttl_seconds)
    prepared = []
    for p, k in zip(kept, keys):
        raw_json = msgspec.json.encode(p.raw).decode() if p.raw else None
        has_content = bool(p.description_text or p.description_html or raw_json)
        digest = None
        if has_content:
            h = blake2b(digest_size=16)
            for part in (p.description_text, p.description_html or "", raw_json or ""):
                h.update(part.encode())
                h.update(b"\0")
            digest = h.digest()
        prepared.append(_Prepared(source, p, k, digest, raw_json, now,
                                  expires_at if has_content and expires_at > now else None))
    return prepared


class _Page:
    """A page handed to the writer: prepared (normalized, fingerprinted) by the writer itself, a
    slice at a time, so that the event loop gets a turn in between."""

    def __init__(self, source: str, postings: Sequence[Posting], now: datetime, ttl_seconds: int) -> None:
        self.source, self.now, self.ttl_seconds = source, now, ttl_seconds
        self.kept = _valid(postings)
        self.skipped = len(postings) - len(self.kept)
        self.ready: list[_Prepared] = []  # its first postings, prepared
        self.prepared: list[_Prepared] | None = None  # all of them, once prepared
        self.listings: set[tuple[str, str]] = set()
        self.done: asyncio.Future[list[IngestResult]] = asyncio.get_running_loop().create_future()
        self.alone = False  # its write failed with other pages: it is tried on its own

    @property
    def pending(self) -> bool:
        """Not yet prepared, and its caller still waits."""
        return self.prepared is None and not self.done.done()

    def prepare_slice(self, aliases: CompanyAliases) -> None:
        """Prepare the next `PREPARE_SLICE` postings; a page that fails to prepare gets the error."""
        try:
            start = len(self.ready)
            self.ready += _prepare(self.source, self.kept[start: start + PREPARE_SLICE], aliases, self.now,
                                   self.ttl_seconds)
        except Exception as exc:  # noqa: BLE001 - the page's caller gets it
            self.done.set_exception(exc)
            return
        if len(self.ready) == len(self.kept):
            self.prepared = self.ready
            self.listings = {item.listing for item in self.prepared}
            if not self.prepared:
                self.done.set_result([])


class _Plan:
    """A batch's decisions and the rows they write. Made ahead of the catalog lock, while the
    previous batch is still being written, it is decided on top of that batch's plan (`after`)
    and holds only if nothing else changed the catalog in between (`read_at`: the catalog epoch
    its reads saw); `epoch` is set once it is written as planned."""

    def __init__(self, prepared: list[_Prepared], read_at: int | None, after: _Plan | None) -> None:
        self.prepared, self.read_at, self.after = prepared, read_at, after
        self.epoch: int | None = None
        self.results: list[IngestResult] = []
        self.catalog: dict[int, CanonicalPosting] = {}  # every posting it reads or writes, as it leaves them
        self.created: dict[int, DedupKeys] = {}  # postings it creates, and their keys
        self.changed: list[CanonicalPosting] = []
        self.new_listings: list[store.Listing] = []
        self.changed_listings: list[store.Listing] = []
        self.new_keys = store.KeyPairs.of([])  # of created postings (but keys known hot): COPY
        self.merged_keys = store.KeyPairs.of([])  # of listings merged into existing postings: may exist
        self.stale_content: list[tuple[int, datetime]] = []
        self.content: list[store.Content] = []

    def holds(self, epoch_before: int) -> bool:
        """Whether the plan still holds for a write that found the catalog at `epoch_before`."""
        if self.read_at is None:
            return False
        if self.after is None:
            return epoch_before == self.read_at
        # Decided on top of `after`: it must have been written as planned, nothing since, and the
        # snapshot taken either just before it (its changes came from memory) or just after it.
        written = self.after.epoch
        return written is not None and epoch_before == written and self.read_at in (written - 1, written)

    @cached_property
    def listings(self) -> dict[tuple[str, str], store.Listing]:
        return {(row.source, row.external_id): row for row in self.new_listings + self.changed_listings}

    @cached_property
    def keys(self) -> store.KeyPairs:
        return self.new_keys + self.merged_keys

    @cached_property
    def agency_keys(self) -> np.ndarray:
        """The batch's agency-namespace keys, sorted: they live in a table of their own."""
        return store.distinct(store.flat_keys([item.keys.agency_keys for item in self.prepared]))


class GroupWriter:
    """This process's pages waiting to be written, and the task writing them, one batch of pages
    per transaction. A batch takes at most half the pages in hand (waiting or being written, and
    at most `limit` postings), so that one half is prepared, read and decided while the other is
    being written; pages with a listing already in the batch wait for the next."""

    limit = 2000

    def __init__(self, aliases: CompanyAliases) -> None:
        self.aliases = aliases
        self.waiting: list[_Page] = []
        self.task: asyncio.Task | None = None
        self.arrival: asyncio.Future[None] | None = None  # set when a page is handed in

    async def next_batch(self, writing: int) -> list[_Page]:
        share = max(1, (len(self.waiting) + writing + 1) // 2)
        batch: list[_Page] = []
        listings: set[tuple[str, str]] = set()
        size = 0
        for page in list(self.waiting):
            if len(batch) == share or (batch and batch[0].alone):
                break
            while page.pending:  # its caller may leave meanwhile
                page.prepare_slice(self.aliases)
                await asyncio.sleep(0)  # the write in flight (another task) gets to send its next statement
            if page.done.done() or page not in self.waiting:  # nothing to write, or its caller left
                if page in self.waiting:
                    self.waiting.remove(page)
                continue
            if batch and (page.alone or size + len(page.prepared) > self.limit or not listings.isdisjoint(page.listings)):
                continue
            batch.append(page)
            listings |= page.listings
            size += len(page.prepared)
        self.waiting = [page for page in self.waiting if page not in batch]
        return batch

    async def run(self, runtime) -> None:  # noqa: ANN001
        flight: _Flight | None = None
        batch: list[_Page] = []
        try:
            while self.waiting or flight is not None:
                await asyncio.sleep(0)  # the callers just given results hand in their next pages
                if flight is not None and flight.plan is None:  # nothing to decide on top of
                    await self._land(flight)
                    flight = None
                batch = await self.next_batch(len(flight.pages) if flight is not None else 0)
                if not batch:
                    if flight is not None:
                        await self._land(flight)
                        flight = None
                    continue
                prepared = [item for page in batch for item in page.prepared]
                # Decided ahead only with a write to overlap: a lone page reads under the lock, in one transaction.
                plan = (await self._meanwhile(_plan_ahead(runtime, prepared, flight.plan if flight is not None else None))
                        if flight is not None or self.waiting else None)
                if flight is not None:
                    await self._land(flight)
                flight = _Flight(batch, plan, asyncio.create_task(_write_with_partitions(runtime, prepared, plan)))
                flight.task.add_done_callback(lambda _, flight=flight: self._deliver(flight))
                batch = []
        except BaseException as exc:
            if flight is not None:
                flight.task.cancel()
                await asyncio.gather(flight.task, return_exceptions=True)
                batch += flight.pages
            for page in batch + self.waiting:
                if not page.done.done():
                    if isinstance(exc, asyncio.CancelledError):
                        page.done.cancel()
                    else:
                        page.done.set_exception(exc)
            self.waiting.clear()
            raise
        finally:
            self.task = None

    async def _meanwhile(self, awaited: Awaitable[T]) -> T:
        """Await what the writer waits for (the database, mostly), preparing the pages in hand a
        slice at a time meanwhile."""
        future = asyncio.ensure_future(awaited)
        try:
            while not future.done():
                page = next((page for page in self.waiting if page.pending), None)
                if page is None:  # until it is done, or a page is handed in
                    self.arrival = asyncio.get_running_loop().create_future()
                    await asyncio.wait((future, self.arrival), return_when=asyncio.FIRST_COMPLETED)
                    continue
                page.prepare_slice(self.aliases)
                await asyncio.sleep(0)
            return await future
        except BaseException:
            future.cancel()
            raise
        finally:
            self.arrival = None

    def hand_in(self, page: _Page) -> None:
        self.waiting.append(page)
        if self.arrival is not None and not self.arrival.done():
            self.arrival.set_result(None)

    async def _land(self, flight: _Flight) -> None:
        """Wait for the write in flight (its pages were given their results as it ended); after a
        failure, try each page again (a page alone, its caller sees its error)."""
        try:
            await self._meanwhile(flight.task)
        except Exception as exc:
            if len(flight.pages) == 1:
                if not flight.pages[0].done.done():
                    flight.pages[0].done.set_exception(exc)
                return
            flight.pages[0].alone = True
            self.waiting[:0] = flight.pages

    @staticmethod
    def _deliver(flight: _Flight) -> None:
        """Give a write's pages their results as soon as it ends, so that their callers hand in
        their next pages while the writer still decides the batch after it."""
        if flight.task.cancelled() or flight.task.exception() is not None:
            return
        results, start = flight.task.result(), 0
        for page in flight.pages:
            if not page.done.done():  # its caller may have gone
                page.done.set_result(results[start: start + len(page.prepared)])
            start += len(page.prepared)


class _Flight(msgspec.Struct):
    pages: list[_Page]
    plan: _Plan | None
    task: asyncio.Task


def _writer(runtime) -> GroupWriter:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    writer = runtime.extras.get(_WRITER)
    if writer is None or writer[0] is not loop:  # its task belongs to one event loop
        writer = runtime.extras[_WRITER] = (loop, GroupWriter(company_aliases(runtime)))
    return writer[1]


async def ingest(runtime, source_info: SourceInfo, postings: Sequence[Posting], *,  # noqa: ANN001
                 now: datetime | None = None, content_ttl_seconds: int | None = None) -> IngestReport:
    """Place `postings` (one page of `source_info`'s) in the catalog. `now` is the fetch time
    (default: the clock); `content_ttl_seconds` overrides the source's content TTL."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    ttl = content_ttl(runtime, source_info) if content_ttl_seconds is None else content_ttl_seconds
    writer, page = _writer(runtime), _Page(source_info.name, postings, now, ttl)
    writer.hand_in(page)
    if writer.task is None:
        writer.task = asyncio.create_task(writer.run(runtime))
    try:
        results = await page.done
    finally:
        if page in writer.waiting:  # cancelled before its write began
            writer.waiting.remove(page)
    return IngestReport.of(source_info.name, results, page.skipped)


async def stop_writer(runtime) -> None:  # noqa: ANN001
    """Stop this process's catalog writer (at shutdown): a write in flight is rolled back, and the
    callers still waiting get `CancelledError`."""
    loop, writer = runtime.extras.get(_WRITER, (None, None))
    if writer is not None and writer.task is not None and loop is asyncio.get_running_loop():
        writer.task.cancel()
        await asyncio.gather(writer.task, return_exceptions=True)


async def _plan_ahead(runtime, prepared: list[_Prepared], after: _Plan | None) -> _Plan | None:  # noqa: ANN001
    """Read and decide a batch before taking the catalog lock, on top of the write in flight
    (`after`), in a snapshot whose epoch the plan keeps; None if that fails."""
    try:
        async with runtime.db.raw() as conn, conn.transaction(isolation="repeatable_read"):
            plan = _Plan(prepared, await store.snapshot_epoch(conn), after)
            await _read_and_decide(conn, plan, _hot_keys(runtime))
    except Exception:  # noqa: BLE001 - the write reads and decides again under the lock, and reports what fails there
        return None
    return plan


def _hot_keys(runtime) -> store.HotKeys:  # noqa: ANN001
    return runtime.extras.setdefault(_HOT_KEYS, store.HotKeys())


async def _write_with_partitions(runtime, prepared: list[_Prepared],  # noqa: ANN001
                                 planned: _Plan | None) -> list[IngestResult]:
    hours = {item.expires_at for item in prepared if item.expires_at is not None}
    partitions, hot = _partitions(runtime), _hot_keys(runtime)
    for attempt in (1, 2):
        await partitions.ensure(runtime.db.engine, hours)
        try:
            async with runtime.db.raw() as conn, conn.transaction():
                epoch = await store.begin_write(conn)
                plan = planned if planned is not None and planned.holds(epoch - 1) else _Plan(prepared, None, None)
                if plan is not planned:  # read and decided under the lock, on the catalog as it is
                    await _read_and_decide(conn, plan, hot)
                await _apply(conn, plan)
                recorded = set(hot.unrecorded)  # found hot by this process: for every process to know
                await store.record_hot_keys(conn, recorded)
            hot.unrecorded -= recorded
            plan.epoch, plan.after = epoch, None  # written: what it was decided on top of is no longer needed
            return plan.results
        except asyncpg.CheckViolationError as exc:
            # a partition dropped behind this process's back (by hand, or a purge run too far): recreate, retry
            if attempt == 2 or "no partition of relation" not in str(exc):
                raise
            partitions.hours.clear()
    raise AssertionError("unreachable")


async def _read_and_decide(conn: asyncpg.Connection, plan: _Plan, hot_keys: store.HotKeys) -> None:
    """Read what the batch's decisions need (the write in flight's changes over what the database
    holds), then decide."""
    after = plan.after
    known = await store.listings(conn, [item.listing for item in plan.prepared])
    if after is not None:
        known.update((item.listing, after.listings[item.listing]) for item in plan.prepared
                     if item.listing in after.listings)
    fresh = [item for item in plan.prepared if item.listing not in known]
    await store.load_hot_keys(conn, hot_keys)  # before `_boilerplate` reads it
    lookup = store.distinct(store.flat_keys([item.keys.lookup_keys for item in fresh]))
    lookup = lookup[~store.members(lookup, _boilerplate(fresh, hot_keys))]
    found = await store.candidates(conn, lookup, hot_keys, plan.agency_keys)
    if after is not None:
        _candidates_after(found, lookup, after)
    matches = {item.listing: _match(item.keys, found.keys_of, found.by_key) for item in fresh}
    wanted = {listing.posting_id for listing in known.values()} | {m[0] for m in matches.values() if m[0] is not None}
    catalog = {i: after.catalog[i] for i in wanted if i in after.catalog} if after is not None else {}
    catalog.update((row.id, row) for row in await store.canonical_postings(conn, sorted(wanted - catalog.keys())))
    posting_ids, listing_ids = await store.next_ids(conn, len(fresh))
    # keys hot (known, or found so by this batch's look-ups), and boilerplate passages' keys in either namespace
    # (again: the look-ups may have found more hot), are boilerplate for good: no look-up would use them
    boilerplate = store.distinct(np.concatenate([np.fromiter(found.hot, np.int64, len(found.hot)),
                                                 _boilerplate(fresh, hot_keys)]))
    _decide(plan, known, found, matches, catalog, _shared_keys(fresh).difference(boilerplate.tolist()),
            iter(posting_ids), iter(listing_ids))

    def kept(pairs: store.KeyPairs) -> store.KeyPairs:
        return pairs[~(hot_keys.mask(pairs.keys) | store.members(pairs.keys, boilerplate))]

    plan.new_keys, plan.merged_keys = kept(plan.new_keys), kept(plan.merged_keys)


def _boilerplate(fresh: list[_Prepared], hot_keys: store.HotKeys) -> np.ndarray:
    """The winnowing keys of the new listings' boilerplate passages, in both namespaces, sorted. A
    passage whose key is known hot in one namespace (an employer's About paragraph, shared by its
    postings) would find, through its key in the other, the postings that share that paragraph
    (an agency's reposts of the employer's other jobs), not the job: neither key is looked up, or
    stored for them."""
    employer = store.flat_keys([item.keys.employer_keys for item in fresh])
    agency = store.flat_keys([item.keys.agency_keys for item in fresh])
    hot = hot_keys.mask(employer) | hot_keys.mask(agency)
    return store.distinct(np.concatenate([employer[hot], agency[hot]]))


def _shared_keys(fresh: list[_Prepared]) -> set[int]:
    """Blocking keys of a new listing that another new listing of the batch looks up: the keys by
    which a posting the batch creates can be found by the rest of the batch."""
    owner: dict[int, int] = {}  # key -> the one listing blocking it, or -1 for several
    for i, item in enumerate(fresh):
        for key in item.keys.block_keys:
            owner[key] = i if owner.get(key, i) == i else -1
    return {key for i, item in enumerate(fresh) for key in item.keys.lookup_keys if owner.get(key, i) != i}


def _candidates_after(found: store.Candidates, lookup: np.ndarray, after: _Plan) -> None:
    """Add the candidates the write in flight adds, as it leaves them."""
    for key, added in after.keys.owners_of(lookup).items():
        if key in found.hot:
            continue
        ids = found.by_key.get(key, [])
        ids = ids + [i for i in added if i not in ids]
        if len(ids) >= store.HOT_KEY:
            found.by_key.pop(key, None)
            found.hot.add(key)
        else:
            found.by_key[key] = ids
    for posting_id in {i for ids in found.by_key.values() for i in ids} & after.catalog.keys():
        found.keys_of[posting_id] = after.catalog[posting_id].dedup_keys()


def _decide(plan: _Plan, known: dict[tuple[str, str], store.Listing], found: store.Candidates,
            matches: dict, catalog: dict[int, CanonicalPosting], shared: set[int], posting_ids: Iterator[int],
            listing_ids: Iterator[int]) -> None:
    by_key = found.by_key
    original = dict(catalog)
    created = plan.created
    page_keys: dict[int, list[int]] = {}
    merged_keys: list[tuple[int, list[int]]] = []
    for item in plan.prepared:
        p, k, now = item.posting, item.keys, item.now
        listing = known.get(item.listing)
        if listing is not None:
            target, rule, score = listing.posting_id, "listing", None
        else:
            target, rule, score = matches[item.listing]
            if target is None and created:  # a duplicate of a posting this write has just created?
                target, rule, score = _match(k, created, page_keys)
        if target is None:
            target = next(posting_ids)
            catalog[target] = new_canonical(target, p, k, now, item.expires_at)
            created[target] = k
        else:
            catalog[target] = merge(catalog[target], p, k, now, item.expires_at)
        if target in created and shared:
            for key in shared.intersection(k.block_keys):
                ids = page_keys.setdefault(key, [])
                ids.append(target)
                if len(ids) == store.HOT_KEY:  # boilerplate within the batch too
                    shared.discard(key)
                    del page_keys[key]

        if listing is None:
            listing_id = next(listing_ids)
            plan.new_listings.append(store.Listing(
                id=listing_id, source=item.source, external_id=p.external_id, posting_id=target, title=p.title,
                company=p.company, source_url=p.source_url, apply_url=p.apply_url, match_rule=rule or "new",
                match_score=score, content_hash=item.content_hash, content_expires_at=item.expires_at,
                first_seen_at=now, last_seen_at=now,
            ))
            content_changed = item.expires_at is not None
            if target not in created:  # the keys it was found by are already there
                merged_keys.append((target, [key for key in k.block_keys
                                             if target not in by_key.get(key, ())]))
        else:
            listing_id = listing.id
            keep_old = (item.content_hash == listing.content_hash and listing.content_expires_at is not None
                        and item.expires_at is not None and listing.content_expires_at >= item.expires_at)
            content_changed = item.expires_at is not None and not keep_old
            if content_changed and listing.content_expires_at is not None:
                plan.stale_content.append((listing.id, listing.content_expires_at))
            updated = msgspec.structs.replace(
                listing, title=p.title, company=p.company, source_url=p.source_url, apply_url=p.apply_url,
                content_hash=item.content_hash if content_changed else listing.content_hash,
                content_expires_at=item.expires_at if content_changed else listing.content_expires_at,
                last_seen_at=max(listing.last_seen_at, now),
            )
            if updated != listing:
                plan.changed_listings.append(updated)
                if (updated.title, updated.company, updated.apply_url, updated.content_hash) != (
                        listing.title, listing.company, listing.apply_url, listing.content_hash):
                    merged_keys.append((target, k.block_keys))
        if content_changed:
            plan.content.append(store.Content(
                source_id=listing_id, posting_id=target, fetched_at=now, expires_at=item.expires_at,
                description_text=p.description_text or "", description_html=p.description_html,
                raw=item.raw_json,
            ))
        plan.results.append(_result(p.external_id, target, listing, created, rule, score, content_changed,
                                    original.get(target), catalog[target]))
    plan.catalog = catalog
    plan.changed = [row for i, row in catalog.items() if i in original and row != original[i]]
    plan.new_keys = store.KeyPairs.of([(target, k.block_keys) for target, k in created.items()])
    plan.merged_keys = store.KeyPairs.of(merged_keys)


async def _apply(conn: asyncpg.Connection, plan: _Plan) -> None:
    await store.copy_rows(conn, "postings", store.POSTING_COLUMNS, [plan.catalog[i] for i in plan.created])
    await store.update_rows(conn, "postings", store.POSTING_COLUMNS, plan.changed)
    await store.copy_keys(conn, plan.new_keys, plan.agency_keys)
    await store.add_keys(conn, plan.merged_keys, plan.agency_keys)
    await store.copy_rows(conn, "posting_sources", store.SOURCE_COLUMNS, plan.new_listings)
    await store.update_rows(conn, "posting_sources", store.SOURCE_COLUMNS, plan.changed_listings,
                            fixed=("id", "source", "external_id"))
    await store.delete_content(conn, plan.stale_content)
    await store.copy_rows(conn, "posting_content", store.CONTENT_COLUMNS, plan.content)


def _match(k: DedupKeys, keys_of: dict[int, DedupKeys],
           by_key: dict[int, list[int]]) -> tuple[int | None, str | None, float | None]:
    """The best-scoring candidate sharing a blocking key with `k`, if it is a duplicate."""
    shared = by_key.keys() & k.lookup_keys
    if not shared:
        return None, None, None
    best: tuple[float, int, str] | None = None
    for pid in sorted({pid for key in shared for pid in by_key[key]}):
        decision = decide(k, keys_of[pid])
        if decision.duplicate and (best is None or decision.score > best[0]):
            best = (decision.score, pid, decision.reason)
    if best is None:
        return None, None, None
    return best[1], best[2], best[0]


def _result(external_id: str, target: int, listing, created: dict, rule, score,  # noqa: ANN001
            content_changed: bool, before: CanonicalPosting | None, after: CanonicalPosting) -> IngestResult:
    if listing is None:
        if target in created and rule is None:
            return IngestResult(external_id=external_id, posting_id=target, outcome="new")
        return IngestResult(external_id=external_id, posting_id=target, outcome="duplicate", duplicate_of=target,
                            rule=rule, score=score)
    moved = before is not None and msgspec.structs.replace(after, last_seen_at=before.last_seen_at) != before
    return IngestResult(external_id=external_id, posting_id=target,
                        outcome="updated" if moved or content_changed else "unchanged", rule="listing")
