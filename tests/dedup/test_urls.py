from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zentropy.dedup.urls import AGGREGATOR, ATS, DIRECT, canonical_url, url_rank


@pytest.mark.parametrize(("url", "canonical"), [
    ("https://www.adzuna.co.uk/jobs/details/3872420872?utm_medium=api&utm_source=36e59&se=x",
     "adzuna.co.uk/jobs/details/3872420872"),
    ("HTTPS://Boards.Greenhouse.io/stripe/jobs/123?gh_src=abc#apply", "boards.greenhouse.io/stripe/jobs/123"),
    ("http://boards.greenhouse.io/stripe/jobs/123/", "boards.greenhouse.io/stripe/jobs/123"),
    ("https://jobs.lever.co/acme/0f3c?lever-source=linkedin&lever-origin=applied", "jobs.lever.co/acme/0f3c"),
    ("https://stripe.com/jobs/search?gh_jid=8172510&fbclid=x&gclid=y", "stripe.com/jobs/search?gh_jid=8172510"),
    ("https://www.indeed.com/viewjob?jk=a9b7&from=serp&vjs=3", "indeed.com/viewjob?jk=a9b7&vjs=3"),
    ("https://example.com:443//careers//job/7", "example.com/careers/job/7"),
    ("https://example.com:8443/job?b=2&a=1", "example.com:8443/job?a=1&b=2"),
    ("mailto:jobs@example.com", None),
    ("not a url", None),
    ("", None),
    (None, None),
])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(("url", "rank"), [
    ("https://boards.greenhouse.io/acme/jobs/1", ATS), ("https://job-boards.greenhouse.io/acme/jobs/1", ATS),
    ("https://jobs.lever.co/acme/1", ATS), ("https://acme.wd5.myworkdayjobs.com/en-US/jobs/job/1", ATS),
    ("https://jobs.ashbyhq.com/acme/1", ATS), ("https://careers.acme.com/jobs/1", DIRECT),
    ("https://www.adzuna.co.uk/jobs/details/1", AGGREGATOR), ("https://www.adzuna.de/details/1", AGGREGATOR),
    ("https://www.linkedin.com/jobs/view/1", AGGREGATOR), ("https://remotive.com/remote-jobs/x-1", AGGREGATOR),
    ("https://notgreenhouse.io/x", DIRECT), (None, -1), ("garbage", -1),
])
def test_url_rank_puts_an_ats_over_a_company_site_over_an_aggregator(url, rank):
    assert url_rank(url) == rank


PATHS = st.lists(st.text(alphabet="abcdefghij0123456789-_", min_size=1, max_size=8), max_size=4).map("/".join)
PARAMS = st.dictionaries(st.sampled_from(["id", "jk", "gh_jid", "page", "q"]), st.text("abc123", min_size=1, max_size=5),
                         max_size=3)
TRACKING = st.dictionaries(st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "gclid", "fbclid", "ref",
                                            "gh_src", "trk"]), st.text("xyz789", min_size=1, max_size=5), max_size=3)


def _url(host: str, path: str, params: dict) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"https://{host}/{path}" + (f"?{query}" if query else "")


@given(PATHS, PARAMS, TRACKING)
def test_tracking_parameters_never_matter(path, params, tracking):
    assert canonical_url(_url("jobs.example.com", path, {**params, **tracking})) == canonical_url(
        _url("jobs.example.com", path, params))


@given(PATHS, PARAMS)
def test_canonical_urls_are_fixed_points(path, params):
    canonical = canonical_url(_url("Jobs.Example.com", path, params))
    assert canonical_url("https://" + canonical) == canonical
    assert canonical_url(_url("www.jobs.example.com", path, dict(reversed(params.items())))) == canonical
