"""Saved searches and the feed: CRUD, scheduled runs by the cron job, new matches in the feed,
statuses the user sets, another user's objects answering 404."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from zentropy.feed.jobs import refresh_saved_searches, run_saved_search
from zentropy.search.jobs import run_search
from zentropy.search.query import SearchIn, normalize

PUBLIC = "http://zentropy.test"


async def drain(rig) -> None:
    """Run what the cron job queued, as the worker would: saved-search runs, then their searches."""
    for function in ("run_saved_search", "run_search"):
        while job := await _next(rig, function):
            runner = run_saved_search if function == "run_saved_search" else run_search
            await runner({"runtime": rig.rt}, **job.kwargs)


async def _next(rig, function):
    for job_id in await rig.rt.queue.redis.lrange(rig.rt.queue.namespace("queued"), 0, -1):
        job = rig.rt.queue.deserialize(await rig.rt.queue.redis.get(job_id))
        if job is not None and job.function == function:
            await rig.rt.queue.redis.lrem(rig.rt.queue.namespace("queued"), 0, job_id)
            return job
    return None


async def make_due(owner_engine, saved_id) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE saved_searches SET next_run_at = now() - interval '1 minute' WHERE id = :i"),
                           {"i": saved_id})


async def test_saved_searches_crud(rig, signed_in):
    user, client = signed_in
    response = await client.post("/api/v1/saved-searches", json={"name": "Mine", "keywords": f"{rig.token} Python",
                                                                 "remote": True, "every_hours": 12})
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["query"]["keywords"] == f"{rig.token} python" and saved["query"]["remote"] is True
    assert (saved["every_hours"], saved["enabled"], saved["want"]) == (12, True, 20)
    assert saved["links"]["run"] == f"{PUBLIC}/api/v1/saved-searches/{saved['id']}/run"
    assert [s["id"] for s in (await client.get("/api/v1/saved-searches")).json()] == [saved["id"]]
    patched = await client.patch(f"/api/v1/saved-searches/{saved['id']}", json={"name": "Renamed", "enabled": False})
    assert patched.status_code == 200 and (patched.json()["name"], patched.json()["enabled"]) == ("Renamed", False)
    assert (await client.get(f"/api/v1/saved-searches/{saved['id']}")).json()["name"] == "Renamed"
    bad = await client.post("/api/v1/saved-searches", json={"name": "x", "keywords": "py", "every_hours": 0})
    assert bad.status_code == 400
    assert (await client.delete(f"/api/v1/saved-searches/{saved['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/saved-searches/{saved['id']}")).status_code == 404


async def test_the_cron_job_runs_due_saved_searches_and_new_matches_land_in_the_feed(rig, signed_in, owner_engine):
    user, client = signed_in
    rig.configure(shared_result_seconds=0)  # the second run must not reuse the first run's source calls
    rig.adzuna.results = rig.adzuna.results[:6]
    rig.greenhouse.boards[rig.token] = []
    saved = (await client.post("/api/v1/saved-searches", json={"name": "S", "keywords": rig.token, "want": 5})).json()
    assert await refresh_saved_searches({"runtime": rig.rt}) == 1
    assert await refresh_saved_searches({"runtime": rig.rt}) == 0  # claimed until its next run
    await drain(rig)
    feed = (await client.get("/api/v1/feed")).json()
    assert feed["total"] == 6 and {i["status"] for i in feed["items"]} == {"new"}
    assert {i["saved_search_id"] for i in feed["items"]} == {saved["id"]}
    assert all(rig.token in i["job"]["title"] and i["job"]["content_status"] == "live" for i in feed["items"])
    after = (await client.get(f"/api/v1/saved-searches/{saved['id']}")).json()
    assert after["last_search_id"] is not None and after["last_run_at"] is not None
    assert after["next_run_at"] > after["last_run_at"]
    search = (await client.get(f"/api/v1/searches/{after['last_search_id']}")).json()
    assert search["status"] == "done" and search["saved_search_id"] == saved["id"]
    # a scheduled run is not a search the user made: the daily quota is untouched
    assert (await client.get("/api/v1/me/quotas")).json()["searches"]["used"] == 0

    # the user sets statuses; a later run adds only what is new and keeps them
    first = feed["items"][0]["posting_id"]
    changed = await client.patch(f"/api/v1/feed/{first}", json={"status": "applied"})
    assert changed.status_code == 200 and changed.json()["status"] == "applied"
    await client.patch(f"/api/v1/feed/{feed['items'][1]['posting_id']}", json={"status": "dismissed"})
    rig.adzuna.results = rig.adzuna.results + __import__("tests.search.loopback", fromlist=["x"]).adzuna_jobs(
        rig.token, 2, start=100)
    async with owner_engine.begin() as conn:  # the matches are stale: the sources are asked again
        await conn.execute(text("UPDATE query_matches SET matched_at = matched_at - interval '7 hours' "
                                "WHERE fingerprint = :f"), {"f": normalize(SearchIn(keywords=rig.token)).fingerprint()})
    await make_due(owner_engine, saved["id"])
    assert await refresh_saved_searches({"runtime": rig.rt}) == 1
    await drain(rig)
    feed = (await client.get("/api/v1/feed", params={"limit": 100})).json()
    assert feed["total"] == 8
    statuses = {i["posting_id"]: i["status"] for i in feed["items"]}
    assert statuses[first] == "applied" and list(statuses.values()).count("new") == 6
    applied = (await client.get("/api/v1/feed", params={"status": "applied"})).json()["items"]
    assert [i["posting_id"] for i in applied] == [first]
    refused = await client.patch(f"/api/v1/feed/{first}", json={"status": "starred"})
    assert refused.status_code == 400


async def test_run_now_answers_from_the_cache_and_fills_the_feed(rig, signed_in):
    user, client = signed_in
    first = (await client.post("/api/v1/searches", json={"keywords": rig.token, "want": 5})).json()
    await run_search({"runtime": rig.rt}, user_id=str(user), search_id=first["id"])
    saved = (await client.post("/api/v1/saved-searches", json={"name": "S", "keywords": rig.token, "want": 5})).json()
    response = await client.post(f"/api/v1/saved-searches/{saved['id']}/run")
    assert response.status_code == 200 and response.json()["cached"] is True
    feed = (await client.get("/api/v1/feed")).json()
    assert feed["total"] == 5
    assert (await client.get("/api/v1/me/quotas")).json()["searches"]["used"] == 2  # run now counts
    # every feed entry carries its match score for this user, with the breakdown
    for item in feed["items"]:
        assert item["match"]["posting_id"] == item["posting_id"]
        assert 0.0 <= item["match"]["score"] <= 1.0
        assert set(item["match"]["breakdown"]) >= {"skills", "similarity", "salary", "location"}


async def test_another_users_saved_searches_and_feed_are_not_found(rig, signed_in):
    user, client = signed_in
    saved = (await client.post("/api/v1/saved-searches", json={"name": "S", "keywords": rig.token, "want": 5})).json()
    await client.post(f"/api/v1/saved-searches/{saved['id']}/run")
    await drain(rig)
    posting = (await client.get("/api/v1/feed")).json()["items"][0]["posting_id"]
    other = await rig.user()
    async with rig.client() as theirs:
        theirs.headers.update(await rig.bearer(other))
        for method, path, body in (("GET", "", None), ("PATCH", "", {"name": "hacked"}), ("DELETE", "", None),
                                   ("POST", "/run", None)):
            mine = await theirs.request(method, f"/api/v1/saved-searches/{saved['id']}{path}", json=body)
            missing = await theirs.request(method, f"/api/v1/saved-searches/{uuid.uuid4()}{path}", json=body)
            assert mine.status_code == missing.status_code == 404 and mine.json()["code"] == "saved_search_not_found"
        assert (await theirs.get("/api/v1/feed")).json()["total"] == 0
        response = await theirs.patch(f"/api/v1/feed/{posting}", json={"status": "dismissed"})
        assert response.status_code == 404 and response.json()["code"] == "feed_entry_not_found"
    assert (await client.get(f"/api/v1/saved-searches/{saved['id']}")).json()["name"] == "S"
    assert (await client.get("/api/v1/feed")).json()["items"][0]["status"] == "new"
