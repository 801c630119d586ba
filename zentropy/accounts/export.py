"""A user's data export (`GET /api/v1/me/export`; the format is documented in docs/privacy.md).

Every tenant table is read in the user's tenant context, so row-level security bounds the export
to the user's rows whatever the query says. Rows are rendered by PostgreSQL (`to_jsonb`):
timestamps as ISO 8601, arrays as arrays, numerics as numbers. Withheld columns (secrets, hashes,
binary data: `tables.is_withheld`) never leave the database, and `withheld` names them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import text

from zentropy.accounts.tables import TenantTable, quote, tenant_tables
from zentropy.db import Database, tenant

FORMAT = "zentropy-export/1"

class LLMKeyStored(msgspec.Struct, kw_only=True):
    provider: str
    stored: bool = True  # the key itself is never exported
    created_at: str | None = None
    updated_at: str | None = None


class Export(msgspec.Struct, kw_only=True):
    format: str
    exported_at: datetime
    user_id: uuid.UUID
    profile: dict[str, Any] | None
    linked_accounts: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    preferences: dict[str, Any] | None
    llm_keys: list[LLMKeyStored]
    llm_usage: list[dict[str, Any]]
    tables: dict[str, list[dict[str, Any]]]
    withheld: dict[str, list[str]]


def _rows_query(table: TenantTable) -> Any:
    order = ", ".join(quote(c) for c in table.primary_key) or "1"
    return text(
        f"SELECT coalesce(jsonb_agg(to_jsonb(t) - CAST(:withheld AS text[]) ORDER BY {order}), '[]'::jsonb) "
        f"FROM {quote(table.name)} t WHERE {quote(table.tenant_column)} = :user_id"
    )


async def user_rows(db: Database, user_id: uuid.UUID) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    """Every tenant table's rows of `user_id` (withheld columns left out), and what was left out."""
    rows: dict[str, list[dict[str, Any]]] = {}
    withheld: dict[str, list[str]] = {}
    with tenant(user_id):
        async with db.session() as s:
            await s.execute(text("SET LOCAL TimeZone = 'UTC'"))
            for table in await tenant_tables(s):
                hidden = list(table.withheld)
                found = (await s.execute(_rows_query(table), {"withheld": hidden, "user_id": user_id})).scalar_one()
                rows[table.name] = msgspec.json.decode(found) if isinstance(found, str | bytes) else found
                if hidden:
                    withheld[table.name] = hidden
    return rows, withheld


async def export_user(db: Database, user_id: uuid.UUID) -> Export:
    tables, withheld = await user_rows(db, user_id)
    profile = tables.pop("users", [])
    preferences = tables.pop("user_preferences", [])
    keys = tables.pop("llm_user_keys", [])
    return Export(
        format=FORMAT,
        exported_at=datetime.now(UTC),
        user_id=user_id,
        profile=profile[0] if profile else None,
        linked_accounts=tables.pop("accounts", []),
        sessions=tables.pop("sessions", []),
        preferences=preferences[0] if preferences else None,
        llm_keys=[LLMKeyStored(provider=k["provider"], created_at=k.get("created_at"), updated_at=k.get("updated_at"))
                  for k in keys],
        llm_usage=tables.pop("llm_usage", []),
        tables=tables,
        withheld=withheld,
    )
