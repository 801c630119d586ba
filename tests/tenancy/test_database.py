"""What the database itself guarantees, whatever the code above it does: every table is tenant data
under row-level security or shared data documented in docs/privacy.md; tenant rows belong to a
user and go with them; and the service role sees and changes only the current tenant's rows."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from tests.conftest import ROOT
from tests.tenancy.conftest import sign_up
from tests.tenancy.rls_checks import check_every_tenant_table
from zentropy.feed.service import add_to_feed
from zentropy.llm.metering import CallRecord, record

TABLES = """
SELECT c.relname AS name,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id'
               AND NOT a.attisdropped) OR c.relname = 'users' AS tenant,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, pg_get_userbyid(c.relowner) AS owner
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'alembic_version'
ORDER BY 1
"""


async def tables(owner_engine) -> list:  # noqa: ANN001
    async with owner_engine.connect() as conn:
        return list((await conn.execute(text(TABLES))).all())


def documented_shared_tables() -> set[str]:
    """The tables docs/privacy.md lists under "Shared data"."""
    doc = (ROOT / "docs" / "privacy.md").read_text()
    section = doc.split("## Shared data", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_0-9]+)`", section, re.M))


async def test_every_table_is_tenant_data_or_documented_shared_data(owner_engine):
    found = await tables(owner_engine)
    # a content partition detached by the purge, not yet dropped, is still posting_content's
    shared = {re.sub(r"^posting_content_p\d{10}$", "posting_content", t.name) for t in found if not t.tenant}
    assert shared - documented_shared_tables() == set(), "shared tables docs/privacy.md does not explain"
    assert documented_shared_tables() - shared == set(), "docs/privacy.md lists tables that are not shared"


async def test_tenant_tables_have_exactly_the_tenant_policy_for_everyone(owner_engine, settings):
    async with owner_engine.connect() as conn:
        policies = (await conn.execute(text("""
            SELECT c.relname AS tbl, p.polname AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive,
                   ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END
                         FROM unnest(p.polroles) r) AS roles,
                   pg_get_expr(p.polqual, p.polrelid) AS using_, pg_get_expr(p.polwithcheck, p.polrelid) AS check_
            FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        """))).all()
    for table in (t for t in await tables(owner_engine) if t.tenant):
        assert table.rls and table.forced, table.name
        mine = [p for p in policies if p.tbl == table.name]
        column = "id" if table.name == "users" else "user_id"
        tenant = [p for p in mine if p.roles == ["PUBLIC"]]
        assert [(p.name, p.cmd, p.permissive, p.using_, p.check_) for p in tenant] == [
            ("tenant_isolation", "*", True, f"({column} = zentropy_current_user())",
             f"({column} = zentropy_current_user())")], table.name
        for other in (p for p in mine if p not in tenant):
            # the migration role's access for its SECURITY DEFINER functions, never the service's
            assert other.name.startswith("definer_access_") and other.roles == [table.owner], (table.name, other)
            assert settings.database_app_user not in other.roles


async def test_every_tenant_row_belongs_to_a_user_and_goes_with_them(owner_engine):
    async with owner_engine.connect() as conn:
        columns = {r.tbl: r for r in (await conn.execute(text("""
            SELECT c.relname AS tbl, a.attnotnull AS not_null,
                   (SELECT array_agg(k.confdeltype::text || ':' || k.confrelid::regclass::text)
                    FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.conkey = ARRAY[a.attnum])
                   AS refs
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        """))).all()}
    assert columns, "no tenant tables found"
    for name, column in columns.items():
        # ON DELETE CASCADE to users: a deleted user's rows go, and nothing can be written for them later
        assert column.not_null and column.refs == ["c:users"], (name, column)


async def test_shared_tables_refer_to_no_tenant_data(owner_engine):
    tenant = {t.name for t in await tables(owner_engine) if t.tenant}
    async with owner_engine.connect() as conn:
        refs = (await conn.execute(text("""
            SELECT k.conrelid::regclass::text AS src, k.confrelid::regclass::text AS dst FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE k.contype = 'f'
        """))).all()
    assert [(r.src, r.dst) for r in refs if r.dst in tenant and r.src not in tenant] == []


async def test_definer_functions_are_pinned_and_not_public(owner_engine):
    """Cross-tenant work goes through SECURITY DEFINER functions: each pins its search_path and is
    executable by the schema owner and the service role only, never by PUBLIC."""
    async with owner_engine.connect() as conn:
        functions = (await conn.execute(text("""
            SELECT p.oid::regprocedure::text AS name, p.proconfig AS config,
                   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
            WHERE p.prosecdef
        """))).all()
        assert functions
        public_role = (await conn.execute(text(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public' "
            "WHERE p.prosecdef AND EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)"))).scalar()
    for function in functions:
        assert any(c.startswith("search_path=") for c in function.config or []), function.name
    assert public_role == 0


@pytest.fixture
async def two_people(api, tenancy_inbox, tenancy_rt):
    """Two people with data in every kind of table the API writes."""
    people = []
    for _ in range(2):
        person = await sign_up(api, tenancy_inbox)
        user_id = uuid.UUID(person.user_id)
        assert (await api.put("/api/v1/me/llm-key", json={"key": f"sk-or-v1-{person.marker}-0123456789"},
                              headers=person.headers)).status_code == 200
        assert (await api.post("/api/v1/searches", json={"keywords": "python"}, headers=person.headers)).status_code == 202
        saved = await api.post("/api/v1/saved-searches", json={"name": "daily", "keywords": "go"}, headers=person.headers)
        assert saved.status_code == 201, saved.text
        assert (await api.put("/api/v1/me/sources", json={"allow_premium": True}, headers=person.headers)).status_code == 200
        await add_to_feed(tenancy_rt, user_id, uuid.UUID(saved.json()["id"]), [10**12 + len(people)])
        await record(tenancy_rt.db, CallRecord(user_id=user_id, task="extraction", provider="openrouter",
                                               model="m", latency_ms=1, status="ok"))
        people.append(user_id)
    return people


async def test_the_service_role_sees_and_changes_only_the_current_tenants_rows(runtime, owner_engine, two_people):
    exercised = await check_every_tenant_table(runtime.db, owner_engine, two_people)
    assert all(exercised[t] for t in ("users", "accounts", "sessions", "user_preferences", "llm_user_keys",
                                      "llm_usage", "searches", "saved_searches", "feed_entries")), exercised


async def test_the_service_role_reaches_sign_in_tokens_only_through_the_functions(runtime, owner_engine, api,
                                                                                 tenancy_inbox):
    await sign_up(api, tenancy_inbox)  # leaves a used magic-link token behind
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM verification_tokens"))).scalar() > 0
    async with runtime.db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM verification_tokens"))).scalar() == 0
        deleted = await s.execute(text("DELETE FROM verification_tokens"))
        assert deleted.rowcount == 0
