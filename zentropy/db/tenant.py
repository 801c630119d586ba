"""The tenant context: which user the current request or job acts for.

Every transaction a `Database` session begins sets `zentropy.user_id` with
`set_config(..., true)` — local to that transaction, so nothing leaks through the pool. With no
user set, row-level security shows no tenant rows (fail closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, text
from sqlalchemy.orm import Session

SETTING = "zentropy.user_id"
current_user_id: ContextVar[uuid.UUID | None] = ContextVar("zentropy_user_id", default=None)


@contextmanager
def tenant(user_id: uuid.UUID | str | None) -> Iterator[None]:
    """Act as `user_id` for the transactions begun inside this block."""
    value = uuid.UUID(str(user_id)) if user_id is not None else None
    token = current_user_id.set(value)
    try:
        yield
    finally:
        current_user_id.reset(token)


class TenantSession(Session):
    """A Session whose every transaction carries the tenant context."""


@event.listens_for(TenantSession, "after_begin")
def _set_tenant(session: Session, transaction, connection) -> None:  # noqa: ANN001
    user_id = current_user_id.get()
    if user_id is not None:
        connection.execute(text("SELECT set_config(:name, :value, true)"), {"name": SETTING, "value": str(user_id)})
