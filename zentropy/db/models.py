"""Every table's model, imported in one place so Alembic and tests see the whole schema."""

from zentropy.auth.models import Account, AuthSession, VerificationToken
from zentropy.catalog.models import PostingContentRow, PostingKeyRow, PostingRow, PostingSourceRow
from zentropy.db.base import Base
from zentropy.llm.models import LLMSystemUsage, LLMUsage, LLMUserKey
from zentropy.sources.models import SourceCall
from zentropy.users.models import User, UserPreferences

metadata = Base.metadata

__all__ = ["Account", "AuthSession", "PostingContentRow", "PostingKeyRow", "PostingRow", "PostingSourceRow", "LLMSystemUsage", "LLMUsage", "LLMUserKey", "SourceCall", "User", "UserPreferences", "VerificationToken", "metadata"]
