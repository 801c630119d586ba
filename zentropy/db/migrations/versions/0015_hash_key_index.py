"""hash key index: the blocking-key tables looked up through a hash index on `key`.

`posting_keys` and `posting_agency_keys` had a B-tree primary key on (key, posting_id). Every
look-up is an equality probe on `key`, most finding nothing, and the keys are random 64-bit
hashes, so each probe and each insert reads a random leaf of a B-tree that outgrows the CPU's
caches as the catalog grows (some 17M keys at 1M postings): a probe cost 1.5x as much at 5M
keys as at 200k, an insert up to 2x. A hash index reaches a key's bucket in one step whatever
its size. It cannot enforce uniqueness: (key, posting_id) pairs stay distinct because the
ingest, which alone writes these tables, under its lock, COPYs only new postings' keys and adds
a merged listing's keys only where the pair is not there yet (`zentropy.catalog.store.add_keys`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("posting_keys", "posting_agency_keys")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"CREATE INDEX ix_{table}_key ON {table} USING hash (key)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_key")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (key, posting_id)")
