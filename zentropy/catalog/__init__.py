"""The shared job catalog: canonical postings, their listings, expiring content; `ingest`."""

from zentropy.catalog.content import PostingContent, content_status, read_content
from zentropy.catalog.ingest import company_aliases, ingest
from zentropy.catalog.schemas import IngestReport, IngestResult

__all__ = ["IngestReport", "IngestResult", "PostingContent", "company_aliases", "content_status", "ingest",
           "read_content"]
