"""agency keys: the blocking keys of staffing agencies' descriptions in a table of their own.

Winnowing keys come in two namespaces (`zentropy.dedup.fingerprints`): an employer's posting is
stored under its employer-namespace keys and looks up agency-namespace ones, an agency's the
other way round. Agencies write a few percent of postings, but every posting looks up their
namespace: in `posting_keys`, whose index holds some fifteen keys per posting, each of those
probes reads a page of a large index, mostly to find nothing. `posting_agency_keys` holds only the
agency namespace, a much smaller index.

Existing rows: every key of an agency's posting is copied over (its agency-namespace keys cannot
be told from its other keys without the description, which may have expired). The other keys
copied, and the agency-namespace keys left in `posting_keys`, are never looked up there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posting_agency_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("posting_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "posting_id", name="pk_posting_agency_keys"),
    )
    op.execute("INSERT INTO posting_agency_keys (key, posting_id) SELECT k.key, k.posting_id "
               "FROM posting_keys k JOIN postings p ON p.id = k.posting_id WHERE p.agency")


def downgrade() -> None:
    op.execute("INSERT INTO posting_keys (key, posting_id) SELECT key, posting_id FROM posting_agency_keys "
               "ON CONFLICT DO NOTHING")
    op.drop_table("posting_agency_keys")
