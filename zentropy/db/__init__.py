"""Data layer: SQLAlchemy 2 async on PostgreSQL with pgvector, tenant isolation by row-level security."""

from zentropy.db.base import Base
from zentropy.db.engine import Database
from zentropy.db.tenant import current_user_id, tenant

__all__ = ["Base", "Database", "current_user_id", "tenant"]
