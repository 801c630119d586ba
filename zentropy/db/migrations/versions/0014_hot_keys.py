"""hot keys: the blocking keys known to be boilerplate, recorded once for every process.

A blocking key shared by eight postings or more (`zentropy.catalog.store.HOT_KEY`: an employer's
About paragraph, an equal-opportunity statement, a job posted in bulk) is never evidence of a
duplicate, and being hot is for good: keys are never deleted. An ingest that finds a key hot
records it here; a process loads them at its first look-up, so that it neither looks them up
(eight rows back each, in a large index) nor stores them for more postings.

Existing rows: the keys already shared by eight postings or more in either key table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("hot_keys", sa.Column("key", sa.BigInteger(), primary_key=True))
    op.execute("INSERT INTO hot_keys (key) SELECT key FROM posting_keys GROUP BY key HAVING count(*) >= 8 "
               "UNION SELECT key FROM posting_agency_keys GROUP BY key HAVING count(*) >= 8")


def downgrade() -> None:
    op.drop_table("hot_keys")
