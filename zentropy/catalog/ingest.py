"""Ingest a page of postings from one source into the shared catalog: normalize, dedup, merge,
upsert. The tier engine calls it after each source page.

`await ingest(runtime, source_info, postings)` -> `IngestReport` with, per posting, `new`,
`duplicate` (of which posting, by which rule), `updated` or `unchanged`.

- Batched: a fixed number of statements per write, whatever its size: COPY for new rows, one
  `unnest` UPDATE per table for changed ones.
- Group commit: pages that arrive while another write of this process is in flight (the worker
  runs several searches at once) wait for it, then go into the database together, in one
  transaction; a page whose write fails is tried again alone, so it fails alone.
- Idempotent: replaying a page changes nothing (with the same clock, not a byte; later, only the
  "last seen" times and, past the hour, the content's expiry move).
- Safe under concurrency: the catalog-writing part holds a transaction-level advisory lock, so two
  workers never both create the same posting; normalizing happens before, outside the lock.
- Content (description, HTML, raw payload) goes to `posting_content`, one row per listing, expiring
  `source_info.content_ttl_seconds` after the fetch (rounded down to the hour); metadata stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timezone
from hashlib import blake2b

import asyncpg
import msgspec
from sqlalchemy.exc import DBAPIError

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


def company_aliases(runtime) -> CompanyAliases:  # noqa: ANN001 - zentropy.runtime.Runtime
    """The alias table: built-in entries plus every plugin's `register_company_aliases`."""
    if _ALIASES not in runtime.extras:
        runtime.extras[_ALIASES] = CompanyAliases.from_plugins(runtime.plugins)
    return runtime.extras[_ALIASES]


def _partitions(runtime) -> PartitionCache:  # noqa: ANN001
    return runtime.extras.setdefault(_PARTITIONS, PartitionCache())


class _Prepared(msgspec.Struct):
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


def _prepare(source: str, postings: Sequence[Posting], aliases: CompanyAliases, now: datetime,
             ttl_seconds: int) -> tuple[list[_Prepared], int]:
    """Valid postings, the last of each external_id, with their keys; and how many were skipped."""
    last: dict[str, Posting] = {}
    for p in postings:
        if p.external_id and p.title and p.title.strip():
            last.pop(p.external_id, None)
            last[p.external_id] = p
    kept = list(last.values())
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
    return prepared, len(postings) - len(kept)


class _Page:
    def __init__(self, prepared: list[_Prepared]) -> None:
        self.prepared = prepared
        self.listings = {item.listing for item in prepared}
        self.results: list[IngestResult] | None = None


class GroupWriter:
    """This process's pages waiting to be written, and the lock its writes take turns with. The
    page that gets the lock writes every waiting page with it (up to `limit` postings), except
    pages with a listing already in the batch: those go in the next write."""

    limit = 2000

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting: list[_Page] = []

    def batch(self, first: _Page) -> list[_Page]:
        pages, listings, size = [first], set(first.listings), len(first.prepared)
        for page in list(self.waiting):
            if page is first or size + len(page.prepared) > self.limit or not listings.isdisjoint(page.listings):
                continue
            pages.append(page)
            listings |= page.listings
            size += len(page.prepared)
        self.waiting = [page for page in self.waiting if page not in pages]
        return pages


def _writer(runtime) -> GroupWriter:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    writer = runtime.extras.get(_WRITER)
    if writer is None or writer[0] is not loop:  # an asyncio.Lock belongs to one event loop
        writer = runtime.extras[_WRITER] = (loop, GroupWriter())
    return writer[1]


async def ingest(runtime, source_info: SourceInfo, postings: Sequence[Posting], *,  # noqa: ANN001
                 now: datetime | None = None, content_ttl_seconds: int | None = None) -> IngestReport:
    """Place `postings` (one page of `source_info`'s) in the catalog. `now` is the fetch time
    (default: the clock); `content_ttl_seconds` overrides the source's content TTL."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    ttl = content_ttl(runtime, source_info) if content_ttl_seconds is None else content_ttl_seconds
    prepared, skipped = _prepare(source_info.name, postings, company_aliases(runtime), now, ttl)
    if not prepared:
        return IngestReport.of(source_info.name, [], skipped)
    writer, page = _writer(runtime), _Page(prepared)
    writer.waiting.append(page)
    try:
        async with writer.lock:
            if page.results is None:  # not written with an earlier page's batch
                await _write_batch(runtime, writer, writer.batch(page))
    finally:
        if page in writer.waiting:  # cancelled while waiting
            writer.waiting.remove(page)
    return IngestReport.of(source_info.name, page.results, skipped)


async def _write_batch(runtime, writer: GroupWriter, pages: list[_Page]) -> None:  # noqa: ANN001
    """Write `pages` in one transaction and give each its results. If that fails, or the first
    page's caller is cancelled, the other pages go back to waiting; a failure is then tried with
    the first page alone, whose caller sees its error."""
    try:
        results = await _write_with_partitions(runtime, [item for page in pages for item in page.prepared])
    except asyncio.CancelledError:
        writer.waiting[:0] = pages[1:]
        raise
    except Exception:
        if len(pages) == 1:
            raise
        writer.waiting[:0] = pages[1:]
        await _write_batch(runtime, writer, pages[:1])
        return
    start = 0
    for page in pages:
        page.results = results[start: start + len(page.prepared)]
        start += len(page.prepared)


async def _write_with_partitions(runtime, prepared: list[_Prepared]) -> list[IngestResult]:  # noqa: ANN001
    hours = {item.expires_at for item in prepared if item.expires_at is not None}
    partitions = _partitions(runtime)
    for attempt in (1, 2):
        await partitions.ensure(runtime.db.engine, hours)
        try:
            async with runtime.db.session() as session:
                return await _write(session, prepared, runtime.extras.setdefault(_HOT_KEYS, store.HotKeys()))
        except (DBAPIError, asyncpg.CheckViolationError) as exc:
            # a partition dropped behind this process's back (by hand, or a purge run too far): recreate, retry
            if attempt == 2 or "no partition of relation" not in str(getattr(exc, "orig", exc)):
                raise
            partitions.hours.clear()
    raise AssertionError("unreachable")


async def _write(session, prepared: list[_Prepared], hot_keys: store.HotKeys) -> list[IngestResult]:  # noqa: ANN001
    conn = await store.begin(session)
    known = await store.listings(conn, [item.listing for item in prepared])
    fresh = [item for item in prepared if item.listing not in known]
    found = await store.candidates(conn, sorted({key for item in fresh for key in item.keys.lookup_keys}), hot_keys)
    by_key, keys_of = found.by_key, found.keys_of
    matches = {item.listing: _match(item.keys, keys_of, by_key) for item in fresh}
    wanted = {listing.posting_id for listing in known.values()} | {m[0] for m in matches.values() if m[0] is not None}
    catalog = {row.id: row for row in await store.canonical_postings(conn, sorted(wanted))}
    original = dict(catalog)
    posting_ids, listing_ids = map(iter, await store.next_ids(conn, len(fresh)))

    created: dict[int, DedupKeys] = {}  # postings this write creates, and their keys
    page_keys: dict[int, list[int]] = {}  # their blocking keys: later listings may match them
    results: list[IngestResult] = []
    new_listings: list[store.Listing] = []
    changed_listings: list[store.Listing] = []
    new_keys: list[tuple[int, int]] = []  # of created postings: COPY
    merged_keys: list[tuple[int, int]] = []  # of listings merged into existing postings: may exist
    stale_content: list[tuple[int, datetime]] = []
    content: list[store.Content] = []

    for item in prepared:
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
        if target in created:
            for key in k.block_keys:
                page_keys.setdefault(key, []).append(target)

        if listing is None:
            listing_id = next(listing_ids)
            new_listings.append(store.Listing(
                id=listing_id, source=item.source, external_id=p.external_id, posting_id=target, title=p.title,
                company=p.company, source_url=p.source_url, apply_url=p.apply_url, match_rule=rule or "new",
                match_score=score, content_hash=item.content_hash, content_expires_at=item.expires_at,
                first_seen_at=now, last_seen_at=now,
            ))
            content_changed = item.expires_at is not None
            if target in created:
                new_keys.extend((key, target) for key in k.block_keys)
            else:  # the keys it was found by are already there
                merged_keys.extend((key, target) for key in k.block_keys
                                   if key not in found.hot and target not in by_key.get(key, ()))
        else:
            listing_id = listing.id
            keep_old = (item.content_hash == listing.content_hash and listing.content_expires_at is not None
                        and item.expires_at is not None and listing.content_expires_at >= item.expires_at)
            content_changed = item.expires_at is not None and not keep_old
            if content_changed and listing.content_expires_at is not None:
                stale_content.append((listing.id, listing.content_expires_at))
            updated = msgspec.structs.replace(
                listing, title=p.title, company=p.company, source_url=p.source_url, apply_url=p.apply_url,
                content_hash=item.content_hash if content_changed else listing.content_hash,
                content_expires_at=item.expires_at if content_changed else listing.content_expires_at,
                last_seen_at=max(listing.last_seen_at, now),
            )
            if updated != listing:
                changed_listings.append(updated)
                if (updated.title, updated.company, updated.apply_url, updated.content_hash) != (
                        listing.title, listing.company, listing.apply_url, listing.content_hash):
                    merged_keys.extend((key, target) for key in k.block_keys)
        if content_changed:
            content.append(store.Content(
                source_id=listing_id, posting_id=target, fetched_at=now, expires_at=item.expires_at,
                description_text=p.description_text or "", description_html=p.description_html,
                raw=item.raw_json,
            ))
        results.append(_result(p.external_id, target, listing, created, rule, score, content_changed,
                               original.get(target), catalog[target]))

    await store.copy_rows(conn, "postings", store.POSTING_COLUMNS, [catalog[i] for i in created])
    await store.update_rows(conn, "postings", store.POSTING_COLUMNS,
                            [row for i, row in catalog.items() if i in original and row != original[i]])
    await store.copy_rows(conn, "posting_keys", store.KEY_COLUMNS, list(dict.fromkeys(new_keys)))
    await store.add_keys(conn, list(dict.fromkeys(merged_keys)))
    await store.copy_rows(conn, "posting_sources", store.SOURCE_COLUMNS, new_listings)
    await store.update_rows(conn, "posting_sources", store.SOURCE_COLUMNS, changed_listings,
                            fixed=("id", "source", "external_id"))
    await store.delete_content(conn, stale_content)
    await store.copy_rows(conn, "posting_content", store.CONTENT_COLUMNS, content)
    return results


def _match(k: DedupKeys, keys_of: dict[int, DedupKeys],
           by_key: dict[int, list[int]]) -> tuple[int | None, str | None, float | None]:
    """The best-scoring candidate sharing a blocking key with `k`, if it is a duplicate."""
    candidates = sorted({pid for key in k.lookup_keys for pid in by_key.get(key, ())})
    best: tuple[float, int, str] | None = None
    for pid in candidates:
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
