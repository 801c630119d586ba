from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.sources.fakes import serpapi_jobs
from zentropy.sources import Quota, SearchQuery, SourceError


async def test_search_sends_google_jobs_parameters_and_normalizes_the_captured_jobs(serpapi_api, sources, ledger):
    fake, server = serpapi_api
    query = SearchQuery(keywords="designer", location="Boston, Massachusetts, United States", country="us",
                        distance_km=25)
    page = await sources.search("serpapi", query)

    search = [r for r in server.requests if r.path == "/search.json"][-1]
    assert {k: v[-1] for k, v in search.query.items()} == {
        "engine": "google_jobs", "q": "designer", "location": "Boston, Massachusetts, United States", "gl": "us",
        "hl": "en", "lrad": "25", "api_key": fake.api_key,
    }
    assert [p.title for p in page.postings] == ["Graphic Designer", "Designer"]
    graphic, designer = page.postings
    assert graphic.source == "serpapi" and graphic.external_id.startswith("eyJqb2JfdGl0bGUiOiJHcmFwaGlj")
    assert graphic.company == "Cell Signaling Technology" and graphic.locations == ["Danvers, MA"]
    assert graphic.salary.min == 81_000 and graphic.salary.max == 120_000
    assert graphic.salary.period == "year" and graphic.salary.currency == "USD"
    assert graphic.employment_type == "full_time" and designer.employment_type == "part_time"
    assert abs(graphic.posted_at - (datetime.now(timezone.utc) - timedelta(days=3))) < timedelta(minutes=5)
    assert graphic.apply_url.startswith("https://www.indeed.com/viewjob?jk=a9b71d0d25e1de09")  # apply_options[0]
    assert graphic.source_url.startswith("https://www.google.com/search?ibp=htl;jobs")
    assert graphic.description_text.startswith("Who we are")
    assert designer.salary is None and designer.posted_at is None and designer.remote == "unknown"
    assert page.next_cursor is None

    rows = await ledger.rows("serpapi")
    assert [(r["operation"], r["cost"]) for r in rows] == [("quota", 0.0), ("search", 1.0)]
    assert fake.api_key not in str(rows)


async def test_paging_is_by_next_page_token_only(serpapi_api, sources):
    fake, server = serpapi_api
    fake.jobs = serpapi_jobs(25)
    titles, cursor, pages = [], None, 0
    while True:
        page = await sources.search("serpapi", SearchQuery(keywords="designer"), cursor)
        titles += [p.title for p in page.postings]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert pages == 3 and len(titles) == len(set(titles)) == 25
    searches = [r for r in server.requests if r.path == "/search.json"]
    assert searches[0].param("next_page_token") is None
    assert all(r.param("next_page_token") for r in searches[1:]) and all(r.param("start") is None for r in searches)


async def test_fully_empty_is_an_empty_page_not_a_failure(serpapi_api, sources, ledger):
    page = await sources.search("serpapi", SearchQuery(keywords="zzyzx-no-such-job"))
    assert page.postings == [] and page.next_cursor is None and page.skipped == 0
    search = [r for r in await ledger.rows("serpapi") if r["operation"] == "search"]
    assert search[0]["status"] == "ok" and search[0]["cost"] == 1.0


async def test_remote_only_asks_for_work_from_home_and_reads_it_back(serpapi_api, sources):
    fake, server = serpapi_api
    fake.jobs[0]["detected_extensions"]["work_from_home"] = True
    page = await sources.search("serpapi", SearchQuery(keywords="designer", remote_only=True))
    assert server.requests[-1].param("ltype") == "1"
    assert [p.remote for p in page.postings] == ["remote", "unknown"]


async def test_invalid_key_names_the_setting(serpapi_api, sources, monkeypatch):
    fake, server = serpapi_api
    monkeypatch.setenv("SERPAPI_API_KEY", "not-the-key")
    with pytest.raises(SourceError) as err:
        await sources.search("serpapi", SearchQuery(keywords="designer"))
    assert err.value.code == "auth_failed" and "SERPAPI_API_KEY" in str(err.value)
    assert "not-the-key" not in str(err.value)
    assert fake.searches == 0


async def test_remaining_searches_come_from_account_json(serpapi_api, sources, ledger):
    fake, server = serpapi_api
    fake.searches_left = 42
    assert await sources.quota("serpapi") == Quota(remaining=42, limit=5000, used=0)
    [row] = await ledger.rows("serpapi")
    assert row["operation"] == "quota" and row["cost"] == 0 and fake.searches == 0


async def test_no_search_is_made_when_the_account_has_none_left(serpapi_api, sources):
    fake, server = serpapi_api
    fake.searches_left = 0
    with pytest.raises(SourceError) as err:
        await sources.search("serpapi", SearchQuery(keywords="designer"))
    assert err.value.code == "quota_exhausted" and err.value.retry_after > 0
    assert server.count("/search.json") == 0


async def test_run_out_of_searches_is_a_spent_quota_and_stops_all_calls(serpapi_api, sources, make_service):
    fake, server = serpapi_api
    await sources.search("serpapi", SearchQuery(keywords="designer"))  # budget read: 100 left
    fake.searches_left = 0  # spent elsewhere meanwhile
    with pytest.raises(SourceError) as err:
        await sources.search("serpapi", SearchQuery(keywords="designer"))
    assert err.value.code == "quota_exhausted" and "run out of searches" in str(err.value)
    made = server.count("/search.json")
    with pytest.raises(SourceError) as again:
        await make_service().search("serpapi", SearchQuery(keywords="designer"))
    assert again.value.code == "quota_exhausted" and server.count("/search.json") == made  # 429 is not retried
