"""Row-level security, checked as the service role (the role the API and worker connect as)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from zentropy.db import tenant
from zentropy.users.models import User, UserPreferences


async def make_user(db, skills: list[str]) -> uuid.UUID:
    user_id = uuid.uuid4()
    with tenant(user_id):
        async with db.session() as s:
            s.add(User(id=user_id, email=f"{user_id.hex}@example.com", email_verified=True))
            await s.flush()
            s.add(UserPreferences(user_id=user_id, skills=skills))
    return user_id


@pytest.fixture
async def two_users(runtime):
    return await make_user(runtime.db, ["python"]), await make_user(runtime.db, ["rust"])


async def rows(db, model):
    async with db.session() as s:
        return list((await s.execute(select(model))).scalars())


async def test_no_user_set_sees_no_tenant_rows(runtime, two_users):
    assert await rows(runtime.db, UserPreferences) == []
    assert await rows(runtime.db, User) == []


async def test_each_user_sees_only_their_own_rows(runtime, two_users):
    a, b = two_users
    with tenant(a):
        assert [p.skills for p in await rows(runtime.db, UserPreferences)] == [["python"]]
        assert [u.id for u in await rows(runtime.db, User)] == [a]
    with tenant(b):
        assert [p.user_id for p in await rows(runtime.db, UserPreferences)] == [b]


async def test_writing_another_users_id_is_refused(runtime, two_users):
    a, b = two_users
    with tenant(a), pytest.raises(DBAPIError, match="row-level security"):
        async with runtime.db.session() as s:
            await s.execute(text("INSERT INTO user_preferences (user_id) VALUES (:b)"), {"b": b})
    with tenant(a):
        async with runtime.db.session() as s:
            changed = await s.execute(text("UPDATE user_preferences SET skills = '{hacked}' WHERE user_id = :b"), {"b": b})
            assert changed.rowcount == 0
            deleted = await s.execute(text("DELETE FROM users WHERE id = :b"), {"b": b})
            assert deleted.rowcount == 0
    with tenant(b):
        assert [p.skills for p in await rows(runtime.db, UserPreferences)] == [["rust"]]


async def test_tenant_setting_does_not_leak_through_the_pool(runtime, two_users):
    a, _ = two_users
    async with runtime.db.engine.connect() as conn:
        # a transaction-local set_config ends with its transaction
        await conn.execute(text("SELECT set_config('zentropy.user_id', :a, true)"), {"a": str(a)})
        await conn.commit()
        leftover = (await conn.execute(text("SELECT current_setting('zentropy.user_id', true)"))).scalar()
        assert leftover in (None, "")
        assert (await conn.execute(text("SELECT count(*) FROM user_preferences"))).scalar() == 0


async def test_service_role_owns_nothing_and_cannot_bypass_rls(runtime):
    async with runtime.db.engine.connect() as conn:
        role = (await conn.execute(text(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))).one()
        assert role.rolsuper is False and role.rolbypassrls is False
        owned = (await conn.execute(text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"))).scalar()
        assert owned == 0
        with pytest.raises(DBAPIError):
            await conn.execute(text("ALTER TABLE user_preferences DISABLE ROW LEVEL SECURITY"))


async def test_every_table_with_user_id_is_under_forced_rls(owner_engine):
    async with owner_engine.connect() as conn:
        unprotected = (await conn.execute(text("""
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE c.relkind IN ('r', 'p')
              AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id'
                           AND NOT a.attisdropped) OR c.relname = 'users')
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                       AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
        """))).scalars().all()
    assert unprotected == []
