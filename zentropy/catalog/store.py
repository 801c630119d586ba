"""Batched SQL on the catalog tables: a few statements per page of postings, whatever its size.

New rows (postings, listings, contents, blocking keys) are written with COPY, the fastest way
into PostgreSQL; changed rows are updated from column arrays through `unnest` (array-valued
columns travel as array literals, cast back per row). Statements run on an asyncpg connection of
the hot pool, in the ingest's transaction (`begin_write`, `snapshot_epoch`): through SQLAlchemy
each would cost about half a millisecond more, several times what the database spends on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import Any

import asyncpg
import msgspec
import numpy as np

from zentropy.dedup.keys import DedupKeys
from zentropy.dedup.merge import CanonicalPosting

INGEST_LOCK = 7361029384756  # pg_advisory_xact_lock key: one ingest writes the catalog at a time
HOT_KEY = 8  # a blocking key with this many postings is boilerplate (or bulk posting), not evidence

POSTING_COLUMNS: dict[str, str] = {  # column -> type
    "id": "bigint", "title": "text", "company": "text", "locations": "text[]", "country": "text",
    "remote": "text", "salary_min": "float8", "salary_max": "float8", "salary_currency": "text",
    "salary_period": "text", "salary_predicted": "boolean", "employment_type": "text",
    "posted_at": "timestamptz", "source_url": "text", "apply_url": "text", "apply_url_rank": "smallint",
    "apply_url_key": "text", "tags": "text[]", "category": "text", "title_key": "text", "seniority": "text",
    "company_key": "text", "agency": "boolean", "location_keys": "text[]", "signature": "bytea",
    "shingles": "integer", "fingerprint_version": "smallint", "description_length": "integer",
    "first_seen_at": "timestamptz", "last_seen_at": "timestamptz", "content_expires_at": "timestamptz",
}
SOURCE_COLUMNS: dict[str, str] = {
    "id": "bigint", "source": "text", "external_id": "text", "posting_id": "bigint", "title": "text",
    "company": "text", "source_url": "text", "apply_url": "text", "match_rule": "text", "match_score": "float8",
    "content_hash": "bytea", "content_expires_at": "timestamptz", "first_seen_at": "timestamptz",
    "last_seen_at": "timestamptz",
}
CONTENT_COLUMNS: dict[str, str] = {
    "source_id": "bigint", "posting_id": "bigint", "fetched_at": "timestamptz", "expires_at": "timestamptz",
    "description_text": "text", "description_html": "text", "raw": "jsonb",
}
KEY_COLUMNS: dict[str, str] = {"key": "bigint", "posting_id": "bigint"}


class Listing(msgspec.Struct, kw_only=True, gc=False):
    """A row of `posting_sources`."""

    id: int
    source: str
    external_id: str
    posting_id: int
    title: str
    company: str | None
    source_url: str | None
    apply_url: str | None
    match_rule: str
    match_score: float | None
    content_hash: bytes | None
    content_expires_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime


class Content(msgspec.Struct, kw_only=True, gc=False):
    source_id: int
    posting_id: int
    fetched_at: datetime
    expires_at: datetime
    description_text: str
    description_html: str | None
    raw: str | None  # JSON text


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal of text: `{"a b","c\\"d"}`."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


# Every statement of the ingest reads by index, one probe per key or id: said outright, so that no
# plan depends on statistics. PostgreSQL makes a generic plan at a statement's sixth run on a
# connection; made while the catalog was nearly empty, it probed `posting_keys` with a scan per key
# once the catalog had grown (2 s per page at 5,000 postings). And a one-key probe costs about
# half as much as a plain (index-only) scan as it does as a bitmap scan.
INGEST_SETTINGS = {"synchronous_commit": "off", "enable_seqscan": "off", "enable_bitmapscan": "off"}


def _set_locally(settings: dict[str, str]) -> str:
    """SQL select-list items setting these for the transaction."""
    return ", ".join(f"set_config('{name}', '{value}', true)" for name, value in settings.items())


# The catalog epoch: a counter every ingest write moves under the lock. A batch read and decided
# before taking the lock holds if the epoch shows that no other write came in between.
# The lock is taken (and the settings set) by the sub-select, which PostgreSQL evaluates once,
# before it updates the epoch's row: one round trip.
BEGIN_WRITE = ("UPDATE catalog_epoch SET n = n + 1 WHERE (SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1::bigint), "
               + _set_locally(INGEST_SETTINGS) + ") AS taken) = 1 RETURNING n")
SNAPSHOT_EPOCH = "SELECT n, " + _set_locally(INGEST_SETTINGS) + " FROM catalog_epoch"


async def begin_write(conn: asyncpg.Connection) -> int:
    """In the connection's transaction: take the ingest lock, set `INGEST_SETTINGS` for the
    transaction and move the catalog epoch; its new value.

    The transaction commits without waiting for its WAL to reach the disk: a crash can lose the
    last few hundred milliseconds of ingested pages, which are public data fetched again by the
    next search, never a user's; in exchange a page costs no disk flush."""
    return await conn.fetchval(BEGIN_WRITE, INGEST_LOCK)


async def snapshot_epoch(conn: asyncpg.Connection) -> int:
    """The catalog epoch as the transaction's snapshot sees it (its first statement takes the
    snapshot of a REPEATABLE READ transaction), with `INGEST_SETTINGS` for the transaction."""
    return await conn.fetchval(SNAPSHOT_EPOCH)


async def next_ids(conn: asyncpg.Connection, n: int) -> tuple[list[int], list[int]]:
    """`n` new ids for postings and `n` for listings."""
    if n == 0:
        return [], []
    return tuple(await conn.fetchrow("SELECT array_agg(nextval('postings_id_seq')), "
                                     "array_agg(nextval('posting_sources_id_seq')) FROM generate_series(1, $1::int)", n))


# One unique-index probe per (source, external id), whatever the statistics say.
LISTINGS = (f"SELECT {', '.join('s.' + c for c in SOURCE_COLUMNS)} "
            "FROM unnest($1::text[], $2::text[]) AS q(source, external_id) "
            "CROSS JOIN LATERAL (SELECT * FROM posting_sources WHERE source = q.source AND external_id = q.external_id "
            "LIMIT 1) AS s")


async def listings(conn: asyncpg.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Listing]:
    """The listings already there, by (source, external id)."""
    if not keys:
        return {}
    rows = await conn.fetch(LISTINGS, [source for source, _ in keys], [external_id for _, external_id in keys])
    return {(row["source"], row["external_id"]): Listing(**row) for row in rows}


# One index probe per key, at most HOT_KEY postings each. (`key = ANY(...)` over a page's keys
# reads the index in one pass, but with stale statistics the planner scans the table instead.)
# Agency-namespace keys ($2) have a table of their own (migration 0013). The (key, posting id)
# pairs come back as one bytea of big-endian int64s, read by numpy: as rows, a batch's few
# thousand cost half a microsecond each to decode.
CANDIDATE_KEYS = ("SELECT string_agg(int8send(found.key) || int8send(found.posting_id), ''::bytea) FROM ("
                  "SELECT q.key, k.posting_id FROM unnest($1::bigint[]) AS q(key) "
                  "CROSS JOIN LATERAL (SELECT posting_id FROM posting_keys WHERE key = q.key LIMIT $3::int) AS k "
                  "UNION ALL SELECT q.key, k.posting_id FROM unnest($2::bigint[]) AS q(key) "
                  "CROSS JOIN LATERAL (SELECT posting_id FROM posting_agency_keys WHERE key = q.key LIMIT $3::int) AS k"
                  ") AS found")
KEY_TABLES = ("posting_keys", "posting_agency_keys")  # for keys outside and inside the agency namespace
CANDIDATE_ROWS = ("SELECT id, title_key, seniority, company_key, agency, location_keys, country, apply_url_key, "
                  "apply_url_rank, signature, shingles FROM postings WHERE id = ANY($1::bigint[])")


NO_KEYS = np.empty(0, dtype=np.int64)
# Rows of keys in PostgreSQL's binary COPY format, made and read by numpy
_KEY_ROW = np.dtype([("fields", ">i2"), ("key_size", ">i4"), ("key", ">i8"), ("id_size", ">i4"), ("id", ">i8")])
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"
_HOT_KEY_ROW = np.dtype([("fields", ">i2"), ("size", ">i4"), ("key", ">i8")])


class HotKeys:
    """Keys known to be hot (shared by `HOT_KEY` postings or more): not looked up again, nor stored
    for more postings. Those recorded in `hot_keys` by any process, loaded at this process's first
    look-up, and those its look-ups found since. Knowing too few costs look-ups, never a
    duplicate, and a key once hot stays hot (blocking keys are never deleted)."""

    limit = 1 << 22  # 32 MB as an array; past it, some are forgotten
    recent_limit = 1 << 16  # found since the last merge into `sorted` (each add copies them)

    def __init__(self) -> None:
        self.loaded = False
        self.sorted = NO_KEYS  # loaded, and merged from `recent`
        self.recent = NO_KEYS  # found since (sorted): a small array to merge into, then into `sorted`
        self.unrecorded: set[int] = set()  # found by this process's look-ups, not yet in `hot_keys`

    def mask(self, keys: np.ndarray) -> np.ndarray:
        """Which of `keys` are known hot."""
        return members(keys, self.sorted) | members(keys, self.recent)

    def add(self, keys: set[int]) -> None:
        """Keys a look-up found hot."""
        self.unrecorded |= keys
        self.recent = distinct(np.concatenate([self.recent, np.fromiter(keys, np.int64, len(keys))]))
        if len(self.recent) > self.recent_limit:
            self.merge(self.recent)
            self.recent = NO_KEYS

    def merge(self, keys: np.ndarray) -> None:
        self.sorted = distinct(np.concatenate([self.sorted, keys]))[: self.limit]


async def load_hot_keys(conn: asyncpg.Connection, hot: HotKeys) -> None:
    """Read `hot_keys` into `hot` (in PostgreSQL's binary COPY format, read by numpy), unless it
    was already: once per process, at its first look-up."""
    if hot.loaded:
        return
    chunks: list[bytes] = []

    async def received(chunk: bytes) -> None:
        chunks.append(chunk)

    await conn.copy_from_query("SELECT key FROM hot_keys LIMIT $1", hot.limit, output=received, format="binary")
    data = b"".join(chunks)[len(_COPY_HEADER):-len(_COPY_TRAILER)]
    hot.merge(np.frombuffer(data, dtype=_HOT_KEY_ROW)["key"].astype(np.int64))
    hot.loaded = True


async def record_hot_keys(conn: asyncpg.Connection, keys: set[int]) -> None:
    if keys:
        await conn.execute("INSERT INTO hot_keys (key) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING", sorted(keys))


class Candidates(msgspec.Struct):
    by_key: dict[int, list[int]]  # posting ids per looked-up key (hot keys left out)
    keys_of: dict[int, DedupKeys]  # what the duplicate decision needs of each candidate
    hot: set[int]  # looked-up keys found hot


async def candidates(conn: asyncpg.Connection, lookup_keys: Sequence[int] | np.ndarray, hot: HotKeys | None = None,
                     agency_keys: np.ndarray = NO_KEYS) -> Candidates:
    """Every posting sharing one of these blocking keys, with what the duplicate decision needs
    (`agency_keys`, sorted: which of them are in the agency namespace).

    A key shared by `HOT_KEY` postings or more is skipped as boilerplate: an LSH band that a common
    paragraph (an equal-opportunity statement, an employer's About) decides, or a job posted in
    bulk. At most `HOT_KEY` rows come back per key, and keys known hot (`hot`) are not looked up
    again, so the cost of placing a posting does not grow with the catalog."""
    lookup = np.asarray(lookup_keys, dtype=np.int64)
    if hot is not None:
        await load_hot_keys(conn, hot)
    known = hot.mask(lookup) if hot is not None else np.zeros(len(lookup), dtype=bool)
    known_hot = set(lookup[known].tolist())
    wanted = lookup[~known]
    if not len(wanted):
        return Candidates({}, {}, known_hot)
    agency = members(wanted, agency_keys)
    pairs = await conn.fetchval(CANDIDATE_KEYS, wanted[~agency].tolist(), wanted[agency].tolist(), HOT_KEY)
    pairs = np.frombuffer(pairs or b"", dtype=">i8").astype(np.int64).reshape(-1, 2)
    by_key = KeyPairs.from_arrays(pairs[:, 0], pairs[:, 1]).grouped()
    found_hot = {key for key, ids in by_key.items() if len(ids) >= HOT_KEY}
    if found_hot:
        if hot is not None:
            hot.add(found_hot)
        by_key = {key: ids for key, ids in by_key.items() if key not in found_hot}
    ids = sorted({posting_id for ids in by_key.values() for posting_id in ids})
    keys_of = await _candidate_keys(conn, ids)
    if len(keys_of) < len(ids):
        by_key, keys_of = await _redirected(conn, by_key, keys_of)
    return Candidates(by_key, keys_of, found_hot | known_hot)


async def _candidate_keys(conn: asyncpg.Connection, ids: list[int]) -> dict[int, DedupKeys]:
    if not ids:
        return {}
    return {
        r[0]: DedupKeys(title_key=r[1], seniority=r[2], company_key=r[3], agency=r[4], location_keys=tuple(r[5]),
                        country=r[6], apply_url_key=r[7], apply_url_rank=r[8], signature=r[9], shingles=r[10],
                        block_keys=[])
        for r in await conn.fetch(CANDIDATE_ROWS, ids)
    }


async def _redirected(conn: asyncpg.Connection, by_key: dict[int, list[int]],
                      keys_of: dict[int, DedupKeys]) -> tuple[dict[int, list[int]], dict[int, DedupKeys]]:
    """The candidates with postings merged into others since (their keys stay in the key tables)
    replaced by the postings they went to (`posting_merges`, zentropy.catalog.merging)."""
    gone = sorted({i for ids in by_key.values() for i in ids if i not in keys_of})
    went = dict(await conn.fetch("SELECT absorbed_id, kept_id FROM posting_merges WHERE absorbed_id = ANY($1::bigint[])",
                                 gone))
    keys_of.update(await _candidate_keys(conn, sorted(set(went.values()) - keys_of.keys())))
    by_key = {key: list(dict.fromkeys(i for i in (went.get(i, i) for i in ids) if i in keys_of))
              for key, ids in by_key.items()}
    return {key: ids for key, ids in by_key.items() if ids}, keys_of


async def canonical_postings(conn: asyncpg.Connection, ids: list[int]) -> list[CanonicalPosting]:
    if not ids:
        return []
    rows = await conn.fetch(f"SELECT {', '.join(POSTING_COLUMNS)} FROM postings WHERE id = ANY($1::bigint[])", ids)
    return [CanonicalPosting(**row) for row in rows]


async def copy_rows(conn: asyncpg.Connection, table: str, columns: dict[str, str], rows: Sequence) -> None:
    """COPY new rows (structs or tuples in column order) into `table`."""
    if rows:
        if not isinstance(rows[0], tuple):
            get = attrgetter(*columns)
            rows = [get(row) for row in rows]
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


def members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which of `values` are in `sorted_set` (sorted, distinct): a boolean mask."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: what np.unique gives, which took ten times as long on a batch's keys (numpy 2.4)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def flat_keys(lists: Sequence[Sequence[int]]) -> np.ndarray:
    """Keys of many lists, in one int64 array."""
    return np.fromiter(chain.from_iterable(lists), np.int64)


class KeyPairs:
    """(blocking key, posting id) pairs, distinct and sorted by key, as two int64 arrays: a batch
    has some twenty per posting, too many to handle one by one in Python."""

    def __init__(self, keys: np.ndarray, owners: np.ndarray) -> None:
        self.keys, self.owners = keys, owners

    @classmethod
    def of(cls, keys_by_posting: Sequence[tuple[int, Sequence[int]]]) -> KeyPairs:
        lengths = [len(keys) for _, keys in keys_by_posting]
        keys = np.fromiter(chain.from_iterable(keys for _, keys in keys_by_posting), np.int64, sum(lengths))
        owners = np.repeat(np.fromiter((pid for pid, _ in keys_by_posting), np.int64, len(lengths)), lengths)
        return cls.from_arrays(keys, owners)

    @classmethod
    def from_arrays(cls, keys: np.ndarray, owners: np.ndarray) -> KeyPairs:
        """The distinct pairs of these, sorted."""
        order = np.lexsort((owners, keys))
        keys, owners = keys[order], owners[order]
        distinct = np.ones(len(keys), dtype=bool)
        distinct[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
        return cls(keys[distinct], owners[distinct])

    def __len__(self) -> int:
        return len(self.keys)

    def __add__(self, other: KeyPairs) -> KeyPairs:
        keys, owners = np.concatenate([self.keys, other.keys]), np.concatenate([self.owners, other.owners])
        order = np.argsort(keys, kind="stable")
        return KeyPairs(keys[order], owners[order])

    def __getitem__(self, mask: np.ndarray) -> KeyPairs:
        return KeyPairs(self.keys[mask], self.owners[mask])

    def split(self, agency_keys: np.ndarray) -> tuple[KeyPairs, KeyPairs]:
        """The pairs of keys outside and inside `agency_keys` (sorted): see `KEY_TABLES`."""
        inside = members(self.keys, agency_keys)
        return self[~inside], self[inside]

    def grouped(self) -> dict[int, list[int]]:
        """The posting ids of each key."""
        return self.owners_of(distinct(self.keys))

    def owners_of(self, keys: Sequence[int] | np.ndarray) -> dict[int, list[int]]:
        """The posting ids of each of `keys` that has any."""
        wanted = np.asarray(keys, dtype=np.int64)
        wanted = wanted[members(wanted, self.keys)]
        starts, ends = np.searchsorted(self.keys, wanted, "left"), np.searchsorted(self.keys, wanted, "right")
        return {key: self.owners[start:end].tolist()
                for key, start, end in zip(wanted.tolist(), starts.tolist(), ends.tolist())}


async def _sent(data: bytes) -> AsyncIterator[bytes]:
    """COPY data as an async source: asyncpg reads a file-like one through the thread pool, a
    hop to another thread and back for each read (0.3 ms a COPY)."""
    yield data


async def copy_keys(conn: asyncpg.Connection, pairs: KeyPairs, agency_keys: np.ndarray) -> None:
    """COPY new (key, posting id) pairs into their `KEY_TABLES`, in PostgreSQL's binary COPY format
    made by numpy."""
    for table, part in zip(KEY_TABLES, pairs.split(agency_keys)):
        if len(part):
            rows = np.empty(len(part), dtype=_KEY_ROW)
            rows["fields"], rows["key_size"], rows["id_size"] = 2, 8, 8
            rows["key"], rows["id"] = part.keys, part.owners
            await conn.copy_to_table(table, source=_sent(_COPY_HEADER + rows.tobytes() + _COPY_TRAILER),
                                     columns=list(KEY_COLUMNS), format="binary")


async def add_keys(conn: asyncpg.Connection, pairs: KeyPairs, agency_keys: np.ndarray) -> None:
    """Add (key, posting id) pairs that may already be there (keys of a merged listing), those
    that are not: the key tables have no unique constraint (migration 0015), and the ingest lock
    keeps any other write from adding a pair in between."""
    for table, part in zip(KEY_TABLES, pairs.split(agency_keys)):
        if len(part):
            await conn.execute(ADD_KEYS.format(table=table), part.keys.tolist(), part.owners.tolist())


ADD_KEYS = ("INSERT INTO {table} (key, posting_id) SELECT u.key, u.posting_id "
            "FROM unnest($1::bigint[], $2::bigint[]) AS u(key, posting_id) "
            "WHERE NOT EXISTS (SELECT FROM {table} t WHERE t.key = u.key AND t.posting_id = u.posting_id)")


async def update_rows(conn: asyncpg.Connection, table: str, columns: dict[str, str], rows: Sequence,
                      fixed: tuple[str, ...] = ("id",)) -> None:
    """UPDATE `table` by id from the rows' values, one statement for all rows."""
    if not rows:
        return
    names = list(columns)
    values = list(zip(*map(attrgetter(*names), rows)))
    args = [[array_literal(v) for v in column] if columns[name].endswith("[]") else list(column)
            for name, column in zip(names, values)]
    params = ", ".join(f"${i}::{'text' if t.endswith('[]') else t}[]" for i, t in enumerate(columns.values(), 1))
    sets = ", ".join(f"{c} = u.{c}::{t}" if t.endswith("[]") else f"{c} = u.{c}"
                     for c, t in columns.items() if c not in fixed)
    await conn.execute(f"UPDATE {table} t SET {sets} FROM unnest({params}) AS u({', '.join(names)}) "
                       "WHERE t.id = u.id", *args)


async def delete_content(conn: asyncpg.Connection, keys: Sequence[tuple[int, datetime]]) -> None:
    """Delete content rows by (source_id, expires_at), one statement per expiry hour (pruned to
    its partition)."""
    by_hour: dict[datetime, list[int]] = {}
    for source_id, expires_at in keys:
        by_hour.setdefault(expires_at, []).append(source_id)
    for expires_at, source_ids in by_hour.items():
        await conn.execute("DELETE FROM posting_content WHERE expires_at = $1 AND source_id = ANY($2::bigint[])",
                           expires_at, source_ids)
