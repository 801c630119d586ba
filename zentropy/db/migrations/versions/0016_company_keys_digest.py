"""company keys digest: which alias table the catalog's company keys were last computed with.

`catalog_company_keys` holds at most one row: the digest of the company alias table (and key
rules) that `zentropy.catalog.rekey` last brought every posting's company key up to date with. The
worker's hourly job compares it with its own table's and re-keys the catalog when they differ (a
plugin registering aliases was installed, or a release changed the built-in ones).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE catalog_company_keys (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
               "digest text NOT NULL, rekeyed_at timestamptz NOT NULL DEFAULT now())")


def downgrade() -> None:
    op.execute("DROP TABLE catalog_company_keys")
