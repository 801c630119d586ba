"""Generate the labeled pair set: `python -m zentropy.dedup.data.generate [--check]`.

Deterministic (a fixed seed, no set iteration, no clock): the file it writes is the one shipped in
`labeled_pairs.jsonl`, and a test checks they agree. Each line is one pair of postings, `a` and
`b` (fields of `zentropy.sources.Posting`), labeled `duplicate: true/false`, with the `kind` of
case it stands for. The hand-written hard cases in `hard_cases.jsonl` come first, unchanged.

Generated cases, each modelled on what job sources really return:

duplicates
  cross_source      one posting from two sources: title abbreviated / reordered / with gender or
                    remote markers, legal form or alias of the company, another spelling of the
                    city, reformatted description with or without footer and EEO paragraph, the
                    same ATS apply URL with different tracking parameters in some
  truncated         an aggregator's snippet (the first 35-60 words) of the full description
  agency            a staffing agency's repost under its own name: its intro, "our client" for the
                    employer, no About paragraph, its own footer
  repost            the same employer posting the role again 20-90 days later with small edits
  alias_title       Meta/Facebook-style alias plus a generic vs specific title ("Senior Dev" vs
                    "Sr. React Engineer"), descriptions matching
  remote            a remote role described as "Remote", "Remote - US" or not at all
non-duplicates
  two_cities        the same title and description template at the same company, two cities
  other_team        same company, title and city, a different team's description
  other_role        same company, another role of the same family
  franchise         different employers posting the same template
  seniority         junior vs senior (or level II vs III) of one template at one company
  agency_other      an agency posting the same title for a different job
  same_family       different companies, same family of role
  generic_url       two roles sharing a careers-page URL that names no job
  truncated_other   a snippet of another team's posting, same title: hard, expected to fail
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from zentropy.dedup.data.pools import (
    ABOUT, AGENCIES, AGENCY_FOOTERS, AGENCY_INTROS, AGGREGATOR_SOURCES, ATS_SOURCES, BENEFITS, CITIES,
    COMPANIES, DOMAINS, EEO, FAMILIES, SOURCE_FOOTERS, TOOLS,
)

HERE = Path(__file__).parent
OUTPUT = HERE / "labeled_pairs.jsonl"
HARD_CASES = HERE / "hard_cases.jsonl"
SEED = 20261126
EPOCH = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)
COUNTS = {
    "cross_source": 90, "truncated": 30, "agency": 45, "repost": 30, "alias_title": 25, "remote": 15,
    "two_cities": 55, "other_team": 50, "other_role": 30, "franchise": 20, "seniority": 30,
    "agency_other": 20, "same_family": 25, "generic_url": 10, "truncated_other": 5,
}
DUPLICATE_KINDS = ("cross_source", "truncated", "agency", "repost", "alias_title", "remote")
ABBREVIATE = [("Senior", "Sr."), ("Junior", "Jr."), ("Developer", "Dev"), ("Engineer", "Eng"),
              ("Manager", "Mgr"), ("Representative", "Rep"), ("Software Engineer", "SWE"),
              ("Administrator", "Admin"), ("Operations", "Ops")]
SENIORITY = [None, None, "Senior", "Junior", "Lead", "Staff", "Principal"]


class Job:
    """One real opening, before any source renders it."""

    def __init__(self, rng: random.Random, *, company: int | None = None, family: str | None = None,
                 title: str | None = None, seniority: str | None = "random", city: int | None = None,
                 domain: str | None = None, avoid: Job | None = None) -> None:
        self.rng = rng
        self.company = rng.randrange(len(COMPANIES)) if company is None else company
        self.family = family or rng.choice(sorted(FAMILIES))
        titles, responsibilities, requirements = FAMILIES[self.family]
        self.title = title or rng.choice(titles)
        self.seniority = rng.choice(SENIORITY) if seniority == "random" else seniority
        self.city = rng.randrange(len(CITIES)) if city is None else city
        self.domain = domain or rng.choice([d for d in DOMAINS if avoid is None or d != avoid.domain])
        self.years = {"Junior": 1, None: 3, "Senior": 5, "Lead": 7, "Staff": 8, "Principal": 10}.get(
            self.seniority, 4)
        tools = TOOLS[self.family]
        fill = lambda s: s.format(tool=rng.choice(tools), domain=self.domain, years=self.years)  # noqa: E731
        # another team's posting picks other responsibilities where the family has enough of them
        pool = [r for r in responsibilities if avoid is None or r not in avoid.templates] or responsibilities
        self.templates = rng.sample(pool, min(len(pool), rng.randint(4, 6)))
        self.responsibilities = [fill(s) for s in self.templates]
        self.requirements = [fill(s) for s in rng.sample(requirements, min(len(requirements), rng.randint(3, 5)))]
        self.posted_at = EPOCH + timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
        self.salary = rng.choice([None, None, (60000, 90000), (90000, 130000), (120000, 180000)])
        self.job_id = rng.randrange(10**6, 10**7)

    @property
    def company_name(self) -> str:
        return COMPANIES[self.company][0]

    def full_title(self) -> str:
        return f"{self.seniority} {self.title}" if self.seniority else self.title

    def city_name(self) -> str:
        return CITIES[self.city][0].title()

    def about(self) -> list[str]:
        """The company's own About paragraph and benefits: the same in all its postings."""
        name, _, industry = COMPANIES[self.company]
        crng = random.Random(self.company * 7919)
        about = [t.format(company=name.split(",")[0], industry=industry, year=crng.randint(1950, 2020),
                          n=crng.randint(2, 40), size=crng.choice([500, 2000, 10000, 50000]))
                 for t in crng.sample(ABOUT, 2)]
        benefits = [b.format(days=crng.choice([25, 28, 30])) for b in crng.sample(BENEFITS, 4)]
        return about + benefits

    def eeo(self) -> str:
        return EEO[self.company % len(EEO)]

    def description(self, *, city: str | None = None, intro: str | None = None, about: bool = True,
                    eeo: bool = True, footer: str | None = None) -> list[str]:
        parts = self.about()[:2] if about else []
        parts.append(intro or f"We are looking for a {self.full_title()} to join our {self.domain} team in "
                              f"{city or self.city_name()}.")
        parts.append("What you will do:")
        parts += self.responsibilities
        parts.append("What we are looking for:")
        parts += self.requirements
        if about:
            parts.append("What we offer:")
            parts += self.about()[2:]
        if eeo:
            parts.append(self.eeo())
        if footer:
            parts.append(footer)
        return parts


def render_text(rng: random.Random, parts: list[str]) -> str:
    bullet = rng.choice(["", "- ", "• ", "* "])
    out = []
    for part in parts:
        is_heading = part.endswith(":")
        out.append(part if is_heading or not bullet else bullet + part)
    return rng.choice(["\n", "\n\n", " "]).join(out)


def vary_title(rng: random.Random, job: Job, *, country: str | None = None) -> str:
    title = job.full_title()
    if job.seniority and rng.random() < 0.2:
        title = f"{job.title}, {job.seniority}"
    for long, short in ABBREVIATE:
        if long in title and rng.random() < 0.5:
            title = title.replace(long, short)
    roll = rng.random()
    if roll < 0.15 and country == "de":
        title += rng.choice([" (m/w/d)", " (w/m/d)", " (m/f/d)"])
    elif roll < 0.3:
        title += rng.choice([" - Remote", " (Hybrid)", f" - {job.city_name()}", f" | {job.city_name()}",
                             " (Full Time)", " (Contract)"])
    if rng.random() < 0.1:
        title = title.upper()
    return title


def vary_company(rng: random.Random, index: int) -> str:
    name, others, _ = COMPANIES[index]
    return rng.choice([name] + others)


def vary_location(rng: random.Random, city: int) -> list[str]:
    return [rng.choice(CITIES[city][1])]


def apply_url(rng: random.Random, job: Job, source: str, listing: int) -> str:
    slug = COMPANIES[job.company][0].split()[0].lower().strip(",.")
    if source == "greenhouse":
        return f"https://boards.greenhouse.io/{slug}/jobs/{job.job_id}"
    if source == "lever":
        return f"https://jobs.lever.co/{slug}/{job.job_id:x}-{job.company:04x}"
    if source == "adzuna":
        return f"https://www.adzuna.co.uk/jobs/details/{listing}?utm_medium=api&utm_source=zentropy"
    if source == "serpapi":
        return f"https://www.indeed.com/viewjob?jk={listing:x}&from=serpapi"
    if source == "remotive":
        return f"https://remotive.com/remote-jobs/software-dev/{slug}-{listing}"
    return f"https://www.arbeitnow.com/jobs/companies/{slug}/{listing}"


def ats_url_with_tracking(rng: random.Random, job: Job) -> str:
    slug = COMPANIES[job.company][0].split()[0].lower().strip(",.")
    base = f"https://boards.greenhouse.io/{slug}/jobs/{job.job_id}"
    return base + rng.choice(["?gh_src=linkedin", "?utm_source=indeed&utm_campaign=jobs", "#app", "/"])


def posting(rng: random.Random, job: Job, *, source: str | None = None, title: str | None = None,
            company: str | None = None, locations: list[str] | None = None, country: str | None = "same",
            remote: str = "unknown", text: str | None = None, url: str | None = None,
            posted_at: datetime | None = None, salary: bool = True) -> dict[str, Any]:
    source = source or rng.choice(ATS_SOURCES + AGGREGATOR_SOURCES)
    listing = rng.randrange(10**8, 10**9)
    city_country = CITIES[job.city][2]
    record: dict[str, Any] = {
        "source": source,
        "external_id": str(listing),
        "title": title or vary_title(rng, job, country=city_country),
        "company": company if company is not None else vary_company(rng, job.company),
        "locations": vary_location(rng, job.city) if locations is None else locations,
        "country": city_country if country == "same" else country,
        "remote": remote,
        "posted_at": (posted_at or job.posted_at + timedelta(hours=rng.randint(0, 72))).isoformat(),
        "apply_url": url or apply_url(rng, job, source, listing),
        "description_text": text if text is not None else render_text(rng, job.description()),
    }
    if salary and job.salary and rng.random() < 0.6:
        record["salary"] = {"min": job.salary[0], "max": job.salary[1], "currency": "USD", "period": "year"}
    return record


def other_source(rng: random.Random, first: str) -> str:
    return rng.choice([s for s in ATS_SOURCES + AGGREGATOR_SOURCES if s != first])


def truncate(rng: random.Random, parts: list[str]) -> str:
    words = " ".join(parts).split()
    return " ".join(words[: rng.randint(35, 60)]) + "…"


# -- cases ----------------------------------------------------------------------------------------
def cross_source(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    a = posting(rng, job)
    parts = job.description(eeo=rng.random() < 0.7, footer=rng.choice([None, None] + SOURCE_FOOTERS))
    shared_url = rng.random() < 0.3
    b = posting(rng, job, source=other_source(rng, a["source"]), text=render_text(rng, parts),
                url=ats_url_with_tracking(rng, job) if shared_url else None)
    if shared_url:
        a["apply_url"] = ats_url_with_tracking(rng, job)
    return a, b


def truncated(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    a = posting(rng, job, source=rng.choice(ATS_SOURCES))
    b = posting(rng, job, source="adzuna", text=truncate(rng, job.description()))
    return a, b


def agency(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    name = rng.choice(AGENCIES)
    _, _, industry = COMPANIES[job.company]
    intro = rng.choice(AGENCY_INTROS).format(industry=industry, title=job.full_title(), city=job.city_name(),
                                             agency=name)
    parts = job.description(intro=intro, about=False, eeo=rng.random() < 0.3,
                            footer=rng.choice(AGENCY_FOOTERS).format(agency=name))
    a = posting(rng, job, source=rng.choice(ATS_SOURCES))
    b = posting(rng, job, source=rng.choice(AGGREGATOR_SOURCES), company=name, text=render_text(rng, parts),
                locations=rng.choice([vary_location(rng, job.city), vary_location(rng, job.city), []]))
    return a, b


def repost(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    source = rng.choice(ATS_SOURCES + AGGREGATOR_SOURCES)
    title, company, locations = vary_title(rng, job), vary_company(rng, job.company), vary_location(rng, job.city)
    a = posting(rng, job, source=source, title=title, company=company, locations=locations)
    parts = job.description()
    if rng.random() < 0.5:
        parts.insert(rng.randrange(2, len(parts)), rng.choice(["We are hiring again for this role.",
                                                              "This role was re-opened in November.",
                                                              "Immediate start available."]))
    else:
        parts.pop(rng.randrange(3, len(parts) - 1))
    later = job.posted_at + timedelta(days=rng.randint(20, 90))
    b = posting(rng, job, source=source, title=title, company=company, locations=locations,
                text=render_text(rng, parts), posted_at=later)
    return a, b


ALIASED = [0, 1, 2]  # companies known under another name (Meta/Facebook, Google/Alphabet, Amazon/AWS)


def alias_title(rng: random.Random) -> tuple[dict, dict]:
    company = rng.choice(ALIASED)
    title = rng.choice(["React Developer", "Python Developer", "Java Engineer", "Platform Engineer",
                        "Backend Developer"])
    job = Job(rng, company=company, family="software", title=title, seniority="Senior")
    names = [COMPANIES[company][0]] + COMPANIES[company][1]
    first, second = rng.sample(names, 2)
    generic = rng.choice(["Senior Dev", "Sr. Developer", "Senior Software Engineer", "Sr. Software Eng",
                          "Senior Engineer", "SWE, Senior"])
    specific = vary_title(rng, job)
    a = posting(rng, job, company=first, title=generic)
    b = posting(rng, job, source=other_source(rng, a["source"]), company=second, title=specific,
                text=render_text(rng, job.description(eeo=rng.random() < 0.5)))
    return a, b


def remote(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng, city=rng.choice([i for i, c in enumerate(CITIES) if c[2] == "us"]))
    parts = job.description(city="a fully remote team")
    a = posting(rng, job, source="remotive", locations=rng.choice([["Remote"], ["USA"], ["Remote - US"]]),
                remote="remote", text=render_text(rng, parts))
    b = posting(rng, job, source=rng.choice(ATS_SOURCES), remote="remote",
                locations=rng.choice([["Remote"], [], ["United States"], ["Anywhere in the US"]]),
                country=rng.choice(["us", None]), text=render_text(rng, parts))
    return a, b


def two_cities(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    other = rng.choice([i for i in range(len(CITIES)) if i != job.city])
    a = posting(rng, job)
    twin = Job(random.Random(0), company=job.company, family=job.family, title=job.title,
               seniority=job.seniority, city=other, domain=job.domain)
    twin.responsibilities, twin.requirements, twin.posted_at = job.responsibilities, job.requirements, job.posted_at
    twin.templates = job.templates
    twin.job_id = job.job_id + 1
    b = posting(rng, twin, title=vary_title(rng, twin))
    return a, b


def other_team(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    other = Job(rng, company=job.company, family=job.family, title=job.title, seniority=job.seniority,
                city=job.city, avoid=job)
    return posting(rng, job), posting(rng, other)


def other_role(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    titles = [t for t in FAMILIES[job.family][0] if t != job.title]
    other = Job(rng, company=job.company, family=job.family, title=rng.choice(titles),
                city=rng.choice([job.city, rng.randrange(len(CITIES))]))
    return posting(rng, job), posting(rng, other)


def franchise(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng, family=rng.choice(["operations", "healthcare", "sales"]))
    other_company = rng.choice([i for i in range(len(COMPANIES)) if i != job.company and i not in ALIASED])
    twin = Job(random.Random(1), company=other_company, family=job.family, title=job.title,
               seniority=job.seniority, city=rng.choice([job.city, rng.randrange(len(CITIES))]), domain=job.domain)
    twin.responsibilities, twin.requirements = job.responsibilities, job.requirements
    parts = lambda j: j.description(about=False)  # noqa: E731 - the template has no About paragraph
    return (posting(rng, job, text=render_text(rng, parts(job))),
            posting(rng, twin, text=render_text(rng, parts(twin))))


def seniority(rng: random.Random) -> tuple[dict, dict]:
    low, high = rng.choice([("Junior", "Senior"), ("Senior", "Lead"), (None, "Senior"), ("Junior", None)])
    job = Job(rng, seniority=low)
    if rng.random() < 0.3:
        job.title += " II"
        low = None
    twin = Job(random.Random(2), company=job.company, family=job.family, title=job.title.replace(" II", " III"),
               seniority=high, city=job.city, domain=job.domain)
    twin.responsibilities, twin.templates = job.responsibilities, job.templates
    twin.requirements = [r.replace(f"{job.years}+", f"{twin.years}+") for r in job.requirements]
    twin.job_id = job.job_id + 7
    return posting(rng, job), posting(rng, twin)


def agency_other(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    other = Job(rng, family=job.family, title=job.title, seniority=job.seniority, city=job.city)
    name = rng.choice(AGENCIES)
    _, _, industry = COMPANIES[other.company]
    intro = rng.choice(AGENCY_INTROS).format(industry=industry, title=other.full_title(),
                                             city=other.city_name(), agency=name)
    parts = other.description(intro=intro, about=False, footer=rng.choice(AGENCY_FOOTERS).format(agency=name))
    return posting(rng, job), posting(rng, other, company=name, text=render_text(rng, parts))


def same_family(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    other = Job(rng, company=rng.choice([i for i in range(len(COMPANIES)) if i != job.company]),
                family=job.family, city=rng.choice([job.city, rng.randrange(len(CITIES))]))
    return posting(rng, job), posting(rng, other)


def generic_url(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    other = Job(rng, company=job.company, family=job.family, city=job.city)
    slug = COMPANIES[job.company][0].split()[0].lower().strip(",.")
    url = f"https://www.{slug}.com/careers/"
    return posting(rng, job, url=url), posting(rng, other, url=url + "?utm_source=indeed")


def truncated_other(rng: random.Random) -> tuple[dict, dict]:
    job = Job(rng)
    other = Job(rng, company=job.company, family=job.family, title=job.title, seniority=job.seniority,
                city=job.city, avoid=job)
    return posting(rng, job), posting(rng, other, source="adzuna", text=truncate(rng, other.description()))


CASES = {name: globals()[name] for name in COUNTS}


def generate() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    rows = [json.loads(line) for line in HARD_CASES.read_text().splitlines() if line.strip()]
    for kind, count in COUNTS.items():
        for i in range(count):
            a, b = CASES[kind](rng)
            rows.append({"id": f"{kind}-{i:03d}", "kind": kind, "duplicate": kind in DUPLICATE_KINDS,
                         "a": a, "b": b})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the shipped file is out of date")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python -m zentropy.dedup.data.generate", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {text.count(chr(10))} pairs to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
