"""Synthetic postings at volume, for throughput runs.

`stream(n, seed)` yields `n` postings as several sources would return them: most are the first
listing of a job, `duplicate_share` are another source's listing of a job already streamed
(abbreviated title, legal form of the company, another footer, an agency's repost now and then).
Companies and cities scale with `n` (one company per ~25 jobs), so a larger catalog has more
employers, not just more postings per employer.

Descriptions (~1.5 KB) are word salad with the statistics that matter to dedup: words drawn from
a Zipf distribution over a 30,000-word vocabulary (unrelated postings share few word triples,
as real ones do), the employer's own About paragraph in each of its postings, and one verbatim
equal-opportunity paragraph in a third of all postings (real boilerplate, the case LSH blocking
must survive). The labeled pairs (`zentropy/dedup/data`) are the readable, hand-checked set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import numpy as np

from zentropy.dedup.data.pools import AGENCIES, CITIES, EEO, FAMILIES
from zentropy.sources.contract import Posting, Salary

EPOCH = datetime(2026, 9, 1, tzinfo=timezone.utc)
SOURCES = ("adzuna", "serpapi", "remotive", "arbeitnow", "greenhouse", "lever")
_SYLLABLES = ["nor", "ta", "vex", "lum", "qua", "zen", "tri", "ox", "mar", "cel", "bri", "on", "dyn", "ar", "sol",
              "vi", "kra", "pol", "ent", "ia", "ster", "gon", "ul", "ix"]
_FORMS = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "AG", "B.V.", "plc", "S.A.", ""]
_INDUSTRIES = ["payments", "logistics", "healthcare", "retail", "energy", "insurance", "travel", "education",
               "gaming", "media", "security", "manufacturing", "biotech", "real estate", "telecom"]
_PLACES = ["ville", "ton", "burg", "field", "port", "stad", "berg", "haven"]


def _company(rng: random.Random, i: int) -> tuple[str, str]:
    name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{name} {i}", rng.choice(_INDUSTRIES)


class _Words:
    """Pseudo-words with Zipf frequencies; sentences of them."""

    def __init__(self, seed: int, size: int = 30_000) -> None:
        rng = random.Random(seed)
        self.vocabulary = np.array(["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
                                    for _ in range(size)])
        weights = 1.0 / np.arange(1, size + 1) ** 1.05
        self.cumulative = np.cumsum(weights) / weights.sum()
        self.np = np.random.default_rng(seed)

    def sentences(self, count: int, low: int = 9, high: int = 18) -> list[str]:
        lengths = self.np.integers(low, high, size=count)
        picks = self.vocabulary[np.searchsorted(self.cumulative, self.np.random(int(lengths.sum())))]
        out, at = [], 0
        for length in lengths:
            out.append(" ".join(picks[at: at + length]).capitalize() + ".")
            at += length
        return out


def _city(i: int) -> tuple[str, str]:
    if i < len(CITIES):
        return CITIES[i][1][0], CITIES[i][2]
    return f"{_SYLLABLES[i % 24].capitalize()}{_PLACES[(i // 24) % 8]} {i}", "us"


def stream(n: int, seed: int = 7, duplicate_share: float = 0.3) -> Iterator[Posting]:
    rng = random.Random(seed)
    words = _Words(seed)
    companies = [_company(rng, i) for i in range(max(8, n // 25))]
    abouts: dict[int, list[str]] = {}
    cities = [_city(i) for i in range(max(20, n // 500))]
    families = sorted(FAMILIES)
    jobs: list[tuple] = []
    for index in range(n):
        if jobs and rng.random() < duplicate_share:
            yield _relisting(rng, rng.choice(jobs), index)
            continue
        c = rng.randrange(len(companies))
        company, industry = companies[c]
        if c not in abouts:
            abouts[c] = [f"{company} is a {industry} company."] + words.sentences(2)
        title = rng.choice(FAMILIES[rng.choice(families)][0])
        seniority = rng.choice(["", "", "Senior ", "Junior ", "Lead "])
        city, country = cities[rng.randrange(len(cities))]
        body = (abouts[c] + [f"We are looking for a {seniority}{title} to join our team in {city}."]
                + words.sentences(12) + ([EEO[0]] if rng.random() < 1 / 3 else []))
        posted = EPOCH + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        salary = Salary(min=50000.0 + 1000 * rng.randrange(60), max=None, currency="USD", period="year") \
            if rng.random() < 0.4 else None
        job = (company, f"{seniority}{title}", city, country, "\n".join(body), posted, salary, index)
        jobs.append(job)
        yield _listing(rng, job, rng.choice(SOURCES), index)


def _listing(rng: random.Random, job: tuple, source: str, index: int, **changes) -> Posting:
    company, title, city, country, text, posted, salary, job_id = job
    slug = company.split()[0].lower()
    url = (f"https://boards.greenhouse.io/{slug}/jobs/{job_id}" if source == "greenhouse" else
           f"https://jobs.lever.co/{slug}/{job_id:x}" if source == "lever" else
           f"https://www.{source}.com/jobs/{index}?utm_source=zentropy")
    fields = dict(source=source, external_id=f"{source}-{index}", title=title, company=company, locations=[city],
                  country=country, posted_at=posted, apply_url=url, source_url=url, description_text=text,
                  salary=salary, raw={"id": index, "title": title, "company": company})
    fields.update(changes)
    return Posting(**fields)


def _relisting(rng: random.Random, job: tuple, index: int) -> Posting:
    company, title, city, country, text, posted, salary, job_id = job
    source = rng.choice(SOURCES)
    changes: dict = {"title": title.replace("Senior", "Sr.").replace("Developer", "Dev")}
    roll = rng.random()
    if roll < 0.15:
        agency = rng.choice(AGENCIES)
        lines = text.split("\n")
        changes.update(company=agency, description_text="\n".join(
            [f"Our client is hiring a {title} in {city}."] + lines[3:] + [f"{agency} is an employment agency."]))
    elif roll < 0.6:
        changes.update(company=f"{company} {rng.choice(_FORMS)}".strip(),
                       description_text=text + "\n" + rng.choice(["Apply now.", "Posted via our partner board."]))
    return _listing(rng, job, source, index, posted_at=posted + timedelta(hours=rng.randint(0, 48)), **changes)
