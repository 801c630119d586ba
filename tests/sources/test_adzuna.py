from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.sources.fakes import adzuna_items
from zentropy.sources import SearchQuery, SourceError


async def test_search_sends_adzunas_parameters_and_normalizes_the_captured_results(adzuna_api, sources, ledger):
    fake, server = adzuna_api
    query = SearchQuery(keywords="analyst", location="London", distance_km=10, posted_within_days=7,
                        salary_min=30000, employment_type="full_time", sort_by="date", page_size=20)
    page = await sources.search("adzuna", query)

    request = server.requests[-1]
    assert request.path == "/v1/api/jobs/gb/search/1"
    assert {k: v[-1] for k, v in request.query.items()} == {
        "app_id": fake.app_id, "app_key": fake.app_key, "results_per_page": "20", "what": "analyst",
        "where": "London", "distance": "10", "max_days_old": "7", "salary_min": "30000", "full_time": "1",
        "sort_by": "date", "content-type": "application/json",
    }
    assert [p.title for p in page.postings] == ["Campaign Analyst"]
    posting = page.postings[0]
    assert posting.source == "adzuna" and posting.external_id == "3872420872"
    assert posting.company == "Adzuna" and posting.locations == ["Fulham, South West London"] and posting.country == "gb"
    assert posting.salary.min == 30000 and posting.salary.max == 34000 and posting.salary.currency == "GBP"
    assert posting.salary.period == "year" and posting.salary.predicted is False
    assert posting.employment_type == "full_time"
    assert posting.posted_at == datetime(2023, 1, 24, 16, 5, 5, tzinfo=timezone.utc)
    assert posting.source_url == posting.apply_url and posting.apply_url.startswith("https://www.adzuna.co.uk/jobs/")
    assert posting.description_text.startswith("Job Title: Campaign Analyst")
    assert posting.category == "PR, Advertising & Marketing Jobs" and posting.tags == ["pr-advertising-marketing-jobs"]
    assert posting.raw["adref"].startswith("eyJ")  # the raw item is kept as content
    assert page.total == 1 and page.next_cursor is None and page.skipped == 0

    [row] = await ledger.rows("adzuna")
    assert row["status"] == "ok" and row["items"] == 1 and row["requests"] == 1 and row["cost"] == 0
    assert row["query"]["keywords"] == "analyst" and fake.app_key not in str(row)


async def test_predicted_salary_is_the_string_one(adzuna_api, sources):
    page = await sources.search("adzuna", SearchQuery(keywords="reliability"))
    [posting] = page.postings
    assert posting.salary.predicted is True and posting.salary.min == posting.salary.max == 37258.19


async def test_pages_follow_the_page_number_until_the_count_is_reached(adzuna_api, sources):
    fake, server = adzuna_api
    fake.results = adzuna_items(60)
    seen, cursor, cursors = [], None, []
    while True:
        page = await sources.search("adzuna", SearchQuery(page_size=25), cursor)
        seen += [p.external_id for p in page.postings]
        cursors.append(page.next_cursor)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert cursors == ["2", "3", None]
    assert len(seen) == len(set(seen)) == 60
    assert [r.path for r in server.requests] == [f"/v1/api/jobs/gb/search/{n}" for n in (1, 2, 3)]


async def test_page_size_is_capped_at_fifty_and_country_comes_from_the_query(adzuna_api, sources):
    fake, server = adzuna_api
    await sources.search("adzuna", SearchQuery(page_size=80, country="de"))
    request = server.requests[-1]
    assert request.path == "/v1/api/jobs/de/search/1" and request.param("results_per_page") == "50"


async def test_country_adzuna_does_not_cover_is_refused_without_a_call(adzuna_api, sources, ledger):
    _, server = adzuna_api
    with pytest.raises(SourceError) as err:
        await sources.search("adzuna", SearchQuery(keywords="x", country="jp"))
    assert err.value.code == "unsupported_query" and "'jp'" in str(err.value)
    assert server.requests == []
    [row] = await ledger.rows("adzuna")
    assert row["status"] == "error" and row["error_code"] == "unsupported_query" and row["requests"] == 0


async def test_refused_credentials_name_the_settings_and_are_not_retried(adzuna_api, sources, ledger, monkeypatch):
    fake, server = adzuna_api
    monkeypatch.setenv("ADZUNA_APP_KEY", "wrong-key-d0-not-leak")
    with pytest.raises(SourceError) as err:
        await sources.search("adzuna", SearchQuery(keywords="analyst"))
    assert err.value.code == "auth_failed"
    assert "ADZUNA_APP_KEY" in str(err.value) and "AUTH_FAIL" in str(err.value)
    assert "wrong-key-d0-not-leak" not in str(err.value)
    assert len(server.requests) == 1  # 401 is never retried
    [row] = await ledger.rows("adzuna")
    assert row["error_code"] == "auth_failed" and "wrong-key-d0-not-leak" not in str(row)


async def test_without_keys_adzuna_is_listed_unconfigured_and_not_called(sources, ledger):
    state = {s.name: s for s in sources.sources()}["adzuna"]
    assert state.configured is False and state.problem.startswith("ADZUNA_APP_ID")
    assert state.info.tier == "free" and state.info.attribution == "Jobs by Adzuna"
    with pytest.raises(SourceError) as err:
        await sources.search("adzuna", SearchQuery(keywords="x"))
    assert err.value.code == "not_configured" and "ADZUNA_APP_ID: is required but not set" in str(err.value)
    [row] = await ledger.rows("adzuna")
    assert row["error_code"] == "not_configured" and row["requests"] == 0


async def test_a_malformed_result_is_skipped_and_counted(adzuna_api, sources):
    fake, _ = adzuna_api
    items = adzuna_items(4)
    del items[1]["title"]
    items[2]["redirect_url"] = {"not": "a url"}
    fake.results = items
    page = await sources.search("adzuna", SearchQuery())
    assert page.skipped == 2 and len(page.postings) == 2
