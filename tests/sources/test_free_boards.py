"""Remotive, Arbeitnow, Greenhouse and Lever: the no-key sources, each against its wire format."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.sources.fakes import (
    Reply,
    arbeitnow_jobs,
    greenhouse_jobs,
    lever_postings,
    remotive_jobs,
)
from zentropy.sources import SearchQuery, SourceError
from zentropy_plugins.sources import greenhouse


async def all_pages(sources, name, query):
    postings, cursor, cursors = [], None, []
    while True:
        page = await sources.search(name, query, cursor)
        postings += page.postings
        cursors.append(page.next_cursor)
        if page.next_cursor is None:
            return postings, cursors
        cursor = page.next_cursor


async def test_free_sources_work_with_no_settings(sources):
    states = {s.name: s for s in sources.sources()}
    for name in ("remotive", "arbeitnow", "greenhouse", "lever"):
        assert states[name].configured is True and states[name].info.tier == "free", states[name]
    assert states["serpapi"].configured is False and states["serpapi"].info.tier == "premium"
    assert states["remotive"].info.attribution and states["arbeitnow"].info.attribution


# -- Remotive ------------------------------------------------------------------------------------------
async def test_remotive_normalizes_the_captured_jobs_and_links_back_to_remotive(remotive_api, sources):
    page = await sources.search("remotive", SearchQuery())
    assert [p.title for p in page.postings] == ["Business Transformation Lead", "Assistant Account Payable",
                                                "Head of Engineering"]
    lead = page.postings[0]
    assert lead.external_id == "2090881" and lead.company == "Expion Health" and lead.remote == "remote"
    assert lead.apply_url == lead.source_url == "https://remotive.com/remote-jobs/artificial-intelligence/business-transformation-lead-2090881"
    assert lead.salary.min == 175_000 and lead.salary.max == 225_000 and lead.salary.currency == "USD"
    assert lead.posted_at == datetime(2026, 6, 12, 21, 30, 58, tzinfo=timezone.utc)  # no zone given: UTC
    assert lead.description_text.startswith("Title: Business Transformation Lead\n\nLocation: Fully Remote")
    assert "Service & Growth" in lead.description_text  # entities decoded
    assert lead.description_html.startswith("<p><strong>Title</strong>")
    assert lead.tags[:2] == ["api", "AI/ML"] and lead.category == "Artificial Intelligence"
    assert lead.employment_type == "full_time" and lead.locations == ["USA"]
    assert page.postings[1].salary is None  # "" is no salary


async def test_remotive_filters_locally(remotive_api, sources):
    page = await sources.search("remotive", SearchQuery(keywords="engineering"))
    assert [p.title for p in page.postings] == ["Head of Engineering"]
    page = await sources.search("remotive", SearchQuery(location="USA"))
    assert len(page.postings) == 2


async def test_remotive_list_is_read_once_for_every_search_and_process(remotive_api, sources, make_service, ledger):
    fake, server = remotive_api
    fake.jobs = remotive_jobs(45)
    postings, cursors = await all_pages(sources, "remotive", SearchQuery(page_size=20))
    assert cursors == ["0:20", "0:40", None] and len({p.external_id for p in postings}) == 45
    await make_service().search("remotive", SearchQuery(keywords="lead"))
    assert server.count() == 1  # Remotive asks for a few calls a day at most
    assert [r["requests"] for r in await ledger.rows("remotive")] == [1, 0, 0, 0]


# -- Arbeitnow -----------------------------------------------------------------------------------------
async def test_arbeitnow_normalizes_its_documented_format(arbeitnow_api, sources):
    page = await sources.search("arbeitnow", SearchQuery())
    first = page.postings[0]
    assert first.external_id == "senior-python-developer-100000" and first.company == "Acme GmbH"
    assert first.posted_at == datetime.fromtimestamp(1_764_000_000, tz=timezone.utc)
    assert first.remote == "onsite" and first.employment_type == "full_time" and first.locations == ["Berlin"]
    assert first.description_text.startswith("Wir suchen dich & dein Team.")
    assert page.postings[1].company == "Müller & Söhne AG" and page.postings[1].employment_type == "full_time"
    assert page.postings[3].remote == "remote" and page.postings[3].employment_type == "internship"
    assert page.next_cursor is None


async def test_arbeitnow_follows_links_next(arbeitnow_api, sources):
    fake, server = arbeitnow_api
    fake.jobs = arbeitnow_jobs(250)
    postings, cursors = await all_pages(sources, "arbeitnow", SearchQuery(page_size=100))
    assert cursors == ["1:0", "2:0", None]
    assert len({p.external_id for p in postings}) == 250
    assert [r.param("page") for r in server.requests] == ["1", "2", "3"]


async def test_arbeitnow_reads_a_few_pages_for_sparse_matches(arbeitnow_api, sources):
    fake, server = arbeitnow_api
    fake.jobs = arbeitnow_jobs(250)
    page = await sources.search("arbeitnow", SearchQuery(keywords="designer", page_size=60))
    assert len(page.postings) == 50 and {p.title for p in page.postings} == {"UX Designer"}
    assert page.next_cursor is None and server.count() == 3
    remote = await sources.search("arbeitnow", SearchQuery(remote_only=True, page_size=10))
    assert {p.remote for p in remote.postings} == {"remote"}


# -- Greenhouse ----------------------------------------------------------------------------------------
async def test_greenhouse_unescapes_content_and_normalizes_the_captured_board(greenhouse_api, sources):
    fake, server = greenhouse_api
    page = await sources.search("greenhouse", SearchQuery())
    assert server.requests[0].path == "/v1/boards/stripe/jobs" and server.requests[0].param("content") == "true"
    abuse = page.postings[0]
    assert abuse.external_id == "stripe:8172510" and abuse.title == "Abuse Investigator" and abuse.company == "Stripe"
    assert abuse.description_text.startswith("Who we are\n\nAbout Stripe\n\nStripe is a financial infrastructure")
    assert "&lt;" not in abuse.description_text and "<h2>" not in abuse.description_text
    assert abuse.description_html.startswith("<h2>Who we are</h2>")
    assert abuse.posted_at == datetime(2026, 9, 9, 14, 50, 29, tzinfo=timezone.utc)
    assert abuse.locations == ["Seattle, San Francisco, New York City"]
    assert abuse.category == "8611 Security Analytics" and abuse.apply_url == "https://stripe.com/jobs/search?gh_jid=8172510"


async def test_greenhouse_pages_through_boards_in_order_and_skips_a_missing_one(greenhouse_api, sources, monkeypatch,
                                                                                caplog):
    fake, server = greenhouse_api
    fake.boards = {"stripe": greenhouse_jobs(3), "acme": greenhouse_jobs(4, company="Acme")}
    monkeypatch.setenv("GREENHOUSE_BOARDS", "stripe, gone ,acme")
    postings, cursors = await all_pages(sources, "greenhouse", SearchQuery(page_size=5))
    assert [p.company for p in postings] == ["Stripe"] * 3 + ["Acme"] * 4
    assert cursors == ["2:2", None]
    assert "greenhouse board not found" in caplog.text
    assert server.count("/v1/boards/stripe") == 1 and server.count("/v1/boards/acme") == 1  # kept a while


async def test_paging_through_a_board_normalizes_it_once(greenhouse_api, sources, monkeypatch):
    """Every page of a search reads the whole board: its postings are normalized at the first page
    and kept for the next ones (`zentropy.sources.scan.Normalized`), for a minute."""
    fake, _ = greenhouse_api
    fake.boards = {"stripe": greenhouse_jobs(45)}
    normalized = []
    plain = greenhouse.normalize
    monkeypatch.setattr(greenhouse, "normalize", lambda item, board: normalized.append(item["id"]) or plain(item, board))
    postings, cursors = await all_pages(sources, "greenhouse", SearchQuery(page_size=10))
    assert len(postings) == 45 and len(cursors) == 5
    assert sorted(normalized) == sorted(job["id"] for job in fake.boards["stripe"])  # each once, not once a page
    kept = sources._source("greenhouse")[0].normalized
    kept.clock = lambda: float("inf")  # a minute later, the board is normalized again (from the response cache)
    await sources.search("greenhouse", SearchQuery(page_size=10))
    assert len(normalized) == 90


async def test_greenhouse_fetches_one_posting_again(greenhouse_api, sources, ledger):
    fake, server = greenhouse_api
    posting = await sources.fetch("greenhouse", "stripe:7954688")
    assert posting.title == "Account Executive, AI Sales (Grower)" and posting.external_id == "stripe:7954688"
    assert server.requests[-1].path == "/v1/boards/stripe/jobs/7954688"
    assert await sources.fetch("greenhouse", "stripe:1") is None  # gone: 404
    assert await sources.fetch("greenhouse", "../../etc:passwd") is None  # never sent
    assert server.count() == 2
    rows = await ledger.rows("greenhouse")
    assert [(r["operation"], r["status"], r["items"]) for r in rows] == [("fetch", "ok", 1), ("fetch", "ok", 0),
                                                                         ("fetch", "ok", 0)]


async def test_a_source_without_fetch_says_so(sources):
    with pytest.raises(SourceError) as err:
        await sources.fetch("remotive", "2090881")
    assert err.value.code == "unsupported_query"


# -- Lever ---------------------------------------------------------------------------------------------
async def test_lever_normalizes_its_documented_format(lever_api, sources):
    fake, server = lever_api
    page = await sources.search("lever", SearchQuery())
    assert server.requests[0].path == "/v0/postings/leverdemo" and server.requests[0].param("mode") == "json"
    engineer, executive, designer, scientist = page.postings
    assert engineer.external_id == "leverdemo:5ac21346-8e0c-4494-8e7a-3eb92ff00000"
    assert engineer.posted_at == datetime.fromtimestamp(1_760_000_000, tz=timezone.utc)  # createdAt in ms
    assert engineer.remote == "remote" and executive.remote == "onsite" and designer.remote == "hybrid"
    assert scientist.remote == "unknown" and engineer.country == "us" and executive.country == "gb"
    assert engineer.salary.min == 150_000 and engineer.salary.period == "year" and engineer.salary.currency == "USD"
    assert executive.salary is None
    assert engineer.employment_type == "full_time" and designer.employment_type == "internship"
    assert engineer.locations == ["San Francisco", "New York"]
    assert engineer.apply_url.endswith("/apply") and engineer.source_url == f"https://jobs.lever.co/leverdemo/{engineer.raw['id']}"
    assert "Requirements" in engineer.description_text and "5+ years" in engineer.description_text
    assert engineer.tags == ["Platform", "Engineering"] and engineer.category == "Platform"


async def test_lever_postings_are_named_by_their_sites_company(lever_api, sources, make_service, monkeypatch):
    """Lever's API names no company: the posting's is the one LEVER_SITES gives its site, else the
    site's own name (which cross-source dedup can only match when it is the company's key)."""
    assert {p.company for p in (await sources.search("lever", SearchQuery())).postings} == {"leverdemo"}
    monkeypatch.setenv("LEVER_SITES", "leverdemo=Lever Demo Inc.")
    named = make_service()  # a source reads its settings when it is built
    page = await named.search("lever", SearchQuery())
    assert {p.company for p in page.postings} == {"Lever Demo Inc."}
    pid = page.postings[0].raw["id"]
    assert (await named.fetch("lever", f"leverdemo:{pid}")).company == "Lever Demo Inc."


async def test_lever_filters_by_country_and_remote(lever_api, sources):
    fake, server = lever_api
    fake.sites["leverdemo"] = lever_postings(12)
    page = await sources.search("lever", SearchQuery(country="gb"))
    assert len(page.postings) == 3 and {p.country for p in page.postings} == {"gb"}
    page = await sources.search("lever", SearchQuery(remote_only=True, keywords="engineer"))
    assert {p.title for p in page.postings} == {"Senior Software Engineer"} and len(page.postings) == 3


async def test_lever_fetches_one_posting_again(lever_api, sources):
    fake, server = lever_api
    pid = fake.sites["leverdemo"][1]["id"]
    posting = await sources.fetch("lever", f"leverdemo:{pid}")
    assert posting.title == "Account Executive" and server.requests[-1].path == f"/v0/postings/leverdemo/{pid}"
    assert await sources.fetch("lever", "leverdemo:00000000-dead-beef-0000-000000000000") is None


async def test_a_lever_site_that_answers_html_is_a_bad_response(lever_api, sources):
    fake, server = lever_api
    server.script.append(Reply(body="<div class='lever'></div>", headers={"Content-Type": "text/html"}))
    with pytest.raises(SourceError) as err:
        await sources.search("lever", SearchQuery())
    assert err.value.code == "bad_response"
