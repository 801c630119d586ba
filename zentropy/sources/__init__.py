"""Job sources: the contract (`contract`), and the resilience every source shares."""

from zentropy.sources.contract import (
    Page,
    Posting,
    RateLimit,
    Salary,
    SearchQuery,
    Source,
    SourceError,
    SourceInfo,
)

__all__ = ["Page", "Posting", "RateLimit", "Salary", "SearchQuery", "Source", "SourceError", "SourceInfo"]
