from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

Item = Annotated[str, msgspec.Meta(max_length=80)]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{3}$")]


class PreferencesIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Onboarding is complete with skills, a salary expectation (amount and currency), and
    locations or remote."""

    skills: Annotated[list[Item], msgspec.Meta(max_length=50)] = []
    salary_min: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None = None
    salary_currency: Currency | None = None
    locations: Annotated[list[Item], msgspec.Meta(max_length=50)] = []
    remote: bool | None = None


class Preferences(msgspec.Struct, kw_only=True):
    skills: list[str]
    salary_min: int | None
    salary_currency: str | None
    locations: list[str]
    remote: bool | None
    completed: bool
    completed_at: datetime | None


class LinkedProvider(msgspec.Struct, kw_only=True):
    provider: str
    email: str | None
    email_verified: bool
    linked_at: datetime
    last_used_at: datetime


class Onboarding(msgspec.Struct, kw_only=True):
    completed: bool
    url: str  # where to complete it: the onboarding page
    preferences_url: str


class Me(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str | None
    email_verified: bool
    name: str | None
    picture: str | None
    providers: list[LinkedProvider]
    linkable_providers: list[str]
    onboarding: Onboarding
    session_via: str
    csrf_token: str | None  # for cookie sessions: send it as X-CSRF-Token on writes
