"""A user's preferences, and the onboarding they complete."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from zentropy.db import Database, tenant
from zentropy.users.models import UserPreferences
from zentropy.users.schemas import Preferences, PreferencesIn


def _clean(items: list[str]) -> list[str]:
    """Trimmed, non-empty, first occurrence of each (case-insensitively)."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        value = " ".join(item.split())
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def normalized(prefs: PreferencesIn) -> PreferencesIn:
    return PreferencesIn(
        skills=_clean(prefs.skills), salary_min=prefs.salary_min,
        salary_currency=prefs.salary_currency.upper() if prefs.salary_currency else None,
        locations=_clean(prefs.locations), remote=prefs.remote,
    )


def missing(prefs: PreferencesIn) -> list[str]:
    """What onboarding still needs; empty when complete."""
    out = []
    if not prefs.skills:
        out.append("skills")
    if prefs.salary_min is None:
        out.append("salary_min")
    if not prefs.salary_currency:
        out.append("salary_currency")
    if not prefs.locations and prefs.remote is not True:
        out.append("locations_or_remote")
    return out


def _view(row: UserPreferences | None) -> Preferences:
    if row is None:
        return Preferences(skills=[], salary_min=None, salary_currency=None, locations=[], remote=None,
                           completed=False, completed_at=None)
    return Preferences(skills=list(row.skills), salary_min=row.salary_min, salary_currency=row.salary_currency,
                       locations=list(row.locations), remote=row.remote, completed=row.completed_at is not None,
                       completed_at=row.completed_at)


async def get_preferences(db: Database, user_id: uuid.UUID) -> Preferences:
    with tenant(user_id):
        async with db.session() as s:
            return _view(await s.get(UserPreferences, user_id))


async def is_onboarded(db: Database, user_id: uuid.UUID) -> bool:
    with tenant(user_id):
        async with db.session() as s:
            completed_at = (await s.execute(
                select(UserPreferences.completed_at).where(UserPreferences.user_id == user_id))).scalar()
    return completed_at is not None


async def save_preferences(db: Database, user_id: uuid.UUID, prefs: PreferencesIn) -> Preferences:
    """Store complete preferences (the caller checked `missing`), completing onboarding."""
    now = datetime.now(UTC)
    values = {"skills": prefs.skills, "salary_min": prefs.salary_min, "salary_currency": prefs.salary_currency,
              "locations": prefs.locations, "remote": prefs.remote, "updated_at": now}
    statement = insert(UserPreferences).values(user_id=user_id, completed_at=now, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[UserPreferences.user_id],
        set_={**values, "completed_at": func.coalesce(UserPreferences.completed_at, statement.excluded.completed_at)},
    )
    with tenant(user_id):
        async with db.session() as s:
            await s.execute(statement)
            return _view(await s.get(UserPreferences, user_id))
