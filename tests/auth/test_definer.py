"""Sign-in's cross-tenant look-ups: narrow SECURITY DEFINER functions, nothing more for the service role.
Also with a migration role that is not a superuser (as on a managed database), where FORCE'd row
security applies to the functions' owner too."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.conftest import migrated_by_an_ordinary_role
from zentropy.auth import store
from zentropy.auth.contract import VerifiedIdentity
from zentropy.auth.linking import resolve_user

FUNCTIONS = ["zentropy_auth_account_owner", "zentropy_auth_user_by_email", "zentropy_auth_session",
             "zentropy_auth_issue_token", "zentropy_auth_consume_token", "zentropy_auth_purge_expired"]


async def test_functions_are_security_definer_with_a_fixed_search_path_and_no_public_execute(owner_engine, settings):
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT proname, prosecdef, proconfig, pg_get_userbyid(proowner) AS owner, proacl::text AS acl "
            "FROM pg_proc WHERE proname LIKE 'zentropy_auth_%' ORDER BY proname"))).all()
        me = (await conn.execute(text("SELECT current_user"))).scalar()
    assert sorted(r.proname for r in rows) == sorted(FUNCTIONS)
    for row in rows:
        assert row.prosecdef and row.proconfig == ["search_path=public"] and row.owner == me
        assert f"{settings.database_app_user}=X/" in row.acl
        assert "{=X/" not in row.acl and ",=X/" not in row.acl  # PUBLIC may not call them


async def test_service_role_sees_no_tokens_and_no_one_elses_sign_in_rows(runtime, settings):
    db = runtime.db
    tokens = store.VerificationTokens(db, settings.secret_key, timedelta(minutes=15))
    await tokens.issue("someone@example.com")
    someone = await resolve_user(db, VerifiedIdentity(provider="google", subject=uuid.uuid4().hex,
                                                      email=f"{uuid.uuid4().hex}@example.com", email_verified=True))
    await store.create_session(db, settings.secret_key, someone, via="google", ttl=timedelta(hours=1))
    async with db.session() as s:
        for table in ("verification_tokens", "accounts", "sessions", "users"):
            assert (await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar() == 0, table
        with pytest.raises(Exception, match="row-level security"):
            await s.execute(text("INSERT INTO verification_tokens (token_hash, address, expires_at) "
                                 "VALUES ('x', 'a@example.com', now() + interval '1 day')"))


async def test_sign_in_works_when_the_migration_role_is_not_a_superuser(server_url, settings):
    """On a managed database the owner is an ordinary role: FORCE'd RLS applies to it, and the
    definer functions still find what sign-in needs (through the `definer_access` policies)."""
    suffix = uuid.uuid4().hex[:8]
    async with migrated_by_an_ordinary_role(server_url) as (_, db):
        email = f"{suffix}@example.com"
        first = await resolve_user(db, VerifiedIdentity(provider="google", subject="g", email=email, email_verified=True))
        second = await resolve_user(db, VerifiedIdentity(provider="linkedin", subject="l", email=email,
                                                         email_verified=True))
        assert first == second  # found by verified email across tenants
        assert await resolve_user(db, VerifiedIdentity(provider="google", subject="g")) == first
        session = await store.create_session(db, "k" * 40, first, via="google", ttl=timedelta(hours=1))
        live = await store.live_session(db, "k" * 40, session.token, timedelta(hours=1))
        assert live is not None and live.user_id == first
        tokens = store.VerificationTokens(db, "k" * 40, timedelta(minutes=15))
        token = await tokens.issue(email)
        assert await tokens.consume(email, token) and not await tokens.consume(email, token)
        assert await store.purge_expired(db) == 0
