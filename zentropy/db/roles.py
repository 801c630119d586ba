"""The service role: owns nothing, cannot bypass RLS, may read and write the tables.

`zentropy db upgrade` runs migrations as the owner, then `provision_app_role` creates or updates
the service role and grants it what it needs. Idempotent.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def provision_app_role(conn: AsyncConnection, role: str, password: str | None) -> None:
    quoted = conn.dialect.identifier_preparer.quote(role)
    exists = (await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})).scalar()
    verb = "ALTER" if exists else "CREATE"
    options = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
    if password:
        literal = password.replace("'", "''")
        options += f" PASSWORD '{literal}'"
    await conn.execute(text(f"{verb} ROLE {quoted} {options}"))
    database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    db_quoted = conn.dialect.identifier_preparer.quote(database)
    for statement in (
        f"GRANT CONNECT ON DATABASE {db_quoted} TO {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}",
    ):
        await conn.execute(text(statement))
