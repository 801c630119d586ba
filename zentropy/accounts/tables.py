"""Which tables hold a user's data, read from the database itself.

A *tenant table* is a table of the public schema with a `user_id` column (and `users`, whose
tenant column is `id`); every one is under forced row-level security (tests/test_rls.py). Export
and deletion discover them here at run time, so a feature's new tables are exported and deleted
without any change to this package. Partitions are reached through their parent.
"""

from __future__ import annotations

import graphlib

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

USERS = "users"

# Never exported: secrets and what is derived from them. Exact names, name endings, and every
# binary (bytea) column (encrypted provider keys, hashes, signatures).
WITHHELD_NAMES = frozenset({"token_hash", "ciphertext", "secret", "password", "token", "api_key"})
WITHHELD_SUFFIXES = ("_hash", "_secret", "_ciphertext", "_password")

DISCOVER = text("""
SELECT c.relname AS name,
       array_agg(a.attname::text ORDER BY a.attnum) AS columns,
       array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) AS types,
       coalesce((SELECT array_agg(k.attname::text ORDER BY array_position(i.indkey::int2[], k.attnum))
                 FROM pg_index i JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.oid AND i.indisprimary), '{}') AS primary_key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND (c.relname = 'users' OR EXISTS (
        SELECT 1 FROM pg_attribute u WHERE u.attrelid = c.oid AND u.attname = 'user_id' AND NOT u.attisdropped))
GROUP BY c.oid, c.relname
ORDER BY c.relname
""")

# (referencing table, referenced table) among tenant tables, to delete children first.
REFERENCES = text("""
SELECT DISTINCT src.relname AS child, dst.relname AS parent
FROM pg_constraint k
JOIN pg_class src ON src.oid = k.conrelid
JOIN pg_class dst ON dst.oid = k.confrelid
JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = 'public'
WHERE k.contype = 'f' AND src.oid <> dst.oid
""")


class TenantTable(msgspec.Struct, frozen=True):
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    primary_key: tuple[str, ...]

    @property
    def tenant_column(self) -> str:
        return "id" if self.name == USERS else "user_id"

    @property
    def withheld(self) -> tuple[str, ...]:
        return tuple(c for c, t in zip(self.columns, self.types, strict=True) if is_withheld(c, t))


def is_withheld(column: str, type_name: str) -> bool:
    return column in WITHHELD_NAMES or column.endswith(WITHHELD_SUFFIXES) or type_name == "bytea"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def tenant_tables(session: AsyncSession | AsyncConnection) -> list[TenantTable]:
    rows = (await session.execute(DISCOVER)).all()
    return [TenantTable(r.name, tuple(r.columns), tuple(r.types), tuple(r.primary_key)) for r in rows]


async def deletion_order(session: AsyncSession | AsyncConnection, tables: list[TenantTable]) -> list[TenantTable]:
    """Tenant tables, each before the tables it references (so `users` comes last)."""
    by_name = {t.name: t for t in tables}
    graph: dict[str, set[str]] = {name: set() for name in by_name}
    for child, parent in (await session.execute(REFERENCES)).all():
        if child in by_name and parent in by_name:
            graph[parent].add(child)  # the parent waits for its children
    return [by_name[name] for name in graphlib.TopologicalSorter(graph).static_order()]
