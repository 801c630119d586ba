"""What outlives a posting's content: a user's own data about it (the feed entry and the status
they gave it) and everything dedup needs, so a relisting from another source still merges."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.purge.conftest import DAY, HOUR, T0, metadata, partitions, posting, rows, source
from zentropy.catalog import ingest
from zentropy.catalog.partitions import content_expiry
from zentropy.feed import service as feed
from zentropy.purge import purge


async def test_a_users_feed_entry_and_its_status_survive_the_purge(ttl):
    fetched = datetime.now(timezone.utc) - 30 * HOUR  # expired by the wall clock the feed reads
    report = await ingest(ttl.rt, source(), [posting("f1"), posting(
        "f2", title="Data Engineer", description_text="Airflow, dbt and a warehouse of sensor data. " * 20)],
        now=fetched)
    first, second = (r.posting_id for r in report.results)
    assert first != second
    user = await ttl.user()
    assert await feed.add_to_feed(ttl.rt, user, None, [first, second]) == 2
    async with await ttl.signed_in(user) as client:
        response = await client.patch(f"/api/v1/feed/{first}", json={"status": "applied"})
        assert response.status_code == 200, response.text
        before = (await client.get("/api/v1/feed")).json()

        purged = await purge(ttl.rt, now=datetime.now(timezone.utc))
        assert purged.contents == 2 and await partitions(ttl.owner) == []

        after = (await client.get("/api/v1/feed")).json()
    assert after["total"] == before["total"] == 2
    statuses = {item["posting_id"]: item["status"] for item in after["items"]}
    assert statuses == {first: "applied", second: "new"}
    assert [item["added_at"] for item in after["items"]] == [item["added_at"] for item in before["items"]]
    assert {item["job"]["content_status"] for item in after["items"]} == {"expired"}
    assert {item["job"]["title"] for item in after["items"]} == {"Backend Engineer", "Data Engineer"}


async def test_a_relisting_from_another_source_still_merges_after_the_content_expired(ttl):
    original = await ingest(ttl.rt, source("adzuna"), [posting("a1", apply_url="https://www.adzuna.nl/land/ad/1")],
                            now=T0)
    posting_id = original.results[0].posting_id
    assert (await purge(ttl.rt, now=T0 + 25 * HOUR)).contents == 1
    assert await rows(ttl.owner, "SELECT count(*) FROM posting_content") == [(0,)]
    before = await metadata(ttl.owner)
    assert before["postings"][0][0] == posting_id

    # the same job, listed by another source under another id and URL, with the same description
    relisted = await ingest(ttl.rt, source("greenhouse"), [posting(
        "northwind:77", source="greenhouse", title="Backend Eng.",
        company="Northwind", apply_url="https://boards.greenhouse.io/northwind/jobs/77")], now=T0 + 25 * HOUR)
    [result] = relisted.results
    assert (result.outcome, result.duplicate_of, result.posting_id) == ("duplicate", posting_id, posting_id)
    assert result.rule == "score"
    assert await rows(ttl.owner, "SELECT count(*) FROM postings") == [(1,)]
    listings = await rows(ttl.owner, "SELECT source, external_id FROM posting_sources ORDER BY id")
    assert listings == [("adzuna", "a1"), ("greenhouse", "northwind:77")]
    # the relisting's own content is kept with its own fresh TTL
    assert await rows(ttl.owner, "SELECT expires_at FROM posting_content") == [
        (content_expiry(T0 + 25 * HOUR, 24 * 3600),)]
    assert (await purge(ttl.rt, now=T0 + DAY)).contents == 0
