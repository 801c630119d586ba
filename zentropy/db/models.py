"""Every table's model, imported in one place so Alembic and tests see the whole schema."""

from zentropy.auth.models import Account, AuthSession, VerificationToken
from zentropy.catalog.models import PostingContentRow, PostingKeyRow, PostingRow, PostingSourceRow
from zentropy.db.base import Base
from zentropy.feed.models import FeedEntry, SavedSearch
from zentropy.llm.models import LLMSystemUsage, LLMUsage, LLMUserKey
from zentropy.matching.models import PostingEmbedding, PostingExtraction, UserProfileEmbedding
from zentropy.purge.models import ContentPurge
from zentropy.quotas.models import QuotaUsage, UserQuota
from zentropy.search.models import QueryMatch, QueryRun, Search, SearchPreferences, SourcePriority
from zentropy.sources.models import SourceCall
from zentropy.users.models import User, UserPreferences

metadata = Base.metadata

__all__ = ["Account", "AuthSession", "PostingContentRow", "PostingKeyRow", "PostingRow", "PostingSourceRow", "LLMSystemUsage", "LLMUsage", "LLMUserKey", "SourceCall", "User", "UserPreferences", "VerificationToken", "metadata",
           "FeedEntry", "SavedSearch", "QuotaUsage", "UserQuota", "QueryMatch", "QueryRun", "Search",
           "SearchPreferences", "SourcePriority", "ContentPurge",
           "PostingEmbedding", "PostingExtraction", "UserProfileEmbedding"]
