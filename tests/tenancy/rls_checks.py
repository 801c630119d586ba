"""Row-level security checked as the service role, over every tenant table the database has.

For each tenant table holding rows of two of the given users A and B (as the owner sees them):
- with no tenant set the service role sees none of its rows;
- as A it sees exactly A's rows, none of B's;
- as A, updating or deleting B's rows touches nothing;
- as A, moving A's row to B, or inserting a copy of it for B, is refused by the policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from zentropy.accounts.tables import TenantTable, quote, tenant_tables
from zentropy.db import Database, tenant


async def owner_counts(owner_engine, table: TenantTable, users: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:  # noqa: ANN001
    async with owner_engine.connect() as conn:
        await conn.execute(text("SET LOCAL row_security = off"))
        rows = (await conn.execute(text(
            f"SELECT {quote(table.tenant_column)} AS u, count(*) AS n FROM {quote(table.name)} "
            f"WHERE {quote(table.tenant_column)} = ANY(:users) GROUP BY 1"), {"users": list(users)})).all()
    return {r.u: r.n for r in rows}


async def _refused(db: Database, user: uuid.UUID, statement: str, params: dict) -> str:
    """The error the service role gets for `statement` as `user` (rolled back either way)."""
    with tenant(user):
        try:
            async with db.sessionmaker() as s:
                await s.execute(text(statement), params)
                await s.rollback()
        except DBAPIError as exc:
            return str(exc.orig)
    return ""


async def check_table(db: Database, owner_engine, table: TenantTable, a: uuid.UUID, b: uuid.UUID) -> None:  # noqa: ANN001
    counts = await owner_counts(owner_engine, table, [a, b])
    name, col = quote(table.name), quote(table.tenant_column)
    async with db.session() as s:
        assert (await s.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one() == 0, table.name
    with tenant(a):
        async with db.sessionmaker() as s:
            seen = (await s.execute(text(f"SELECT count(*), count(*) FILTER (WHERE {col} <> :a) FROM {name}"),
                                    {"a": a})).one()
            assert tuple(seen) == (counts.get(a, 0), 0), (table.name, tuple(seen), counts)
            updated = await s.execute(text(f"UPDATE {name} SET {col} = {col} WHERE {col} = :b"), {"b": b})
            deleted = await s.execute(text(f"DELETE FROM {name} WHERE {col} = :b"), {"b": b})
            assert (updated.rowcount, deleted.rowcount) == (0, 0), table.name
            await s.rollback()
    if counts.get(a):
        moved = await _refused(db, a, f"UPDATE {name} SET {col} = :b WHERE {col} = :a", {"a": a, "b": b})
        assert "row-level security" in moved, (table.name, moved)
        copied = await _refused(
            db, a, f"INSERT INTO {name} SELECT (jsonb_populate_record(NULL::{name}, "
                   f"to_jsonb(r) || jsonb_build_object('{table.tenant_column}', CAST(:b AS text)))).* "
                   f"FROM {name} r WHERE r.{col} = :a LIMIT 1", {"a": a, "b": str(b)})
        assert "row-level security" in copied, (table.name, copied)
    assert await owner_counts(owner_engine, table, [a, b]) == counts, table.name  # nothing changed


async def check_every_tenant_table(db: Database, owner_engine, users: list[uuid.UUID]) -> dict[str, bool]:  # noqa: ANN001
    """Run `check_table` on every tenant table for a pair of `users` with rows there (or any pair).
    Returns, per table, whether it held rows to try the writes on."""
    async with db.session() as s:
        tables = await tenant_tables(s)
    exercised = {}
    for table in tables:
        counts = await owner_counts(owner_engine, table, users)
        holders = sorted(counts, key=lambda u: -counts[u])
        a = holders[0] if holders else users[0]
        b = next((u for u in holders if u != a), next(u for u in users if u != a))
        await check_table(db, owner_engine, table, a, b)
        exercised[table.name] = bool(holders)
    return exercised
