"""tenancy: export/deletion support, admin (issue: multi-tenancy).

Deleting a user (zentropy/accounts/deletion.py) runs in the user's tenant context and needs no
new privilege for the tenant tables: row-level security admits the user's own rows, and every
tenant table's rows cascade from `users`. The one thing out of its reach is the table of pending
magic-link tokens, which holds the user's email address and is reachable only through SECURITY
DEFINER functions (migration 0003). `zentropy_tenancy_forget_address` deletes the tokens of the
*current tenant's own* address, and nothing else.

The admin CLI (`zentropy users ...`) connects as the migration role (DATABASE_URL): it lists
users through that role's `definer_access_select` policies on `users` and `sessions` (0003), and
acts on one user in that user's tenant context, under the same policies as the service.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SIGNATURE = "zentropy_tenancy_forget_address(text)"
FORGET_ADDRESS = """
CREATE FUNCTION zentropy_tenancy_forget_address(p_address text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
AS $$
DECLARE
    gone integer;
BEGIN
    DELETE FROM verification_tokens
    WHERE address = lower(p_address)
      AND EXISTS (SELECT 1 FROM users WHERE id = zentropy_current_user() AND lower(email) = lower(p_address));
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone;
END
$$
"""


def upgrade() -> None:
    op.execute(FORGET_ADDRESS)
    # Executable by PUBLIC by default; only the service role (granted after each upgrade) may call it.
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
