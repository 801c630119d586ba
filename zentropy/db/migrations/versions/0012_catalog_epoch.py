"""catalog epoch: a counter every ingest write moves, so a batch decided ahead of the lock can tell
whether the catalog changed under it.

`catalog_epoch` holds one row. Every ingest transaction increments it while it holds the ingest
lock; a batch read (in a REPEATABLE READ snapshot) and decided while the previous batch was still
being written compares the epoch its snapshot saw with the one it finds under the lock, and reads
and decides again if any other write came in between (`zentropy.catalog.ingest`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE catalog_epoch (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
               "n bigint NOT NULL DEFAULT 0)")
    op.execute("INSERT INTO catalog_epoch DEFAULT VALUES")


def downgrade() -> None:
    op.execute("DROP TABLE catalog_epoch")
