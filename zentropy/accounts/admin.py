"""Administration of users (the `zentropy users` command).

The command connects as the schema owner (DATABASE_URL, like `zentropy db upgrade`). Listing and
finding users crosses tenants: it reads `users` and `sessions` through the owner's
`definer_access_select` policies (migration 0003). Everything done to *one* user runs in that
user's tenant context, so row-level security admits that user's rows and no one else's, exactly as
for the service; these functions therefore work on the service role's `Database` too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from sqlalchemy import text

from zentropy.accounts.tables import quote, tenant_tables
from zentropy.db import Database, tenant
from zentropy.llm.metering import month_cost


class UserSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str | None
    name: str | None
    created_at: datetime
    disabled_at: datetime | None
    live_sessions: int
    last_seen_at: datetime | None


class LinkedAccount(msgspec.Struct, kw_only=True):
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    linked_at: datetime
    last_used_at: datetime


class UserDetail(UserSummary, kw_only=True):
    email_verified: bool
    onboarded: bool
    accounts: list[LinkedAccount]
    own_llm_keys: list[str]  # providers with a stored key (never the key)
    llm_cost_this_month_usd: float
    rows: dict[str, int]  # the user's rows per tenant table
    quotas: dict[str, object] | None = None


class Disabled(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    disabled: bool
    sessions_ended: int


SUMMARY = """
SELECT u.id, u.email, u.name, u.created_at, u.disabled_at,
       (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > now()) AS live_sessions,
       (SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen_at
FROM users u
"""


async def list_users(db: Database, *, email: str | None = None, disabled: bool | None = None,
                     limit: int = 100) -> list[UserSummary]:
    """Users, newest first; `email` filters by a part of the address (case-insensitive)."""
    where, params = ["true"], {"limit": limit}
    if email:
        where.append("u.email ILIKE :email")
        params["email"] = "%" + email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if disabled is not None:
        where.append("u.disabled_at IS NOT NULL" if disabled else "u.disabled_at IS NULL")
    query = text(SUMMARY + f" WHERE {' AND '.join(where)} ORDER BY u.created_at DESC, u.id LIMIT :limit")
    async with db.session() as s:
        rows = (await s.execute(query, params)).all()
    return [UserSummary(**row._mapping) for row in rows]


async def find_user(db: Database, ref: str) -> uuid.UUID | None:
    """The user `ref` names: a user id, or an email address (case-insensitive)."""
    try:
        user_id = uuid.UUID(ref)
    except ValueError:
        async with db.session() as s:
            return (await s.execute(text("SELECT id FROM users WHERE lower(email) = lower(:e)"), {"e": ref})).scalar()
    with tenant(user_id):
        async with db.session() as s:
            return (await s.execute(text("SELECT id FROM users WHERE id = :u"), {"u": user_id})).scalar()


async def show_user(db: Database, user_id: uuid.UUID) -> UserDetail | None:
    with tenant(user_id):
        async with db.session() as s:
            user = (await s.execute(text(SUMMARY + " WHERE u.id = :u"), {"u": user_id})).first()
            if user is None:
                return None
            extra = (await s.execute(text(
                "SELECT u.email_verified, EXISTS (SELECT 1 FROM user_preferences p WHERE p.user_id = u.id "
                "AND p.completed_at IS NOT NULL) AS onboarded FROM users u WHERE u.id = :u"), {"u": user_id})).one()
            accounts = (await s.execute(text(
                "SELECT provider, subject, email, email_verified, created_at AS linked_at, last_used_at "
                "FROM accounts WHERE user_id = :u ORDER BY created_at"), {"u": user_id})).all()
            keys = (await s.execute(text("SELECT provider FROM llm_user_keys WHERE user_id = :u ORDER BY provider"),
                                    {"u": user_id})).scalars().all()
            rows = {}
            for table in await tenant_tables(s):
                count = (await s.execute(text(f"SELECT count(*) FROM {quote(table.name)} "
                                              f"WHERE {quote(table.tenant_column)} = :u"), {"u": user_id})).scalar_one()
                if count:
                    rows[table.name] = count
    return UserDetail(
        **user._mapping, email_verified=extra.email_verified, onboarded=extra.onboarded,
        accounts=[LinkedAccount(**a._mapping) for a in accounts], own_llm_keys=list(keys),
        llm_cost_this_month_usd=await month_cost(db, user_id), rows=rows, quotas=await quotas_of(db, user_id),
    )


async def set_disabled(db: Database, user_id: uuid.UUID, disabled: bool) -> Disabled | None:
    """Disable (every session ends at once; sign-in is refused) or enable a user."""
    with tenant(user_id):
        async with db.session() as s:
            found = (await s.execute(text(
                "UPDATE users SET disabled_at = CASE WHEN :d THEN coalesce(disabled_at, now()) END "
                "WHERE id = :u RETURNING id"), {"d": disabled, "u": user_id})).scalar()
            if found is None:
                return None
            ended = 0
            if disabled:
                ended = (await s.execute(text("DELETE FROM sessions WHERE user_id = :u"), {"u": user_id})).rowcount
    return Disabled(user_id=user_id, disabled=disabled, sessions_ended=ended)


KEEP = object()  # a quota left as it is


class _QuotaRuntime:
    """What zentropy.quotas needs of a runtime: the database, and a place for its settings."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.extras: dict[str, object] = {}


async def quotas_of(db: Database, user_id: uuid.UUID) -> dict[str, object]:
    from zentropy.quotas.models import UserQuota
    from zentropy.quotas.service import usage

    view = await usage(_QuotaRuntime(db), user_id)
    with tenant(user_id):
        async with db.session() as s:
            own = await s.get(UserQuota, user_id)
    return {
        "searches_per_day": view.searches.limit, "searches_used_today": view.searches.used,
        "premium_calls_per_month": view.premium_calls.limit, "premium_calls_used_this_month": view.premium_calls.used,
        "own": {"searches_per_day": own.searches_per_day if own else None,
                "premium_calls_per_month": own.premium_calls_per_month if own else None},
    }


async def set_quotas(db: Database, user_id: uuid.UUID, *, searches_per_day: object = KEEP,
                     premium_calls_per_month: object = KEEP) -> dict[str, object]:
    """Give a user quotas of their own: a number, None for the configured default, KEEP to leave it."""
    from zentropy.quotas.models import UserQuota
    from zentropy.quotas.service import set_user_quotas

    with tenant(user_id):
        async with db.session() as s:
            own = await s.get(UserQuota, user_id)
    current = {"searches_per_day": own.searches_per_day if own else None,
               "premium_calls_per_month": own.premium_calls_per_month if own else None}
    given = {"searches_per_day": searches_per_day, "premium_calls_per_month": premium_calls_per_month}
    await set_user_quotas(_QuotaRuntime(db), user_id,
                          **{k: current[k] if v is KEEP else v for k, v in given.items()})  # type: ignore[arg-type]
    return await quotas_of(db, user_id)
