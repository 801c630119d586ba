from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from zentropy.dedup.keys import dedup_keys
from zentropy.dedup.merge import merge, merge_canonicals, new_canonical
from zentropy.sources.contract import Posting, Salary

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def posting(**fields) -> Posting:
    base = dict(source="adzuna", external_id="1", title="Senior Accountant", company="Acme Manufacturing Ltd",
                locations=["Leeds"], description_text="Close the books every month. " * 10)
    return Posting(**{**base, **fields})


def canonical(p: Posting, now=T0, expires=None):
    return new_canonical(1, p, dedup_keys([p])[0], now, expires)


def merged(c, p: Posting, now=T0, expires=None):
    return merge(c, p, dedup_keys([p])[0], now, expires)


def test_salary_comes_from_whichever_listing_has_one():
    c = canonical(posting())
    with_salary = merged(c, posting(salary=Salary(min=45000, max=52000, currency="GBP", period="year")))
    assert (with_salary.salary_min, with_salary.salary_max, with_salary.salary_currency) == (45000, 52000, "GBP")
    assert merged(with_salary, posting()).salary_min == 45000  # a later listing without one keeps it


def test_a_stated_salary_beats_a_predicted_one():
    c = canonical(posting(salary=Salary(min=30000, max=40000, currency="GBP", predicted=True)))
    stated = merged(c, posting(salary=Salary(min=45000, max=52000, currency="GBP")))
    assert stated.salary_min == 45000 and not stated.salary_predicted
    assert merged(stated, posting(salary=Salary(min=1, max=2, currency="GBP", predicted=True))).salary_min == 45000


def test_an_ats_apply_url_beats_an_aggregators():
    c = canonical(posting(apply_url="https://www.adzuna.co.uk/jobs/details/1?utm_source=x"))
    ats = merged(c, posting(apply_url="https://jobs.lever.co/acme/1"))
    assert ats.apply_url == "https://jobs.lever.co/acme/1" and ats.apply_url_rank == 2
    assert merged(ats, posting(apply_url="https://www.indeed.com/viewjob?jk=1")).apply_url == ats.apply_url


def test_the_employer_names_the_posting_not_the_agency():
    c = canonical(posting(company="Robert Half", title="Senior Accountant - Manufacturing"))
    assert c.agency
    employer = merged(c, posting(company="Acme Manufacturing Ltd", title="Senior Accountant"))
    assert (employer.company, employer.title, employer.agency) == ("Acme Manufacturing Ltd", "Senior Accountant", False)
    assert merged(employer, posting(company="Hays", title="Accountant")).company == "Acme Manufacturing Ltd"


def test_earliest_posted_at_and_seen_times():
    c = canonical(posting(posted_at=T0 + timedelta(days=40)), now=T0 + timedelta(days=41))
    repost = merged(c, posting(posted_at=T0), now=T0 + timedelta(days=50))
    assert repost.posted_at == T0
    assert repost.first_seen_at == T0 + timedelta(days=41) and repost.last_seen_at == T0 + timedelta(days=50)


def test_the_fullest_descriptions_fingerprint_and_length_are_kept():
    c = canonical(posting(description_text="Short snippet of the job…"))
    full = merged(c, posting(description_text="Close the books every month and more. " * 20))
    assert full.shingles > c.shingles and full.description_length > c.description_length
    assert merged(full, posting(description_text="Short snippet of the job…")).signature == full.signature


def test_locations_and_tags_are_united_unknowns_filled():
    c = canonical(posting(locations=["Leeds"], tags=["finance"], remote="unknown"))
    m = merged(c, posting(locations=["Leeds, West Yorkshire", "York"], tags=["finance", "audit"], remote="hybrid",
                          employment_type="full_time", category="Accounting"))
    assert m.locations == ["Leeds", "Leeds, West Yorkshire", "York"]
    assert m.location_keys == ["leeds", "west yorkshire", "york"]
    assert m.tags == ["finance", "audit"] and m.remote == "hybrid"
    assert (m.employment_type, m.category) == ("full_time", "Accounting")


def test_content_expiry_is_the_latest():
    c = canonical(posting(), expires=T0 + timedelta(hours=24))
    assert merged(c, posting(), expires=T0 + timedelta(hours=30)).content_expires_at == T0 + timedelta(hours=30)
    assert merged(c, posting(), expires=T0 + timedelta(hours=2)).content_expires_at == T0 + timedelta(hours=24)


SALARIES = st.one_of(st.none(), st.builds(Salary, min=st.one_of(st.none(), st.integers(1, 10**6).map(float)),
                                          max=st.one_of(st.none(), st.integers(1, 10**6).map(float)),
                                          currency=st.sampled_from(["USD", "EUR"]), predicted=st.booleans()))
URLS = st.sampled_from([None, "https://jobs.lever.co/a/1", "https://www.adzuna.com/d/1", "https://acme.com/jobs/1",
                        "https://boards.greenhouse.io/a/jobs/2"])
DATES = st.one_of(st.none(), st.integers(0, 100).map(lambda d: T0 + timedelta(days=d)))
LISTINGS = st.builds(
    posting, salary=SALARIES, apply_url=URLS, posted_at=DATES,
    company=st.sampled_from(["Acme Ltd", "Robert Half", "ACME", None]),
    locations=st.lists(st.sampled_from(["Leeds", "York", "Remote", "Leeds, UK"]), max_size=2),
    tags=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    description_text=st.sampled_from(["", "Short one.", "Close the books every month. " * 12]),
)


@given(LISTINGS, st.lists(LISTINGS, min_size=1, max_size=4))
def test_merging_is_idempotent_and_loses_nothing(first, others):
    c = canonical(first)
    for p in others:
        c = merged(c, p)
    again = c
    for p in others:
        again = merged(again, p)
    assert again == c  # replaying changes nothing
    everyone = [first, *others]
    if any(p.salary and (p.salary.min is not None or p.salary.max is not None) for p in everyone):
        assert c.salary_min is not None or c.salary_max is not None
    dates = [p.posted_at for p in everyone if p.posted_at]
    assert c.posted_at == (min(dates) if dates else None)
    assert c.apply_url_rank == max(dedup_keys([p])[0].apply_url_rank for p in everyone)
    assert set(c.tags) == {t for p in everyone for t in p.tags}
    assert c.description_length == max(len(p.description_text) for p in everyone)


@given(st.lists(LISTINGS, min_size=1, max_size=3), st.lists(LISTINGS, min_size=1, max_size=3),
       st.integers(0, 30), st.integers(0, 30))
def test_two_postings_merged_keep_the_best_of_both_as_if_one_had_all_the_listings(ours, theirs, start_a, start_b):
    """Merging two canonical postings (zentropy.catalog.merging) gives what one posting with every
    listing of both would have: nothing lost, and merging again changes nothing."""

    def posting_of(listings: list[Posting], start: datetime):  # noqa: ANN202
        c = canonical(listings[0], now=start)
        for i, p in enumerate(listings[1:], 1):
            c = merged(c, p, now=start + timedelta(hours=i))
        return c

    a, b = posting_of(ours, T0 + timedelta(days=start_a)), posting_of(theirs, T0 + timedelta(days=start_b))
    both = merge_canonicals(a, b)
    assert both.id == a.id and merge_canonicals(both, b) == both
    everyone = [*ours, *theirs]
    if any(p.salary and (p.salary.min is not None or p.salary.max is not None) for p in everyone):
        assert both.salary_min is not None or both.salary_max is not None
    dates = [p.posted_at for p in everyone if p.posted_at]
    assert both.posted_at == (min(dates) if dates else None)
    assert both.apply_url_rank == max(a.apply_url_rank, b.apply_url_rank)
    assert set(both.tags) == set(a.tags) | set(b.tags)
    assert set(both.location_keys) == set(a.location_keys) | set(b.location_keys)
    assert both.description_length == max(len(p.description_text) for p in everyone)
    assert (both.first_seen_at, both.last_seen_at) == (min(a.first_seen_at, b.first_seen_at),
                                                      max(a.last_seen_at, b.last_seen_at))
    if a.company_key and b.company_key:
        assert both.agency == (a.agency and b.agency)  # an employer's name over an agency's
