"""Extraction and embeddings of catalog postings, and match scores of postings for a user.

`await match(runtime, user_id, posting_ids)` -> {posting_id: Match}; the cron job
`extract_new_postings` fills `posting_extractions` and `posting_embeddings`.
"""

from zentropy.matching.schemas import Breakdown, Component, Match
from zentropy.matching.service import match

__all__ = ["Breakdown", "Component", "Match", "match"]
