"""Every table's model, imported in one place so Alembic and tests see the whole schema."""

from zentropy.auth.models import Account, AuthSession, VerificationToken
from zentropy.db.base import Base
from zentropy.llm.models import LLMSystemUsage, LLMUsage, LLMUserKey
from zentropy.sources.models import SourceCall
from zentropy.users.models import User, UserPreferences

metadata = Base.metadata

__all__ = ["Account", "AuthSession", "LLMSystemUsage", "LLMUsage", "LLMUserKey", "SourceCall", "User", "UserPreferences", "VerificationToken", "metadata"]
