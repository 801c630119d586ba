"""Every table's model, imported in one place so Alembic and tests see the whole schema."""

from zentropy.db.base import Base
from zentropy.sources.models import SourceCall
from zentropy.users.models import User, UserPreferences

metadata = Base.metadata

__all__ = ["SourceCall", "User", "UserPreferences", "metadata"]
