"""accounts, sessions, verification tokens (issue: sign-in).

Sign-in happens before a tenant context exists, so the few cross-tenant look-ups it needs are
narrow SECURITY DEFINER functions owned by the migration role. Because tenant tables FORCE row
security on their owner too, the migration role gets policies (`definer_access`) that admit it to
exactly the tables and commands those functions use; the service role gains nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from zentropy.db.rls import enable_tenant_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, command) pairs the definer functions need, granted to the migration role only.
DEFINER_ACCESS = [
    ("users", "SELECT"),
    ("accounts", "SELECT"),
    ("sessions", "SELECT"),
    ("sessions", "UPDATE"),
    ("sessions", "DELETE"),
    ("verification_tokens", "ALL"),
]

FUNCTIONS = {
    "zentropy_auth_account_owner(text, text)": """
CREATE FUNCTION zentropy_auth_account_owner(p_provider text, p_subject text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$ SELECT user_id FROM accounts WHERE provider = p_provider AND subject = p_subject $$
""",
    "zentropy_auth_user_by_email(text)": """
CREATE FUNCTION zentropy_auth_user_by_email(p_email text)
RETURNS TABLE (user_id uuid, email_verified boolean, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$ SELECT id, email_verified, disabled_at IS NOT NULL FROM users WHERE lower(email) = lower(p_email) $$
""",
    # The session behind a token hash, if live and its user not disabled. Sliding renewal: at most
    # once a minute, last_seen_at moves and expires_at moves to now + p_ttl.
    "zentropy_auth_session(text, interval)": """
CREATE FUNCTION zentropy_auth_session(p_token_hash text, p_ttl interval)
RETURNS TABLE (session_id uuid, user_id uuid, expires_at timestamptz, renewed boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    live sessions%ROWTYPE;
BEGIN
    SELECT s.* INTO live FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now() AND u.disabled_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF live.last_seen_at < now() - interval '1 minute' THEN
        UPDATE sessions s SET last_seen_at = now(), expires_at = GREATEST(s.expires_at, now() + p_ttl)
        WHERE s.id = live.id RETURNING s.expires_at INTO live.expires_at;
        RETURN QUERY SELECT live.id, live.user_id, live.expires_at, true;
    ELSE
        RETURN QUERY SELECT live.id, live.user_id, live.expires_at, false;
    END IF;
END
$$
""",
    "zentropy_auth_issue_token(text, text, timestamptz)": """
CREATE FUNCTION zentropy_auth_issue_token(p_token_hash text, p_address text, p_expires_at timestamptz)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
AS $$ INSERT INTO verification_tokens (token_hash, address, expires_at) VALUES (p_token_hash, p_address, p_expires_at) $$
""",
    # Single use: one UPDATE marks the token consumed; of concurrent callers only one gets the address.
    "zentropy_auth_consume_token(text)": """
CREATE FUNCTION zentropy_auth_consume_token(p_token_hash text) RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
    UPDATE verification_tokens SET consumed_at = now()
    WHERE token_hash = p_token_hash AND consumed_at IS NULL AND expires_at > now()
    RETURNING address
$$
""",
    "zentropy_auth_purge_expired()": """
CREATE FUNCTION zentropy_auth_purge_expired() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    sessions_gone integer;
    tokens_gone integer;
BEGIN
    DELETE FROM sessions WHERE expires_at < now();
    GET DIAGNOSTICS sessions_gone = ROW_COUNT;
    DELETE FROM verification_tokens WHERE expires_at < now() - interval '1 day';
    GET DIAGNOSTICS tokens_gone = ROW_COUNT;
    RETURN sessions_gone + tokens_gone;
END
$$
""",
}


def _uuid_pk() -> sa.Column:
    return sa.Column("id", pg.UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _user_fk() -> sa.Column:
    return sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "accounts",
        _uuid_pk(),
        _user_fk(),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
        _now("created_at"),
        _now("last_used_at"),
        sa.UniqueConstraint("provider", "subject", name="uq_accounts_provider_subject"),
    )
    op.create_index("ix_accounts_user_id", "accounts", ["user_id"])
    enable_tenant_rls("accounts")

    op.create_table(
        "sessions",
        _uuid_pk(),
        _user_fk(),
        sa.Column("token_hash", sa.Text(), nullable=False, unique=True),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        _now("created_at"),
        _now("last_seen_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    enable_tenant_rls("sessions")

    # Not tenant data (it exists before any user): reachable only through the definer functions.
    op.create_table(
        "verification_tokens",
        sa.Column("token_hash", sa.Text(), primary_key=True),
        sa.Column("address", sa.Text(), nullable=False),
        _now("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("ALTER TABLE verification_tokens ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE verification_tokens FORCE ROW LEVEL SECURITY")

    for table, command in DEFINER_ACCESS:
        check = " WITH CHECK (true)" if command in ("ALL", "UPDATE") else ""
        op.execute(f"CREATE POLICY definer_access_{command.lower()} ON {table} FOR {command} "
                   f"TO CURRENT_USER USING (true){check}")

    for signature, ddl in FUNCTIONS.items():
        op.execute(ddl)
        # Functions are executable by PUBLIC by default; only the service role (granted after
        # each upgrade by zentropy.db.roles) may call these.
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table, command in DEFINER_ACCESS:
        if table == "users":
            op.execute(f"DROP POLICY IF EXISTS definer_access_{command.lower()} ON {table}")
    op.drop_table("verification_tokens")
    op.drop_table("sessions")
    op.drop_table("accounts")
