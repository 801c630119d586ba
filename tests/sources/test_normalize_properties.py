"""Property tests: any item valid for an API normalizes; text, HTML, dates and salaries hold up."""

from __future__ import annotations

import html
import math
from datetime import datetime, timedelta, timezone

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from zentropy_plugins.sources import (
    adzuna,
    arbeitnow,
    greenhouse,
    lever,
    remotive,
    serpapi,
)

from zentropy.sources.normalize import (
    clean_text,
    html_to_text,
    normalize_items,
    parse_datetime,
    parse_salary_text,
    safe_html,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)

title = st.text(min_size=1, max_size=80).filter(lambda s: clean_text(s) != "")
text = st.text(max_size=200)
words = st.lists(st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12), max_size=12).map(" ".join)
url = st.builds(lambda p: f"https://example.com/{p}", st.text(st.characters(categories=["L", "N"]), max_size=20))
moment = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))
zone = st.sampled_from([timezone.utc, timezone(timedelta(hours=-4)), timezone(timedelta(hours=5, minutes=30))])
money = st.one_of(st.integers(0, 10_000_000), st.floats(0, 1e7, allow_nan=False))
html_text = st.builds(lambda a, b: f"<h2>{html.escape(a)}</h2>\n<p>{html.escape(b)} &amp; <b>more</b></p><ul><li>x</li></ul>",
                      text, text)
salary_words = st.one_of(text, st.sampled_from(["$175k - $225k", "81K–120K a year", "£30-34k", "15.50 an hour",
                                                "€50.000 - €60.000 per year", "Up to $90,000", "From 40k", ""]))


def one(source, item, normalize):
    postings, skipped = normalize_items(source, [item], normalize)
    assert skipped == 0, item
    [posting] = postings
    assert posting.source == source
    assert posting.raw == item or b"\\u0000" in msgspec.json.encode(item)  # kept whole, but for NUL characters
    if posting.salary is not None:
        low, high = posting.salary.min, posting.salary.max
        assert low is None or (low >= 0 and math.isfinite(low))
        assert high is None or (high >= 0 and math.isfinite(high))
        assert low is None or high is None or low <= high
    assert posting.posted_at is None or posting.posted_at.tzinfo is not None
    assert b"\\u0000" not in msgspec.json.encode(posting)  # PostgreSQL refuses NUL, raw included
    return posting


@SETTINGS
@given(st.fixed_dictionaries(
    {"__CLASS__": st.just("Adzuna::API::Response::Job"), "id": st.integers(1, 10**12).map(str), "title": title},
    optional={
        "description": text, "created": moment.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")), "redirect_url": url,
        "adref": text,
        "company": st.fixed_dictionaries({"__CLASS__": st.just("Adzuna::API::Response::Company")},
                                         optional={"display_name": text}),
        "location": st.fixed_dictionaries({}, optional={"display_name": text, "area": st.lists(text, max_size=4)}),
        "category": st.fixed_dictionaries({}, optional={"label": text, "tag": text}),
        "salary_min": money, "salary_max": money, "salary_is_predicted": st.sampled_from(["0", "1"]),
        "contract_time": st.sampled_from(["full_time", "part_time"]),
        "contract_type": st.sampled_from(["permanent", "contract"]),
        "latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180),
    }))
def test_any_adzuna_result_normalizes(item):
    posting = one("adzuna", item, lambda i: adzuna.normalize(i, "gb"))
    assert posting.external_id == item["id"] and posting.title == clean_text(item["title"])
    if posting.salary is not None:
        assert posting.salary.predicted is (item.get("salary_is_predicted") == "1")
        assert posting.salary.currency == "GBP" and posting.salary.period == "year"


@SETTINGS
@given(st.fixed_dictionaries(
    {"title": title, "job_id": st.text(st.characters(categories=["L", "N"]), min_size=8, max_size=60)},
    optional={
        "company_name": text, "location": text, "via": text, "share_link": url, "thumbnail": url,
        "description": text, "extensions": st.lists(text, max_size=5),
        "detected_extensions": st.fixed_dictionaries({}, optional={
            "posted_at": st.builds(lambda n, u: f"{n} {u} ago", st.integers(1, 400),
                                   st.sampled_from(["hours", "days", "day", "minutes"])),
            "salary": salary_words, "schedule_type": st.sampled_from(["Full-time", "Part-time", "Contractor",
                                                                      "Internship"]),
            "work_from_home": st.booleans(), "health_insurance": st.booleans()}),
        "job_highlights": st.lists(st.fixed_dictionaries({"title": text, "items": st.lists(text, max_size=3)}),
                                   max_size=3),
        "apply_options": st.lists(st.fixed_dictionaries({"title": text, "link": url}), max_size=3),
    }))
def test_any_google_jobs_result_normalizes(item):
    posting = one("serpapi", item, lambda i: serpapi.normalize(i, "us", NOW))
    options = item.get("apply_options") or []
    assert posting.apply_url == (options[0]["link"] if options else None)
    if (item.get("detected_extensions") or {}).get("work_from_home") is True:
        assert posting.remote == "remote"


@SETTINGS
@given(st.fixed_dictionaries(
    {"id": st.integers(1, 10**9), "title": title},
    optional={
        "url": url, "company_name": text, "company_logo": url, "category": text, "tags": st.lists(text, max_size=6),
        "job_type": st.sampled_from(["full_time", "part_time", "contract", "freelance", "internship", "other", ""]),
        "publication_date": moment.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
        "candidate_required_location": text, "salary": salary_words, "description": html_text,
    }))
def test_any_remotive_job_normalizes(item):
    posting = one("remotive", item, remotive.normalize)
    assert posting.remote == "remote" and posting.apply_url == item.get("url")
    if "publication_date" in item:
        assert posting.posted_at.replace(tzinfo=None).isoformat() == item["publication_date"]


@SETTINGS
@given(st.fixed_dictionaries(
    {"id": st.integers(1, 10**10), "title": title},
    optional={
        "absolute_url": url, "company_name": text, "internal_job_id": st.integers(1, 10**9),
        "location": st.fixed_dictionaries({"name": text}), "metadata": st.none(),
        "updated_at": st.builds(lambda d, z: d.replace(tzinfo=z).isoformat(), moment, zone),
        "first_published": st.builds(lambda d, z: d.replace(tzinfo=z).isoformat(), moment, zone),
        "content": html_text.map(html.escape),
        "departments": st.lists(st.fixed_dictionaries({"id": st.integers(), "name": text}), max_size=3),
        "offices": st.lists(st.fixed_dictionaries({"id": st.integers(), "name": text}), max_size=3),
    }))
def test_any_greenhouse_job_normalizes(item):
    posting = one("greenhouse", item, lambda i: greenhouse.normalize(i, "acme"))
    assert posting.external_id == f"acme:{item['id']}"
    assert "&lt;" not in posting.description_text  # the escaped HTML was unescaped, then made text


@SETTINGS
@given(st.fixed_dictionaries(
    {"slug": st.text(st.characters(categories=["Ll", "Nd"]), min_size=1, max_size=40), "title": title},
    optional={
        "company_name": text, "description": html_text, "remote": st.booleans(), "url": url,
        "tags": st.lists(text, max_size=5), "job_types": st.lists(text, max_size=3), "location": text,
        "created_at": st.integers(0, 4_000_000_000),
    }))
def test_any_arbeitnow_job_normalizes(item):
    posting = one("arbeitnow", item, arbeitnow.normalize)
    if item.get("remote") is True:
        assert posting.remote == "remote"


@SETTINGS
@given(st.fixed_dictionaries(
    {"id": st.uuids().map(str), "text": title},
    optional={
        "categories": st.fixed_dictionaries({}, optional={
            "commitment": text, "department": text, "location": text, "team": text,
            "allLocations": st.lists(text, max_size=3)}),
        "createdAt": st.integers(0, 4_000_000_000_000), "description": html_text, "descriptionPlain": text,
        "lists": st.lists(st.fixed_dictionaries({"text": text, "content": html_text}), max_size=3),
        "additional": html_text, "hostedUrl": url, "applyUrl": url,
        "workplaceType": st.sampled_from(["unspecified", "on-site", "remote", "hybrid"]),
        "country": st.one_of(st.none(), st.sampled_from(["US", "GB", "DE"])),
        "salaryRange": st.fixed_dictionaries({}, optional={
            "currency": st.sampled_from(["USD", "EUR"]), "min": money, "max": money,
            "interval": st.sampled_from(["per-year-salary", "per-month-salary", "per-hour-wage", "one-time"])}),
    }))
def test_any_lever_posting_normalizes(item):
    posting = one("lever", item, lambda i: lever.normalize(i, "acme", "Acme Inc."))
    assert posting.company == "Acme Inc." and posting.external_id.startswith("acme:")
    if "createdAt" in item:
        assert posting.posted_at is None or posting.posted_at == datetime.fromtimestamp(item["createdAt"] / 1000,
                                                                                        tz=timezone.utc)


@SETTINGS
@given(st.lists(st.one_of(st.none(), st.integers(), text, st.lists(st.integers()), st.dictionaries(text, text)),
                max_size=5))
def test_items_that_are_not_objects_are_skipped_and_counted(items):
    postings, skipped = normalize_items("adzuna", items, lambda i: adzuna.normalize(i, "gb"))
    assert postings == [] and skipped == len(items)


@SETTINGS
@given(st.text(max_size=300))
@example("AT&amp;T <b>bold</b> \x00 caf\u00e9 \u2028 &lt;")  # text that looks like markup stays text
def test_html_text_comes_back_as_its_words(value):
    expected = " ".join(clean_text(value).split())
    assert " ".join(html_to_text(f"<div><p>{html.escape(value)}</p></div>").split()) == expected
    escaped_twice = html.escape(f"<p>{html.escape(value)}</p>")  # Greenhouse's content
    assert " ".join(html_to_text(escaped_twice, escaped=True).split()) == expected


@SETTINGS
@given(st.text(max_size=100))
def test_safe_html_drops_scripts_and_handlers(value):
    cleaned = safe_html(f"<p>{value}</p><script>alert(1)</script><img src=x onerror=alert(2)><a href='javascript:x'>a</a>")
    assert cleaned is not None
    assert "<script" not in cleaned.lower() and "onerror" not in cleaned.lower() and "javascript:" not in cleaned.lower()


@SETTINGS
@given(salary_words)
def test_any_salary_text_gives_an_ordered_range_or_nothing(value):
    salary = parse_salary_text(value)
    if salary is not None:
        assert salary.min is not None or salary.max is not None
        for bound in (salary.min, salary.max):
            assert bound is None or (bound >= 0 and math.isfinite(bound))
        assert salary.min is None or salary.max is None or salary.min <= salary.max


def test_salary_texts_seen_in_the_wild():
    cases = {
        "$175k - $225k": (175_000, 225_000, "USD", "year"),
        "81K–120K a year": (81_000, 120_000, None, "year"),
        "£30-34k": (30_000, 34_000, "GBP", "year"),
        "15.50 an hour": (15.5, 15.5, None, "hour"),
        "€50.000 - €60.000 per year": (50_000, 60_000, "EUR", "year"),
        "Up to $90,000": (None, 90_000, "USD", "year"),
    }
    for value, (low, high, currency, period) in cases.items():
        salary = parse_salary_text(value)
        assert (salary.min, salary.max, salary.currency, salary.period) == (low, high, currency, period), value
    assert parse_salary_text("Competitive") is None and parse_salary_text("") is None


@SETTINGS
@given(moment, zone)
def test_dates_with_any_offset_become_the_same_instant_in_utc(when, tz):
    aware = when.replace(tzinfo=tz)
    parsed = parse_datetime(aware.isoformat())
    assert parsed == aware and parsed.utcoffset() == timedelta(0)
    seconds = int(aware.timestamp())
    assert parse_datetime(seconds) == parse_datetime(seconds * 1000)  # epoch seconds or milliseconds


@SETTINGS
@given(st.one_of(text, st.integers(), st.floats(), st.none(), st.booleans()))
def test_any_date_value_parses_or_is_none(value):
    parsed = parse_datetime(value)
    assert parsed is None or parsed.tzinfo is not None
