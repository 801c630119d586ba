"""Everything dedup knows about a posting, computed for a batch: `dedup_keys(postings)`.

All of it is metadata: it is stored with the canonical posting and stays when content expires.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from zentropy.dedup.companies import DEFAULT_ALIASES, CompanyAliases, is_staffing_agency
from zentropy.dedup.fingerprints import description_text, fingerprint, stable_hash
from zentropy.dedup.locations import location_keys
from zentropy.dedup.text import words
from zentropy.dedup.titles import normalize_title
from zentropy.dedup.urls import canonical_url_and_rank
from zentropy.sources.contract import Posting


class DedupKeys(msgspec.Struct, kw_only=True, gc=False):
    title_key: str
    seniority: str | None
    company_key: str
    agency: bool
    location_keys: tuple[str, ...]
    country: str | None
    apply_url_key: str | None  # canonical apply URL
    apply_url_rank: int  # zentropy.dedup.urls: ATS 2, direct 1, aggregator 0, none -1
    signature: bytes | None  # MinHash of the description's shingles
    shingles: int  # how many: 0 without a description
    # The keys this posting is found by, and those its candidates are looked up by: in `posting_keys`,
    # but for `agency_keys` (its agency-namespace winnowing keys, among both), in `posting_agency_keys`.
    block_keys: list[int]
    lookup_keys: list[int] = []
    agency_keys: list[int] = []
    employer_keys: list[int] = []  # its employer-namespace winnowing keys (passage i: employer_keys[i], agency_keys[i])


def identity_keys(company_key: str, title_key: str, seniority: str | None, places: tuple[str, ...]) -> list[int]:
    """One per place (at most three): the same title at the same employer in the same place."""
    if not company_key or not title_key:
        return []
    title = " ".join(sorted(set(title_key.split())))
    return [stable_hash(f"identity:{company_key}|{seniority or ''}|{title}|{place}") for place in places[:3] or ("",)]


def url_key(apply_url_key: str) -> int:
    return stable_hash(f"url:{apply_url_key}")


def dedup_keys(postings: Sequence[Posting], aliases: CompanyAliases = DEFAULT_ALIASES) -> list[DedupKeys]:
    prints = fingerprint([description_text(p.description_text, p.description_html) for p in postings])
    bands = prints.bands.tolist()
    out: list[DedupKeys] = []
    for i, p in enumerate(postings):
        places = location_keys(p.locations)
        place_words = frozenset(words(" ".join(p.locations))) | {w for key in places for w in key.split()}
        title = normalize_title(p.title, place_words)
        company = aliases.key(p.company)
        apply, rank = canonical_url_and_rank(p.apply_url)
        shared = [url_key(apply)] if apply else []
        shared += identity_keys(company, title.key, title.seniority, places)
        if prints.shingles[i]:
            shared += bands[i]
        # Winnowing keys find an agency's repost of an employer's posting and the reverse: an
        # employer's keys are looked up by agencies, an agency's by employers (and agencies), so
        # an employer's About paragraph, shared by all its postings, never makes them candidates.
        agency = is_staffing_agency(company)
        as_employer, as_agency = prints.employer_winnows[i], prints.agency_winnows[i]
        if agency:
            blocks, lookups = shared + as_agency, shared + as_employer + as_agency
        else:
            blocks, lookups = shared + as_employer, shared + as_agency
        out.append(DedupKeys(
            title_key=title.key, seniority=title.seniority, company_key=company,
            agency=agency, location_keys=places,
            country=(p.country or None) and p.country.lower(), apply_url_key=apply,
            apply_url_rank=rank, signature=prints.signature_bytes(i),
            shingles=int(prints.shingles[i]), block_keys=blocks, lookup_keys=lookups, agency_keys=as_agency,
            employer_keys=as_employer,
        ))
    return out
