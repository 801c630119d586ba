"""What a search records: whether the cache answered, which tiers and sources ran, what each
returned (new to the catalog, already known), what it cost."""

from __future__ import annotations

from typing import Literal

import msgspec

TierName = Literal["free", "premium"]
SourceStatus = Literal["pending", "ok", "exhausted", "failed", "skipped", "not_needed"]
TierStatus = Literal["pending", "ran", "not_needed", "skipped"]


class SourceReport(msgspec.Struct, kw_only=True):
    """`ok`: ran and stopped (enough results, or its page limit); `exhausted`: had no more;
    `failed`: an error (`error_code`, `error`), skipped after it; `skipped`: not called
    (`reason`); `not_needed`: enough results before its turn."""

    source: str
    status: SourceStatus = "pending"
    reason: str | None = None
    pages: int = 0  # pages read
    calls: int = 0  # of which this search called the source for (the others were shared)
    shared_pages: int = 0  # pages an identical search running at the same time fetched
    results: int = 0  # postings it returned that match the search
    new: int = 0  # of which new to the catalog
    duplicates: int = 0  # of which already in the catalog (the same listing, or the same job from another source)
    added: int = 0  # of which not already among this search's results
    cost: float = 0.0
    cost_unit: str = "call"
    error_code: str | None = None
    error: str | None = None
    cursor: str | None = None  # where a resumed search continues

    @property
    def final(self) -> bool:
        return self.status not in ("pending",)


class TierReport(msgspec.Struct, kw_only=True):
    tier: TierName
    status: TierStatus = "pending"
    reason: str | None = None  # why it was skipped
    results: int = 0  # results it added
    sources: list[SourceReport] = []

    def source(self, name: str) -> SourceReport:
        for report in self.sources:
            if report.source == name:
                return report
        raise KeyError(name)


class CacheReport(msgspec.Struct, kw_only=True):
    answered: bool
    matches: int  # fresh catalog matches found for the query


class SearchReport(msgspec.Struct, kw_only=True):
    cache: CacheReport | None = None
    tiers: list[TierReport] = []
    results: int = 0
    cost: float = 0.0
    premium_calls: int = 0

    def tier(self, name: str) -> TierReport:
        for report in self.tiers:
            if report.tier == name:
                return report
        raise KeyError(name)

    def public(self) -> dict:
        """As the API shows it (no resume cursors)."""
        data = msgspec.to_builtins(self)
        for tier in data["tiers"]:
            for source in tier["sources"]:
                source.pop("cursor", None)
        return data
