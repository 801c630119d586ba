"""Deleting a user: the user, every row of theirs in every tenant table, their sessions, and the
sign-in links still waiting for their address. One transaction; idempotent.

The user's row is locked first (`FOR UPDATE`), which conflicts with the key-share lock every
insert referencing the user takes: a job writing for this user either commits before the deletion
reads on (and its rows are deleted with the rest) or waits and then fails on the foreign key (the
user is gone). Every tenant table's `user_id` references `users` with ON DELETE CASCADE
(tests/tenancy/test_database.py), so nothing can be written for a deleted user afterwards.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import text

from zentropy.accounts.tables import USERS, deletion_order, quote, tenant_tables
from zentropy.db import Database, tenant


class Deleted(msgspec.Struct, kw_only=True):
    existed: bool  # false: there was no such user (already deleted); nothing was done
    rows: dict[str, int]  # rows deleted per tenant table (tables with none left out)


async def delete_user(db: Database, user_id: uuid.UUID) -> Deleted:
    rows: dict[str, int] = {}
    with tenant(user_id):
        async with db.session() as s:
            user = (await s.execute(text("SELECT email FROM users WHERE id = :u FOR UPDATE"), {"u": user_id})).first()
            if user is not None and user.email:  # before the user row goes: the function checks it
                await s.execute(text("SELECT zentropy_tenancy_forget_address(:a)"), {"a": user.email})
            for table in await deletion_order(s, await tenant_tables(s)):
                result = await s.execute(
                    text(f"DELETE FROM {quote(table.name)} WHERE {quote(table.tenant_column)} = :u"), {"u": user_id})
                if result.rowcount:
                    rows[table.name] = result.rowcount
    return Deleted(existed=USERS in rows, rows=rows)
