"""Cross-source dedup: normalizers, fingerprints, the duplicate decision and merge rules."""

from zentropy.dedup.companies import CompanyAliases, company_key
from zentropy.dedup.keys import DedupKeys, dedup_keys
from zentropy.dedup.locations import location_keys
from zentropy.dedup.merge import CanonicalPosting, merge, new_canonical
from zentropy.dedup.score import THRESHOLD, Decision, decide
from zentropy.dedup.titles import NormalizedTitle, normalize_title
from zentropy.dedup.urls import canonical_url, url_rank

__all__ = ["THRESHOLD", "CanonicalPosting", "CompanyAliases", "Decision", "DedupKeys", "NormalizedTitle",
           "canonical_url", "company_key", "decide", "dedup_keys", "location_keys", "merge", "new_canonical",
           "normalize_title", "url_rank"]
