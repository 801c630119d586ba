"""What `ingest` reports, per posting and in total."""

from __future__ import annotations

from typing import Literal

import msgspec

Outcome = Literal["new", "duplicate", "updated", "unchanged"]


class IngestResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """`new`: a new canonical posting; `duplicate`: a new listing of an existing posting
    (`duplicate_of`), matched by `rule` with `score`; `updated` / `unchanged`: a listing seen
    before, whose posting did or did not change."""

    external_id: str
    posting_id: int
    outcome: Outcome
    duplicate_of: int | None = None
    rule: str | None = None  # "apply url", "score", "listing"
    score: float | None = None


class IngestReport(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    results: list[IngestResult]
    new: int = 0
    duplicates: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # postings left out: no external_id or no title, or repeated in the page

    @classmethod
    def of(cls, source: str, results: list[IngestResult], skipped: int = 0) -> IngestReport:
        counts = {"new": 0, "duplicate": 0, "updated": 0, "unchanged": 0}
        for r in results:
            counts[r.outcome] += 1
        return cls(source=source, results=results, new=counts["new"], duplicates=counts["duplicate"],
                   updated=counts["updated"], unchanged=counts["unchanged"], skipped=skipped)
