"""Job sources: the contract (`contract`), and the resilience every source shares."""

from zentropy.sources.contract import (
    ERROR_CODES,
    Page,
    Posting,
    Quota,
    RateLimit,
    Salary,
    SearchQuery,
    Source,
    SourceError,
    SourceFactory,
    SourceInfo,
)

__all__ = ["ERROR_CODES", "Page", "Posting", "Quota", "RateLimit", "Salary", "SearchQuery", "Source", "SourceError",
           "SourceFactory", "SourceInfo"]
