"""Content: one row per listing in the hourly partition of its expiry; metadata stays."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from tests.catalog.conftest import DESCRIPTION, NOW, posting, source
from zentropy.catalog import content_status, ingest, read_content
from zentropy.catalog.partitions import content_expiry

HOUR = timedelta(hours=1)


def test_content_expires_at_the_start_of_the_hour_its_ttl_ends_in():
    fetched = datetime(2026, 11, 2, 10, 30, 15, tzinfo=timezone.utc)
    assert content_expiry(fetched, 24 * 3600) == datetime(2026, 11, 3, 10, tzinfo=timezone.utc)
    assert content_expiry(fetched, 3600) == datetime(2026, 11, 2, 11, tzinfo=timezone.utc)
    assert content_expiry(fetched, 1200) == datetime(2026, 11, 2, 10, tzinfo=timezone.utc)  # already due


def test_content_status():
    assert content_status(None, NOW) == "none"
    assert content_status(NOW + HOUR, NOW) == "live"
    assert content_status(NOW, NOW) == "expired"


async def test_content_is_read_back_until_it_expires_then_the_source_url_remains(catalog):
    report = await ingest(catalog, source(ttl=6 * 3600), [posting(
        "1", description_html="<p>html</p>", raw={"id": 1, "marker": "raw payload"},
        source_url="https://www.adzuna.de/jobs/1")], now=NOW)
    posting_id = report.results[0].posting_id
    async with catalog.db.session() as s:
        live = await read_content(s, posting_id, NOW + 5 * HOUR)
        gone = await read_content(s, posting_id, NOW + 6 * HOUR)
        metadata = (await s.execute(text("SELECT title, company, content_expires_at FROM postings WHERE id = :id"),
                                    {"id": posting_id})).one()
    expiry = datetime(2026, 11, 2, 16, tzinfo=timezone.utc)
    assert (live.status, live.expires_at, live.description_text, live.description_html, live.raw) == (
        "live", expiry, DESCRIPTION, "<p>html</p>", {"id": 1, "marker": "raw payload"})
    assert (gone.status, gone.expires_at, gone.description_text) == ("expired", expiry, None)
    assert gone.source_url == "https://www.adzuna.de/jobs/1"
    assert metadata == ("Software Engineer", "Acme Corp", expiry)


async def test_a_posting_without_content_says_none(catalog):
    report = await ingest(catalog, source(), [posting("1", description_text="")], now=NOW)
    async with catalog.db.session() as s:
        assert (await read_content(s, report.results[0].posting_id, NOW)).status == "none"


async def test_refetching_moves_the_content_to_its_new_expiry(catalog, owner_engine):
    await ingest(catalog, source(), [posting("1")], now=NOW)
    report = await ingest(catalog, source(), [posting("1")], now=NOW + 3 * HOUR)
    assert report.results[0].outcome == "updated"
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT tableoid::regclass::text, expires_at FROM posting_content"))).all()
        listing = (await conn.execute(text("SELECT content_expires_at FROM posting_sources"))).scalar_one()
    assert rows == [("posting_content_p2026110313", datetime(2026, 11, 3, 13, tzinfo=timezone.utc))]
    assert listing == rows[0][1]


async def test_changed_content_replaces_the_old_and_the_source_ttl_or_an_override_applies(catalog, owner_engine):
    await ingest(catalog, source(ttl=2 * 3600), [posting("1")], now=NOW)
    await ingest(catalog, source(ttl=2 * 3600), [posting("1", description_text=DESCRIPTION + " Now hiring.")], now=NOW)
    await ingest(catalog, source("lever"), [posting("L", source="lever", title="Nurse", description_text="Care.")],
                 now=NOW, content_ttl_seconds=48 * 3600)
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT s.external_id, c.expires_at, c.description_text FROM posting_content c "
                                        "JOIN posting_sources s ON s.id = c.source_id ORDER BY 1"))).all()
    assert rows == [("1", datetime(2026, 11, 2, 12, tzinfo=timezone.utc), DESCRIPTION + " Now hiring."),
                    ("L", datetime(2026, 11, 4, 10, tzinfo=timezone.utc), "Care.")]


async def test_a_ttl_under_the_hour_keeps_no_content(catalog, owner_engine):
    report = await ingest(catalog, source(ttl=600), [posting("1")], now=NOW)
    assert report.new == 1
    async with owner_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM posting_content"))).scalar_one() == 0
        assert (await conn.execute(text("SELECT shingles > 0 FROM postings"))).scalar_one()  # fingerprints stay


async def test_reading_a_posting_that_does_not_exist_says_so(catalog):
    async with catalog.db.session() as s:
        try:
            await read_content(s, 987654321, NOW)
        except LookupError as exc:
            assert "987654321" in str(exc)
        else:
            raise AssertionError("no error")
