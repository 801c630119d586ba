"""The search API as a signed-in user sees it: start (202, or 200 from the cache), read the
report, page the results, follow progress; quotas; another user's search is a 404."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from zentropy.search.jobs import run_search

PUBLIC = "http://zentropy.test"


def parse_sse(body: str) -> list[dict]:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields: dict = {}
        for line in block.splitlines():
            if ":" in line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.lstrip(" ")
        if "data" in fields:
            events.append({"event": fields.get("event"), "id": fields.get("id"), **json.loads(fields["data"])})
    return events


async def run_queued(rig, user_id, search_id) -> str:
    """What the worker does with the queued job."""
    return await run_search({"runtime": rig.rt}, user_id=str(user_id), search_id=str(search_id))


async def test_a_search_runs_in_the_worker_and_reports_per_tier(rig, signed_in):
    user, client = signed_in
    response = await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 10})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["cached"] is False
    search_id = body["id"]
    assert response.headers["location"] == f"{PUBLIC}/api/v1/searches/{search_id}" == body["links"]["self"]
    assert (await client.get(f"/api/v1/searches/{search_id}")).json()["status"] == "queued"
    assert await run_queued(rig, user, search_id) == "done"

    search = (await client.get(f"/api/v1/searches/{search_id}")).json()
    assert search["status"] == "done" and search["cached"] is False and search["results_count"] == 20
    assert search["attempts"] == 1 and search["query"]["keywords"] == rig.token
    report = search["report"]
    assert report["cache"] == {"answered": False, "matches": 0}
    free, premium = report["tiers"]
    assert free["tier"] == "free" and free["status"] == "ran"
    adzuna = next(s for s in free["sources"] if s["source"] == "adzuna")
    assert (adzuna["status"], adzuna["results"], adzuna["new"], adzuna["duplicates"], adzuna["cost"]) == (
        "ok", 20, 20, 0, 0.0)
    assert "cursor" not in adzuna
    assert premium["status"] == "not_needed"

    page = (await client.get(f"/api/v1/searches/{search_id}/jobs", params={"limit": 15})).json()
    assert page["total"] == 20 and len(page["items"]) == 15
    assert page["next"] == f"{PUBLIC}/api/v1/searches/{search_id}/jobs?limit=15&offset=15"
    item = page["items"][0]
    assert item["content_status"] == "live" and item["found_by"] == "adzuna" and rig.token in item["title"]
    assert item["url"] == f"{PUBLIC}/api/v1/jobs/{item['id']}"
    assert "description" not in json.dumps(item)
    rest = (await client.get(page["next"].removeprefix(PUBLIC))).json()
    assert len(rest["items"]) == 5 and rest["next"] is None
    assert {i["id"] for i in page["items"]}.isdisjoint({i["id"] for i in rest["items"]})


async def test_a_cached_search_is_answered_in_the_response(rig, signed_in):
    user, client = signed_in
    first = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 10})).json()
    await run_queued(rig, user, first["id"])
    calls = rig.calls("adzuna")
    response = await client.post("/api/v1/searches", json={"keywords": rig.token.upper() + " ", "want": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done" and body["cached"] is True and body["results_count"] == 10
    assert len(body["results"]) == 10 and rig.calls("adzuna") == calls
    assert all(r["url"].startswith(f"{PUBLIC}/api/v1/jobs/") for r in body["results"])
    # the cache answer is a search like any other: recorded, readable, its results paged
    search = (await client.get(f"/api/v1/searches/{body['id']}")).json()
    assert search["status"] == "done" and search["cached"] is True
    assert search["report"]["cache"] == {"answered": True, "matches": 10} and search["cost"] == 0
    jobs = (await client.get(f"/api/v1/searches/{body['id']}/jobs", params={"limit": 100})).json()
    assert [j["id"] for j in jobs["items"]] == [r["id"] for r in body["results"]]
    events = parse_sse((await client.get(f"/api/v1/searches/{body['id']}/events")).text)
    assert events == [{"event": "done", "id": None, "type": "done", "status": "done", "results": 10, "cost": 0.0,
                       "cached": True, "error_code": None}]


async def test_progress_events_per_tier_and_source(rig, signed_in):
    user, client = signed_in
    rig.adzuna.results = rig.adzuna.results[:3]
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 10})).json()["id"]
    await run_queued(rig, user, search_id)
    response = await client.get(f"/api/v1/searches/{search_id}/events")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [(e["type"], e.get("tier"), e.get("source"), e["status"]) for e in events]
    assert kinds == [
        ("search", None, None, "running"),
        ("tier", "cache", None, "partial"),
        ("tier", "free", None, "started"),
        ("source", "free", "adzuna", "calling"),
        ("source", "free", "adzuna", "exhausted"),
        ("source", "free", "greenhouse", "calling"),
        ("source", "free", "greenhouse", "ok"),
        ("tier", "free", None, "ran"),
        ("tier", "premium", None, "not_needed"),
        ("search", None, None, "done") if False else ("done", None, None, "done"),
    ]
    greenhouse = events[6]
    assert (greenhouse["results"], greenhouse["new"], greenhouse["total"]) == (20, 20, 23)
    assert all(e["id"] for e in events)
    # resuming after an event gives only what followed it
    later = parse_sse((await client.get(f"/api/v1/searches/{search_id}/events",
                                        headers={"Last-Event-ID": events[6]["id"]})).text)
    assert [e["type"] for e in later] == ["tier", "tier", "done"]


async def test_another_users_search_is_not_found_like_a_missing_one(rig, signed_in):
    user, client = signed_in
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token})).json()["id"]
    other = await rig.user()
    async with rig.client() as other_client:
        other_client.headers.update(await rig.bearer(other))
        for path in ("", "/jobs", "/events"):
            theirs = await other_client.get(f"/api/v1/searches/{search_id}{path}")
            missing = await other_client.get(f"/api/v1/searches/{uuid.uuid4()}{path}")
            assert theirs.status_code == missing.status_code == 404
            assert theirs.json()["code"] == missing.json()["code"] == "search_not_found"
        assert (await other_client.get("/api/v1/searches")).json()["items"] == []
    assert [s["id"] for s in (await client.get("/api/v1/searches")).json()["items"]] == [search_id]


async def test_searches_need_a_signed_in_onboarded_user(rig):
    async with rig.client() as client:
        response = await client.post("/api/v1/searches", json={"keywords": rig.token})
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
        newcomer = await rig.user(onboarded=False)
        client.headers.update(await rig.bearer(newcomer))
        response = await client.post("/api/v1/searches", json={"keywords": rig.token})
        assert response.status_code == 403 and response.json()["code"] == "onboarding_required"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"keywords": "  ,, "}, 422, "query_empty"),
    ({"keywords": "python", "want": 101}, 422, "want_too_large"),
    ({"keywords": "python", "want": 0}, 400, "validation_failed"),
    ({"keywords": "python", "colour": "blue"}, 400, "validation_failed"),
    ({"keywords": "python", "country": "gbr"}, 400, "validation_failed"),
])
async def test_malformed_searches_are_refused_and_nothing_is_recorded(rig, signed_in, body, status, code):
    user, client = signed_in
    response = await client.post("/api/v1/searches", json=body)
    assert response.status_code == status and response.json()["code"] == code
    assert (await client.get("/api/v1/searches")).json()["items"] == []
    assert (await client.get("/api/v1/me/quotas")).json()["searches"]["used"] == 0


async def test_over_the_daily_quota_is_429_with_retry_after_and_nothing_recorded(rig, signed_in):
    user, client = signed_in
    rig.quotas(searches_per_day=2)
    for _ in range(2):
        assert (await client.post("/api/v1/searches", json={"keywords": rig.token})).status_code == 202
    response = await client.post("/api/v1/searches", json={"keywords": f"{rig.token} more"})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "search_quota_exceeded" and body["limit"] == 2
    assert 0 < int(response.headers["retry-after"]) <= 86_400
    assert len((await client.get("/api/v1/searches")).json()["items"]) == 2
    quotas = (await client.get("/api/v1/me/quotas")).json()
    assert quotas["searches"] | {"resets_at": None} == {"limit": 2, "used": 2, "remaining": 0, "period": "day",
                                                       "resets_at": None}
    assert await rig.rt.queue.count("queued") == 2  # nothing queued for the refused one


async def test_premium_budget_spent_skips_premium_and_the_report_says_so(rig, signed_in):
    user, client = signed_in
    rig.quotas(premium_calls_per_month=0)
    rig.adzuna.results = rig.adzuna.results[:2]
    rig.greenhouse.boards[rig.token] = []
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 10})).json()["id"]
    assert await run_queued(rig, user, search_id) == "done"
    search = (await client.get(f"/api/v1/searches/{search_id}")).json()
    assert search["status"] == "done" and search["results_count"] == 2
    premium = search["report"]["tiers"][1]
    assert premium["status"] == "skipped" and premium["reason"] == "premium_quota_exhausted"
    assert premium["sources"][0]["status"] == "skipped" and rig.calls("serpapi") == 0


async def test_premium_calls_count_against_the_monthly_budget(rig, signed_in):
    user, client = signed_in
    rig.quotas(premium_calls_per_month=1)
    rig.adzuna.results = []
    rig.greenhouse.boards[rig.token] = []
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 15})).json()["id"]
    await run_queued(rig, user, search_id)
    search = (await client.get(f"/api/v1/searches/{search_id}")).json()
    serpapi = search["report"]["tiers"][1]["sources"][0]
    # one page (10 results) was paid for; the second was not made
    assert (serpapi["calls"], serpapi["results"], serpapi["status"]) == (1, 10, "skipped")
    assert search["report"]["tiers"][1]["status"] == "ran"
    assert search["report"]["tiers"][1]["reason"] == "premium_quota_exhausted"
    assert search["premium_calls"] == 1 and rig.calls("serpapi") == 1
    assert (await client.get("/api/v1/me/quotas")).json()["premium_calls"]["used"] == 1


async def test_source_priorities_are_read_and_set(rig, signed_in):
    user, client = signed_in
    default = (await client.get("/api/v1/me/sources")).json()
    assert default["allow_premium"] is True
    assert [(s["name"], s["tier"], s["enabled"]) for s in default["sources"]] == [
        ("adzuna", "free", True), ("greenhouse", "free", True), ("serpapi", "premium", True)]
    response = await client.put("/api/v1/me/sources", json={
        "sources": [{"name": "greenhouse"}, {"name": "adzuna", "enabled": False}], "allow_premium": False})
    assert response.status_code == 200, response.text
    assert [(s["name"], s["enabled"], s["position"]) for s in response.json()["sources"]] == [
        ("greenhouse", True, 0), ("adzuna", False, 1), ("serpapi", True, 2)]
    assert response.json()["allow_premium"] is False
    # the next search follows them
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 40})).json()["id"]
    await run_queued(rig, user, search_id)
    tiers = (await client.get(f"/api/v1/searches/{search_id}")).json()["report"]["tiers"]
    assert [(s["source"], s["status"]) for s in tiers[0]["sources"]] == [("greenhouse", "exhausted"),
                                                                         ("adzuna", "skipped")]
    assert tiers[1]["status"] == "skipped" and tiers[1]["reason"] == "premium_not_allowed"
    assert rig.calls("adzuna") == 0 and rig.calls("serpapi") == 0
    for bad, code in (({"sources": [{"name": "monster"}]}, "unknown_source"),
                      ({"sources": [{"name": "adzuna"}, {"name": "adzuna"}]}, "duplicate_source")):
        refused = await client.put("/api/v1/me/sources", json=bad)
        assert refused.status_code == 422 and refused.json()["code"] == code
    # the other user's order is their own
    other = await rig.user()
    async with rig.client() as other_client:
        other_client.headers.update(await rig.bearer(other))
        assert (await other_client.get("/api/v1/me/sources")).json() == default


async def test_a_search_runs_through_the_real_worker(rig, signed_in):
    from zentropy.worker.run import build_worker
    import asyncio

    user, client = signed_in
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})).json()["id"]
    worker = build_worker(rig.rt, dequeue_timeout=0.1)
    task = asyncio.create_task(worker.start())
    try:
        for _ in range(200):
            if (await client.get(f"/api/v1/searches/{search_id}")).json()["status"] == "done":
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
        task.cancel()
    search = (await client.get(f"/api/v1/searches/{search_id}")).json()
    assert search["status"] == "done" and search["results_count"] == 20
    async with rig.rt.db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM searches"))).scalar() == 0  # RLS: no tenant


async def test_tier_hits_and_source_calls_are_counted_for_the_cluster(rig, signed_in):
    from zentropy import metrics
    from zentropy.search.cache import cache_hits

    def value(text: str, name: str, labels: str) -> float:
        line = next((line for line in text.splitlines() if line.startswith(f"{name}_total{{{labels}}}")), None)
        return float(line.rsplit(" ", 1)[1]) if line else 0.0

    user, client = signed_in
    before = (await metrics.render(rig.rt.redis)).decode()
    first = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})).json()
    await run_queued(rig, user, first["id"])
    assert (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})).status_code == 200
    await cache_hits(rig.rt).flush()
    after = (await metrics.render(rig.rt.redis)).decode()
    assert value(after, "zentropy_tier_hits", 'tier="cache"') == value(before, "zentropy_tier_hits", 'tier="cache"') + 1
    assert value(after, "zentropy_tier_hits", 'tier="free"') == value(before, "zentropy_tier_hits", 'tier="free"') + 1
    assert value(after, "zentropy_source_calls", 'source="adzuna",status="ok"') == value(
        before, "zentropy_source_calls", 'source="adzuna",status="ok"') + 1


async def test_events_follow_a_search_live(rig, signed_in):
    import asyncio

    user, client = signed_in
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})).json()["id"]
    listening = asyncio.create_task(client.get(f"/api/v1/searches/{search_id}/events"))
    await asyncio.sleep(0.3)  # the client listens before the worker has started
    assert not listening.done()
    await run_queued(rig, user, search_id)
    events = parse_sse((await asyncio.wait_for(listening, 10)).text)
    assert events[0]["type"] == "search" and events[-1] == {**events[-1], "type": "done", "status": "done",
                                                            "results": 20}


async def test_a_search_whose_user_is_deleted_while_it_runs_ends_quietly(rig, signed_in, owner_engine, monkeypatch):
    from zentropy.search import service

    user, client = signed_in
    search_id = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})).json()["id"]
    save = service._save

    async def delete_user_then_save(runtime, user_id, search_id, run):  # the account is deleted mid-search
        async with owner_engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user_id})
        await save(runtime, user_id, search_id, run)

    monkeypatch.setattr(service, "_save", delete_user_then_save)
    assert await run_queued(rig, user, search_id) == "gone"
    async with owner_engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM searches WHERE user_id = :u"), {"u": user})).scalar()
    assert left == 0
    assert await run_queued(rig, user, search_id) == "gone"  # a retry finds nothing to do
