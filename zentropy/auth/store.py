"""Sign-in's database work. Look-ups across tenants go through the SECURITY DEFINER functions of
migration 0003; everything else runs in the tenant context of the user concerned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import delete, func, select, text, update

from zentropy.auth.contract import VerifiedIdentity
from zentropy.auth.models import Account, AuthSession
from zentropy.auth.tokens import keyed_hash, new_token
from zentropy.db import Database, tenant
from zentropy.users.models import User


class EmailOwner(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    email_verified: bool
    disabled: bool


class LiveSession(msgspec.Struct, frozen=True):
    session_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    renewed: bool
    token_hash: str
    onboarded: bool = False  # the user completed onboarding (preferences)


class NewSession(msgspec.Struct, frozen=True):
    token: str
    session_id: uuid.UUID
    expires_at: datetime


def session_hash(secret_key: str, token: str) -> str:
    return keyed_hash(secret_key, "session", token)


# -- look-ups before a tenant context exists -------------------------------------------------------
async def account_owner(db: Database, provider: str, subject: str) -> uuid.UUID | None:
    async with db.session() as s:
        return (await s.execute(text("SELECT zentropy_auth_account_owner(:p, :s)"),
                                {"p": provider, "s": subject})).scalar()


async def email_owner(db: Database, email: str) -> EmailOwner | None:
    async with db.session() as s:
        row = (await s.execute(text("SELECT * FROM zentropy_auth_user_by_email(:e)"), {"e": email})).first()
    return EmailOwner(row.user_id, row.email_verified, row.disabled) if row else None


SESSION_SQL = "SELECT session_id, user_id, expires_at, renewed, onboarded FROM zentropy_auth_session($1, $2, $3)"


async def live_session(db: Database, secret_key: str, token: str, ttl: timedelta,
                       max_age: timedelta | None = None) -> LiveSession | None:
    """The live session behind `token` (renewed when due) and whether its user is onboarded: one
    database round trip (every signed-in request makes it). `max_age`: the absolute lifetime."""
    token_hash = session_hash(secret_key, token)
    row = await db.fetchrow(SESSION_SQL, token_hash, ttl, max_age)
    if row is None:
        return None
    return LiveSession(row["session_id"], row["user_id"], row["expires_at"], row["renewed"], token_hash,
                       row["onboarded"])


# -- users and accounts -----------------------------------------------------------------------------
def _account(user_id: uuid.UUID, identity: VerifiedIdentity) -> Account:
    return Account(user_id=user_id, provider=identity.provider, subject=identity.subject,
                   email=identity.email, email_verified=identity.email_verified)


async def create_user(db: Database, identity: VerifiedIdentity) -> uuid.UUID:
    """A new user with this identity's account. The address is kept only when verified."""
    user_id = uuid.uuid4()
    verified = bool(identity.email and identity.email_verified)
    with tenant(user_id):
        async with db.session() as s:
            s.add(User(id=user_id, email=identity.email if verified else None, email_verified=verified,
                       name=identity.name, picture=identity.picture))
            await s.flush()
            s.add(_account(user_id, identity))
    return user_id


async def add_account(db: Database, user_id: uuid.UUID, identity: VerifiedIdentity) -> None:
    with tenant(user_id):
        async with db.session() as s:
            s.add(_account(user_id, identity))
            await _fill_profile(s, user_id, identity)


async def touch_account(db: Database, user_id: uuid.UUID, identity: VerifiedIdentity) -> None:
    with tenant(user_id):
        async with db.session() as s:
            await s.execute(
                update(Account)
                .where(Account.provider == identity.provider, Account.subject == identity.subject)
                .values(last_used_at=func.now(), email=identity.email, email_verified=identity.email_verified)
            )
            await _fill_profile(s, user_id, identity)


async def _fill_profile(s, user_id: uuid.UUID, identity: VerifiedIdentity) -> None:  # noqa: ANN001
    """Fill the user's empty name and picture from the identity; never overwrite what is there."""
    user = await s.get(User, user_id)
    if user is None:
        return
    user.name = user.name or identity.name
    user.picture = user.picture or identity.picture


async def is_disabled(db: Database, user_id: uuid.UUID) -> bool:
    with tenant(user_id):
        async with db.session() as s:
            disabled_at = (await s.execute(select(User.disabled_at).where(User.id == user_id))).scalar()
    return disabled_at is not None


async def linked_accounts(db: Database, user_id: uuid.UUID) -> list[Account]:
    with tenant(user_id):
        async with db.session() as s:
            return list((await s.execute(select(Account).order_by(Account.created_at))).scalars())


# -- sessions ---------------------------------------------------------------------------------------
async def create_session(db: Database, secret_key: str, user_id: uuid.UUID, *, via: str, ttl: timedelta,
                         user_agent: str | None = None, max_age: timedelta | None = None) -> NewSession:
    token = new_token()
    session_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + (ttl if max_age is None else min(ttl, max_age))
    with tenant(user_id):
        async with db.session() as s:
            s.add(AuthSession(id=session_id, user_id=user_id, token_hash=session_hash(secret_key, token), via=via,
                              user_agent=(user_agent or "")[:300] or None, expires_at=expires_at))
    return NewSession(token, session_id, expires_at)


async def end_session(db: Database, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    with tenant(user_id):
        async with db.session() as s:
            await s.execute(delete(AuthSession).where(AuthSession.id == session_id))


async def end_all_sessions(db: Database, user_id: uuid.UUID) -> int:
    with tenant(user_id):
        async with db.session() as s:
            return (await s.execute(delete(AuthSession).where(AuthSession.user_id == user_id))).rowcount


async def purge_expired(db: Database) -> int:
    async with db.session() as s:
        return (await s.execute(text("SELECT zentropy_auth_purge_expired()"))).scalar_one()


# -- magic-link tokens --------------------------------------------------------------------------------
class VerificationTokens:
    """The core's `TokenStore`: tokens bound to their address, single use, expiring."""

    def __init__(self, db: Database, secret_key: str, ttl: timedelta) -> None:
        self.db = db
        self.secret_key = secret_key
        self.ttl = ttl

    def _hash(self, address: str, token: str) -> str:
        return keyed_hash(self.secret_key, "magic-link", address, token)

    async def issue(self, address: str) -> str:
        token = new_token()
        async with self.db.session() as s:
            await s.execute(text("SELECT zentropy_auth_issue_token(:h, :a, :e)"),
                            {"h": self._hash(address, token), "a": address, "e": datetime.now(UTC) + self.ttl})
        return token

    async def consume(self, address: str, token: str) -> bool:
        if not token or len(token) > 200:
            return False
        async with self.db.session() as s:
            bound = (await s.execute(text("SELECT zentropy_auth_consume_token(:h)"),
                                     {"h": self._hash(address, token)})).scalar()
        return bound == address
