"""Faults, for every source alike (through Adzuna's real wire format, or a minimal test source)."""

from __future__ import annotations

import asyncio
import json
import logging

import msgspec
import pytest
from redis.asyncio import Redis

from tests.sources.conftest import FAST
from tests.sources.fakes import FakeServer, Reply, Request, adzuna_items, json_reply
from tests.sources.tiny import tiny_source, with_sources
from zentropy.sources import RateLimit, SearchQuery, SourceError
from zentropy.sources.service import SourceService

QUERY = SearchQuery(keywords="analyst")
QUICK = msgspec.structs.replace(FAST, read_timeout=0.15, total_timeout=0.3)  # for waits that must run out


def good(fake) -> Reply:
    """The answer the fake gives to QUERY, to replay with faults."""
    query = {"app_id": [fake.app_id], "app_key": [fake.app_key], "what": ["analyst"]}
    return fake(Request("GET", "/v1/api/jobs/gb/search/1", query, {}))


async def expect_error(sources, code: str, query: SearchQuery = QUERY, name: str = "adzuna") -> SourceError:
    with pytest.raises(SourceError) as err:
        await sources.search(name, query)
    assert err.value.code == code, err.value
    return err.value


async def test_timeout_is_retried_then_reported(adzuna_api, make_service, ledger):
    fake, server = adzuna_api
    server.script.extend([Reply(delay=1.0), Reply(delay=1.0), Reply(delay=1.0)])
    error = await expect_error(make_service(QUICK), "timeout")
    assert "did not answer in time" in str(error) and fake.app_key not in str(error)
    assert len(server.requests) == 3  # one call, two retries
    [row] = await ledger.rows("adzuna")
    assert row["status"] == "error" and row["error_code"] == "timeout" and row["requests"] == 3


async def test_a_timeout_then_an_answer_loses_nothing(adzuna_api, make_service):
    fake, server = adzuna_api
    server.script.append(Reply(delay=1.0))
    page = await make_service(QUICK).search("adzuna", QUERY)
    assert [p.title for p in page.postings] == ["Campaign Analyst"] and len(server.requests) == 2


async def test_slow_drip_ends_at_the_deadline(adzuna_api, make_service):
    """Each chunk comes within the read timeout, but the whole body takes longer than allowed."""
    fake, server = adzuna_api
    drip = Reply(body=good(fake).payload(), drip=0.08, chunk=256)
    assert len(drip.payload()) > 5 * 256  # more than 0.3 s of drip
    server.script.extend([drip, drip, drip])
    await expect_error(make_service(QUICK), "timeout")
    assert len(server.requests) == 3


async def test_429_retry_after_is_honoured_then_the_call_succeeds(adzuna_api, sources, ledger):
    fake, server = adzuna_api
    server.script.append(json_reply({"exception": "RATE_LIMITED"}, 429, **{"Retry-After": "0.2"}))
    page = await sources.search("adzuna", QUERY)
    assert len(page.postings) == 1
    first, second = server.requests
    assert second.at - first.at >= 0.2  # it waited at least as long as it was told
    [row] = await ledger.rows("adzuna")
    assert row["status"] == "ok" and row["requests"] == 2


async def test_long_retry_after_fails_fast_and_every_process_holds_off(adzuna_api, sources, make_service):
    fake, server = adzuna_api
    server.script.append(json_reply({"exception": "RATE_LIMITED"}, 429, **{"Retry-After": "120"}))
    error = await expect_error(sources, "rate_limited")
    assert error.retry_after == 120 and len(server.requests) == 1
    other = make_service()  # another process: same Redis, nothing shared in memory
    error = await expect_error(other, "rate_limited")
    assert 100 < error.retry_after <= 120 and "no call was made" in str(error)
    assert len(server.requests) == 1


async def test_500_is_retried(adzuna_api, sources):
    fake, server = adzuna_api
    server.script.extend([json_reply({"error": "boom"}, 500), Reply(status=502, body=b"<html>bad gateway</html>")])
    page = await sources.search("adzuna", QUERY)
    assert len(page.postings) == 1 and len(server.requests) == 3


async def test_persistent_500_is_unavailable(adzuna_api, sources, ledger):
    fake, server = adzuna_api
    server.script.extend([Reply(status=500)] * 3)
    error = await expect_error(sources, "unavailable")
    assert "HTTP 500" in str(error) and "app_key" not in str(error)
    [row] = await ledger.rows("adzuna")
    assert row["error_code"] == "unavailable" and row["requests"] == 3 and row["cost"] == 0


async def test_503_retry_after_as_an_http_date_is_understood(adzuna_api, sources):
    fake, server = adzuna_api
    server.script.append(Reply(status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    page = await sources.search("adzuna", QUERY)  # a date in the past: retry at once
    assert len(page.postings) == 1 and len(server.requests) == 2


async def test_malformed_json_is_a_bad_response_not_a_crash(adzuna_api, sources, ledger):
    fake, server = adzuna_api
    server.script.append(Reply(body=b'{"results": [{"id": "1", "title": '))
    error = await expect_error(sources, "bad_response")
    assert "not valid JSON" in str(error)
    assert len(server.requests) == 1  # a complete but unreadable answer is not retried
    [row] = await ledger.rows("adzuna")
    assert row["error_code"] == "bad_response"


async def test_truncated_body_is_retried_then_reported(adzuna_api, sources):
    fake, server = adzuna_api
    cut = Reply(body=good(fake).payload(), truncate=40)
    server.script.extend([cut, cut, cut])
    error = await expect_error(sources, "bad_response")
    assert "cut short" in str(error) and len(server.requests) == 3


async def test_a_truncated_body_then_a_whole_one_loses_nothing(adzuna_api, sources):
    fake, server = adzuna_api
    server.script.append(Reply(body=good(fake).payload(), truncate=40))
    page = await sources.search("adzuna", QUERY)
    assert len(page.postings) == 1


async def test_an_answer_of_the_wrong_shape_is_a_bad_response(adzuna_api, sources):
    fake, server = adzuna_api
    server.script.append(json_reply({"results": {"not": "a list"}}))
    await expect_error(sources, "bad_response")
    server.script.append(json_reply(["not", "an", "object"]))
    await expect_error(sources, "bad_response")


async def test_an_empty_page_is_a_page(adzuna_api, sources, ledger):
    fake, server = adzuna_api
    page = await sources.search("adzuna", SearchQuery(keywords="nothing-matches-this"))
    assert page.postings == [] and page.next_cursor is None and page.total == 0
    [row] = await ledger.rows("adzuna")
    assert row["status"] == "ok" and row["items"] == 0


async def test_a_response_too_large_is_refused(adzuna_api, make_service):
    fake, server = adzuna_api
    fake.results = adzuna_items(30)
    sources = make_service(msgspec.structs.replace(FAST, max_response_bytes=2048))
    await expect_error(sources, "bad_response", SearchQuery())


async def test_breaker_opens_after_failures_in_a_row_then_one_probe_closes_it(adzuna_api, sources, make_service):
    fake, server = adzuna_api
    server.script.extend([Reply(status=500)] * 9)  # three calls of three attempts
    for _ in range(3):
        await expect_error(sources, "unavailable")
    assert len(server.requests) == 9
    error = await expect_error(make_service(), "circuit_open")  # in any process
    assert 0 < error.retry_after <= FAST.breaker_cooldown and len(server.requests) == 9
    await asyncio.sleep(FAST.breaker_cooldown + 0.05)
    page = await sources.search("adzuna", QUERY)  # the probe: it succeeds, the breaker closes
    assert len(page.postings) == 1
    assert len((await sources.search("adzuna", QUERY)).postings) == 1


async def test_a_failed_probe_opens_the_breaker_again_at_once(adzuna_api, sources):
    fake, server = adzuna_api
    server.script.extend([Reply(status=500)] * 12)
    for _ in range(3):
        await expect_error(sources, "unavailable")
    await asyncio.sleep(FAST.breaker_cooldown + 0.05)
    await expect_error(sources, "unavailable")  # the probe fails
    await expect_error(sources, "circuit_open")
    assert len(server.requests) == 12


async def test_refused_credentials_do_not_open_the_breaker(adzuna_api, make_service, monkeypatch):
    fake, server = adzuna_api
    monkeypatch.setenv("ADZUNA_APP_KEY", "nope")
    refused = make_service()
    for _ in range(5):
        await expect_error(refused, "auth_failed")
    monkeypatch.setenv("ADZUNA_APP_KEY", fake.app_key)  # the operator fixes the key
    assert len((await make_service().search("adzuna", QUERY)).postings) == 1
    assert len(server.requests) == 6


async def test_over_the_rate_limit_no_call_is_made(runtime, key_prefix, ledger):
    hits = []

    def handler(request):
        hits.append(request)
        return json_reply({"jobs": [{"id": len(hits), "title": "Job"}]})

    with FakeServer(handler) as server:
        factory = tiny_source("tiny-limited", server.url, limits=(RateLimit(3, 60), RateLimit(5, 86_400)))
        async with SourceService(with_sources(runtime, factory), policy=FAST, key_prefix=key_prefix) as sources:
            for _ in range(3):
                await sources.search("tiny-limited", QUERY)
            error = await expect_error(sources, "rate_limited", name="tiny-limited")
            assert 0 < error.retry_after <= 60
    assert len(hits) == 3
    rows = await ledger.rows("tiny-limited")
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "error"] and rows[-1]["requests"] == 0
    assert rows[-1]["cost"] == 0


async def test_a_daily_limit_reached_is_a_spent_quota(runtime, key_prefix):
    with FakeServer(lambda r: json_reply({"jobs": []})) as server:
        factory = tiny_source("tiny-daily", server.url, limits=(RateLimit(2, 86_400),))
        async with SourceService(with_sources(runtime, factory), policy=FAST, key_prefix=key_prefix) as sources:
            await sources.search("tiny-daily", QUERY)
            await sources.search("tiny-daily", QUERY)
            error = await expect_error(sources, "quota_exhausted", name="tiny-daily")
            assert 86_000 < error.retry_after <= 86_400
        assert server.count() == 2


async def test_provider_credits_are_a_budget_shared_by_all_processes(runtime, key_prefix, ledger):
    state = {"left": 2}

    def handler(request):
        if request.path == "/account":
            return json_reply({"left": state["left"]})
        state["left"] -= 1
        return json_reply({"jobs": []})

    with FakeServer(handler) as server:
        factory = tiny_source("tiny-credits", server.url, cost=1.0, quota=True)
        rt = with_sources(runtime, factory)
        async with SourceService(rt, policy=FAST, key_prefix=key_prefix) as one, \
                SourceService(rt, policy=FAST, key_prefix=key_prefix) as two:
            await one.search("tiny-credits", QUERY)
            await two.search("tiny-credits", QUERY)
            error = await expect_error(one, "quota_exhausted", name="tiny-credits")
            assert "no call was made" in str(error)
        assert server.count("/jobs") == 2 and server.count("/account") == 1  # read once, then shared
    operations = [(r["operation"], r["status"]) for r in await ledger.rows("tiny-credits")]
    assert operations == [("quota", "ok"), ("search", "ok"), ("search", "ok"), ("search", "error")]


async def test_a_failed_search_gives_its_credit_back(runtime, key_prefix):
    state = {"fail": True}

    def handler(request):
        if request.path == "/account":
            return json_reply({"left": 1})
        if state["fail"]:
            return Reply(status=500)
        return json_reply({"jobs": [{"id": 1, "title": "Job"}]})

    with FakeServer(handler) as server:
        factory = tiny_source("tiny-refund", server.url, cost=1.0, quota=True)
        async with SourceService(with_sources(runtime, factory), policy=FAST, key_prefix=key_prefix) as sources:
            await expect_error(sources, "unavailable", name="tiny-refund")
            state["fail"] = False
            page = await sources.search("tiny-refund", QUERY)  # the one credit is still there
            assert len(page.postings) == 1


async def test_without_redis_no_call_is_made(runtime, key_prefix):
    import dataclasses

    hits = []
    with FakeServer(lambda r: hits.append(r) or json_reply({"jobs": []})) as server:
        factory = tiny_source("tiny-noredis", server.url, limits=(RateLimit(10, 60),))
        dead = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
        rt = dataclasses.replace(with_sources(runtime, factory), redis=dead)
        async with SourceService(rt, policy=FAST, key_prefix=key_prefix) as sources:
            error = await expect_error(sources, "unavailable", name="tiny-noredis")
        await dead.aclose()
    assert "Redis" in str(error) and hits == []


async def test_a_plugin_that_breaks_on_an_answer_gives_a_source_error(runtime, key_prefix, caplog):
    with FakeServer(lambda r: json_reply({"no_jobs_key": []})) as server:
        factory = tiny_source("tiny-buggy", server.url)
        async with SourceService(with_sources(runtime, factory), policy=FAST, key_prefix=key_prefix) as sources:
            error = await expect_error(sources, "bad_response", name="tiny-buggy")
    assert "KeyError" in str(error)
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


async def test_secrets_never_reach_logs_errors_or_the_ledger(adzuna_api, sources, ledger, caplog, monkeypatch):
    fake, server = adzuna_api
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    await sources.search("adzuna", QUERY)
    server.script.extend([Reply(status=500)] * 3)
    with pytest.raises(SourceError) as err:
        await sources.search("adzuna", QUERY)
    monkeypatch.setenv("ADZUNA_APP_KEY", "another-s3cret-value")
    other = SourceService(sources.runtime, policy=FAST, key_prefix=sources.key_prefix)
    with pytest.raises(SourceError) as refused:
        await other.search("adzuna", QUERY)
    await other.aclose()
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "HTTP Request" in logged  # httpx did log the requests...
    for secret in (fake.app_key, "another-s3cret-value"):
        assert secret not in logged  # ...without their query strings
        assert secret not in str(err.value) and secret not in str(refused.value)
        assert secret not in json.dumps([str(r) for r in await ledger.rows()])


async def test_the_ledger_holds_no_posting_content(adzuna_api, sources, ledger):
    page = await sources.search("adzuna", QUERY)
    row = str(await ledger.rows("adzuna"))
    assert page.postings[0].description_text[:40] not in row and "Campaign Analyst" not in row
