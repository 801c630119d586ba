"""`GET /api/v1/jobs/{id}` and `POST /api/v1/jobs/{id}/refetch` as a signed-in user sees them:
content while it lasts, then the metadata with `content_status: "expired"`, when it expired and
where to read it; refetching through a source that can, and every way that can fail."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from tests.purge.conftest import HOUR, metadata, rows
from tests.sources.fakes import FakeServer, GreenhouseFake, Reply, greenhouse_jobs, json_reply
from zentropy.catalog import ingest
from zentropy.catalog.merging import merge_postings
from zentropy.catalog.partitions import content_expiry, floor_hour
from zentropy.purge import content_ttl, purge
from zentropy.sources.contract import Posting, SearchQuery

BOARD = "northwind"
DAY_TTL = 24 * 3600


@pytest.fixture
def greenhouse(monkeypatch):
    fake = GreenhouseFake({BOARD: greenhouse_jobs(2, company="Northwind")})
    with FakeServer(fake) as server:
        monkeypatch.setenv("GREENHOUSE_BASE_URL", server.url)
        monkeypatch.setenv("GREENHOUSE_BOARDS", BOARD)
        yield fake, server


async def fetch_from_greenhouse(ttl) -> tuple[int, Posting]:  # noqa: ANN001
    """Read the board through the source service and ingest it, now (the rig's clock set to the wall
    clock); the first posting's catalog id and what the source returned."""
    ttl.clock.at = datetime.now(timezone.utc)
    sources = ttl.sources()
    page = await sources.search("greenhouse", SearchQuery(keywords=""))
    info = sources.info("greenhouse")
    report = await ingest(ttl.rt, info, page.postings, now=ttl.clock.at, content_ttl_seconds=content_ttl(ttl.rt, info))
    assert report.new == 2
    return report.results[0].posting_id, page.postings[0]


def fetches(server: FakeServer) -> int:
    return sum(1 for r in server.requests if r.path.startswith(f"/v1/boards/{BOARD}/jobs/"))


def assert_problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


async def test_fetch_expire_purge_then_refetch_brings_the_content_back_with_a_fresh_ttl(ttl, greenhouse):
    _, server = greenhouse
    posting_id, fetched = await fetch_from_greenhouse(ttl)
    fetched_at = ttl.clock.at
    expiry = content_expiry(fetched_at, DAY_TTL)
    async with await ttl.signed_in() as client:
        live = (await client.get(f"/api/v1/jobs/{posting_id}")).json()
        assert live["content_status"] == "live" and live["content_expires_at"] == expiry.isoformat().replace("+00:00", "Z")
        assert live["content"]["description_text"] == fetched.description_text and fetched.description_text
        assert live["content"]["source"] == "greenhouse" and live["content_expired_at"] is None
        assert live["title"] == fetched.title and live["source_url"] == fetched.source_url
        assert live["links"]["refetch"] == f"http://zentropy.test/api/v1/jobs/{posting_id}/refetch"

        ttl.clock.at = expiry  # a day later
        report = await purge(ttl.rt)
        assert report.contents == 2
        response = await client.get(f"/api/v1/jobs/{posting_id}")
        assert response.status_code == 200
        expired = response.json()
        assert expired["content_status"] == "expired" and expired["content"] is None
        assert expired["content_expired_at"] == expired["content_expires_at"] == live["content_expires_at"]
        assert expired["source_url"] == fetched.source_url  # where to read it now
        assert {k: expired[k] for k in ("title", "company", "locations", "apply_url", "first_seen_at")} == {
            k: live[k] for k in ("title", "company", "locations", "apply_url", "first_seen_at")}
        assert fetched.description_text[:80] not in response.text
        [listing] = expired["listings"]
        assert listing["source"] == "greenhouse" and listing["refetchable"] is True
        assert listing["content_status"] == "expired"

        ttl.clock.advance(2 * HOUR)
        before = fetches(server)
        response = await client.post(f"/api/v1/jobs/{posting_id}/refetch")
        assert response.status_code == 200, response.text
        back = response.json()
        assert fetches(server) == before + 1
        assert back["content_status"] == "live" and back["content"]["description_text"] == fetched.description_text
        fresh = content_expiry(ttl.clock.at, DAY_TTL)
        assert back["content_expires_at"] == fresh.isoformat().replace("+00:00", "Z") and fresh > expiry
        assert (await client.get(f"/api/v1/jobs/{posting_id}")).json()["content_status"] == "live"
    assert await rows(ttl.owner, "SELECT query FROM source_calls WHERE source = 'greenhouse' AND operation = 'fetch' "
                                 "ORDER BY id DESC LIMIT 1") == [({"external_id": fetched.external_id},)]


async def test_both_need_a_signed_in_user_and_an_unknown_job_is_a_404(ttl):
    async with ttl.client() as anonymous:
        assert_problem(await anonymous.get("/api/v1/jobs/1"), 401, "unauthenticated")
        assert_problem(await anonymous.post("/api/v1/jobs/1/refetch"), 401, "unauthenticated")
    async with await ttl.signed_in() as client:
        assert_problem(await client.get("/api/v1/jobs/987654321"), 404, "job_not_found")
        assert_problem(await client.post("/api/v1/jobs/987654321/refetch"), 404, "job_not_found")


async def test_a_source_that_cannot_fetch_one_posting_is_a_409_with_the_source_url(ttl):
    adzuna = ttl.sources().info("adzuna")
    url = "https://www.adzuna.co.uk/jobs/details/4242"
    report = await ingest(ttl.rt, adzuna, [Posting(source="adzuna", external_id="4242", title="Campaign Analyst",
                                                   company="Brightside", source_url=url, description_text="Text. " * 50)],
                          now=ttl.clock.at)
    posting_id = report.results[0].posting_id
    ttl.clock.advance(25 * HOUR)
    await purge(ttl.rt)
    before = await metadata(ttl.owner)
    async with await ttl.signed_in() as client:
        body = assert_problem(await client.post(f"/api/v1/jobs/{posting_id}/refetch"), 409, "refetch_unsupported")
        assert body["source_url"] == url and "adzuna" in body["detail"]
        job = (await client.get(f"/api/v1/jobs/{posting_id}")).json()
    assert job["content_status"] == "expired" and job["listings"][0]["refetchable"] is False
    assert job["attribution"] == [{"source": "adzuna", "text": "Jobs by Adzuna", "url": "https://www.adzuna.com"}]
    assert await metadata(ttl.owner) == before


async def test_live_content_is_returned_without_calling_the_source(ttl, greenhouse):
    _, server = greenhouse
    posting_id, _ = await fetch_from_greenhouse(ttl)
    before = fetches(server)
    async with await ttl.signed_in() as client:
        response = await client.post(f"/api/v1/jobs/{posting_id}/refetch")
    assert response.status_code == 200 and response.json()["content_status"] == "live"
    assert fetches(server) == before


async def expired_greenhouse_job(ttl) -> tuple[int, dict]:  # noqa: ANN001
    posting_id, _ = await fetch_from_greenhouse(ttl)
    ttl.clock.advance(25 * HOUR)
    await purge(ttl.rt)
    return posting_id, await metadata(ttl.owner)


async def test_a_posting_gone_at_the_source_is_a_410(ttl, greenhouse):
    fake, _ = greenhouse
    posting_id, before = await expired_greenhouse_job(ttl)
    fake.boards[BOARD] = []
    async with await ttl.signed_in() as client:
        body = assert_problem(await client.post(f"/api/v1/jobs/{posting_id}/refetch"), 410, "job_gone_at_source")
        assert body["source_url"].startswith("https://boards.greenhouse.io/northwind/jobs/")
        assert (await client.get(f"/api/v1/jobs/{posting_id}")).json()["content_status"] == "expired"
    assert await metadata(ttl.owner) == before


async def test_a_failing_source_is_a_502_and_nothing_is_lost(ttl, greenhouse):
    _, server = greenhouse
    posting_id, before = await expired_greenhouse_job(ttl)
    server.script.extend(Reply(status=500, body=b"oops") for _ in range(3))  # every attempt fails
    async with await ttl.signed_in() as client:
        body = assert_problem(await client.post(f"/api/v1/jobs/{posting_id}/refetch"), 502, "refetch_failed")
        assert body["source"] == "greenhouse" and body["source_code"] == "unavailable" and body["source_url"]
        assert "oops" not in body["detail"] and "127.0.0.1" not in body["detail"]
        assert (await client.get(f"/api/v1/jobs/{posting_id}")).json()["content_status"] == "expired"
    assert await metadata(ttl.owner) == before
    assert await rows(ttl.owner, "SELECT status, error_code FROM source_calls WHERE source = 'greenhouse' "
                                 "AND operation = 'fetch' ORDER BY id DESC LIMIT 1") == [("error", "unavailable")]


async def test_a_rate_limited_source_is_a_503_with_retry_after(ttl, greenhouse):
    _, server = greenhouse
    posting_id, before = await expired_greenhouse_job(ttl)
    server.script.append(json_reply({"error": "slow down"}, 429, **{"Retry-After": "120"}))
    async with await ttl.signed_in() as client:
        response = await client.post(f"/api/v1/jobs/{posting_id}/refetch")
    body = assert_problem(response, 503, "refetch_failed")
    assert body["source_code"] == "rate_limited" and int(response.headers["retry-after"]) >= 119
    assert await metadata(ttl.owner) == before


async def test_a_posting_returned_without_its_text_is_a_502(ttl, greenhouse):
    fake, _ = greenhouse
    posting_id, before = await expired_greenhouse_job(ttl)
    jobs = copy.deepcopy(fake.boards[BOARD])
    for job in jobs:
        job["content"] = ""
    fake.boards[BOARD] = jobs
    async with await ttl.signed_in() as client:
        assert_problem(await client.post(f"/api/v1/jobs/{posting_id}/refetch"), 502, "refetch_empty")
    assert await metadata(ttl.owner) == before


async def test_the_fresh_ttl_follows_the_settings_and_under_an_hour_nothing_is_kept(ttl, greenhouse):
    posting_id, _ = await expired_greenhouse_job(ttl)
    ttl.clock.at = floor_hour(ttl.clock.at) + HOUR + timedelta(minutes=10)  # 30 minutes on is still this hour
    ttl.content_settings(content_ttl_overrides="greenhouse=1800")
    async with await ttl.signed_in() as client:
        body = assert_problem(await client.post(f"/api/v1/jobs/{posting_id}/refetch"), 409, "content_not_kept")
        assert body["source_url"]
        ttl.content_settings(content_ttl_seconds=7200)  # a cap below the plugin's 24 h
        back = (await client.post(f"/api/v1/jobs/{posting_id}/refetch")).json()
    assert back["content_status"] == "live"
    assert back["content_expires_at"] == content_expiry(ttl.clock.at, 7200).isoformat().replace("+00:00", "Z")


async def test_each_sources_attribution_is_in_the_job(ttl):
    sources = ttl.sources()
    description = "Remote-first team building payroll software for small businesses across Europe. " * 8
    remotive = await ingest(ttl.rt, sources.info("remotive"), [Posting(
        source="remotive", external_id="1911", title="Frontend Developer", company="Paydays",
        source_url="https://remotive.com/remote-jobs/software-dev/frontend-1911", description_text=description)],
        now=ttl.clock.at)
    posting_id = remotive.results[0].posting_id
    arbeitnow = await ingest(ttl.rt, sources.info("arbeitnow"), [Posting(
        source="arbeitnow", external_id="frontend-developer-1911", title="Frontend Developer (m/w/d)",
        company="Paydays GmbH", source_url="https://www.arbeitnow.com/jobs/paydays/1911",
        description_text=description)], now=ttl.clock.at)
    assert arbeitnow.results[0].posting_id == posting_id
    async with await ttl.signed_in() as client:
        job = (await client.get(f"/api/v1/jobs/{posting_id}")).json()
    assert sorted(job["attribution"], key=lambda a: a["source"]) == [
        {"source": "arbeitnow", "text": "Jobs by Arbeitnow", "url": "https://www.arbeitnow.com"},
        {"source": "remotive", "text": "Remote jobs by Remotive", "url": "https://remotive.com"},
    ]
    by_source = {listing["source"]: listing for listing in job["listings"]}
    assert by_source["remotive"]["attribution"] == "Remote jobs by Remotive"
    assert by_source["arbeitnow"]["attribution_url"] == "https://www.arbeitnow.com"
    assert job["content"]["attribution"] == {"remotive": "Remote jobs by Remotive",
                                             "arbeitnow": "Jobs by Arbeitnow"}[job["content"]["source"]]


async def test_a_job_merged_into_another_redirects_to_it(ttl):
    """Two postings later found to be one job (zentropy.catalog.merging): the absorbed one's URL
    leads to the kept one, for reading and for refetching; the redirect is built from PUBLIC_URL."""
    made = [await ingest(ttl.rt, ttl.sources().info("remotive"), [Posting(
        source="remotive", external_id=f"77{i}", title=title, company="Paydays", description_text="",
        source_url=f"https://remotive.com/remote-jobs/77{i}")],
        now=ttl.clock.at) for i, title in enumerate(["Frontend Developer", "Web Engineer"])]
    kept, absorbed = (r.results[0].posting_id for r in made)
    assert kept != absorbed
    await merge_postings(ttl.rt, kept, absorbed, "test")
    public = ttl.rt.settings.public_url.rstrip("/")
    async with await ttl.signed_in() as client:
        moved = await client.get(f"/api/v1/jobs/{absorbed}")
        assert moved.status_code == 308 and moved.headers["location"] == f"{public}/api/v1/jobs/{kept}"
        job = (await client.get(f"/api/v1/jobs/{kept}")).json()
        assert sorted(listing["source_url"] for listing in job["listings"]) == [
            "https://remotive.com/remote-jobs/770", "https://remotive.com/remote-jobs/771"]
        again = await client.post(f"/api/v1/jobs/{absorbed}/refetch")
        assert again.status_code == 308 and again.headers["location"] == f"{public}/api/v1/jobs/{kept}/refetch"
        assert_problem(await client.get(f"/api/v1/jobs/{absorbed + 1000}"), 404, "job_not_found")
