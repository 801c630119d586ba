"""Row-level security for tenant tables, used by migrations.

A tenant table carries `user_id`; its policy admits only rows of the user set in the transaction
(`zentropy_current_user()`), for reads and writes alike, and FORCE applies it to the owner too.
"""

from __future__ import annotations

from alembic import op

CURRENT_USER_FUNCTION = """
CREATE OR REPLACE FUNCTION zentropy_current_user() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('zentropy.user_id', true), '')::uuid $$
"""


def enable_tenant_rls(table: str, column: str = "user_id") -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING ({column} = zentropy_current_user()) "
        f"WITH CHECK ({column} = zentropy_current_user())"
    )


def disable_tenant_rls(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
