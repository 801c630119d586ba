"""Postings for the loopback job APIs (tests/sources/fakes.py), unique to one test.

Each test searches for a word of its own (`token`), so the shared catalog and cache tables of the
test database never mix tests. Every posting is a different job (its own title, company, apply
URL and description), so dedup keeps them apart unless a test makes them the same.
"""

from __future__ import annotations

import copy
import json
import random

from tests.sources.fakes import fixture

ROLES = ["Backend Engineer", "Data Analyst", "Product Designer", "Site Reliability Engineer", "Account Executive",
         "Machine Learning Engineer", "Technical Writer", "Security Analyst", "Mobile Developer", "QA Engineer"]
WORDS = ("harbor lantern quartz meadow falcon copper glacier orchid summit velvet ember prairie canyon willow "
         "granite saffron cobalt tundra marble juniper").split()


def _number(token: str, i: int) -> int:
    """An id of the test's own (external ids are unique per source across the catalog)."""
    return int(f"{int(token[-8:], 16) % 10**9}{i:05d}")


def _description(rng: random.Random, token: str, i: int) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(60))
    return f"Role {i} for {token}. {words}. We build things number {i} with {rng.choice(WORDS)} teams."


def adzuna_jobs(token: str, n: int, start: int = 0) -> list[dict]:
    base = fixture("adzuna_search.json")["results"][0]
    rng = random.Random(f"adzuna{token}")
    jobs = []
    for i in range(start, start + n):
        item = copy.deepcopy(base)
        item["id"] = str(_number(token, i))
        item["title"] = f"{ROLES[i % len(ROLES)]} {token} {i}"
        item["company"]["display_name"] = f"Adz Company {token} {i}"
        item["redirect_url"] = f"https://www.adzuna.co.uk/jobs/details/{token}{i}?utm_source=x"
        item["description"] = _description(rng, token, i)
        jobs.append(item)
    return jobs


def serpapi_jobs(token: str, n: int, start: int = 0) -> list[dict]:
    base = fixture("serpapi_google_jobs.json")["jobs_results"][0]
    rng = random.Random(f"serp{token}")
    jobs = []
    for i in range(start, start + n):
        job = copy.deepcopy(base)
        job["title"] = f"{ROLES[i % len(ROLES)]} {token} premium {i}"
        job["company_name"] = f"Serp Company {token} {i}"
        job["job_id"] = json.dumps({"token": token, "n": i})
        job["share_link"] = f"https://www.google.com/search?ibp=htl;jobs&htidocid={token}{i}"
        job.pop("apply_options", None)
        job["apply_options"] = [{"title": "Company site", "link": f"https://careers.example.com/{token}/premium/{i}"}]
        job["description"] = _description(rng, token, 1000 + i)
        jobs.append(job)
    return jobs


def greenhouse_jobs(token: str, n: int, start: int = 0) -> list[dict]:
    base = fixture("greenhouse.json")["jobs"][0]
    rng = random.Random(f"gh{token}")
    jobs = []
    for i in range(start, start + n):
        job = copy.deepcopy(base)
        job["id"] = _number(token, i)
        job["internal_job_id"] = _number(token, 50_000 + i)
        job["title"] = f"{ROLES[i % len(ROLES)]} {token} board {i}"
        job["company_name"] = f"Board Company {token} {i}"
        job["absolute_url"] = f"https://boards.greenhouse.io/{token}/jobs/{job['id']}"
        job["content"] = f"&lt;p&gt;{_description(rng, token, 2000 + i)}&lt;/p&gt;"
        jobs.append(job)
    return jobs
