from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from tests.conftest import CATALOG_TABLES, empty_catalog
from zentropy.sources.contract import Posting, SourceInfo

NOW = datetime(2026, 11, 2, 10, 30, tzinfo=timezone.utc)
DESCRIPTION = (
    "Acme builds warehouse robots that move millions of parcels every day. We are looking for a software "
    "engineer to join our fleet management team in Berlin. You will design, build and operate the services "
    "that plan routes for thousands of robots, write Go and Python, review code and take part in the on-call "
    "rotation. You have three or more years of experience building distributed systems, know PostgreSQL well "
    "and enjoy working with hardware teams. We offer 30 days of holiday, a learning budget and hybrid work."
)


@pytest.fixture
async def catalog(runtime, owner_engine):
    """The runtime, on an empty catalog (the catalog is shared, so each test starts it empty)."""
    await empty_catalog(owner_engine, runtime)
    return runtime


def source(name: str = "adzuna", ttl: int = 24 * 3600) -> SourceInfo:
    return SourceInfo(name=name, tier="free", content_ttl_seconds=ttl)


def posting(external_id: str, **fields) -> Posting:
    defaults = dict(source="adzuna", title="Software Engineer", company="Acme Corp", locations=["Berlin"],
                    description_text=DESCRIPTION)
    defaults.update(fields)
    return Posting(external_id=external_id, **defaults)


async def snapshot(engine) -> dict[str, list]:
    """Every catalog row, for comparing before and after."""
    out = {}
    async with engine.connect() as conn:
        for table in CATALOG_TABLES:
            rows = await conn.execute(text(f"SELECT * FROM {table}"))
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out
