from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

Email = Annotated[str, msgspec.Meta(max_length=320)]
NextPath = Annotated[str, msgspec.Meta(max_length=2000)]


class ProviderInfo(msgspec.Struct, kw_only=True):
    name: str
    display_name: str
    kind: Literal["redirect", "email"]
    start_url: str  # redirect: GET it in the browser; email: POST {"email": ...} to it


class MagicLinkRequest(msgspec.Struct, kw_only=True):
    email: Email
    next: NextPath | None = None


class MagicLinkSent(msgspec.Struct, kw_only=True):
    status: str = "sent"
    detail: str = "If this address can receive mail, a sign-in link is on its way. It expires in a few minutes."


class MagicLinkVerify(msgspec.Struct, kw_only=True):
    email: Email
    token: Annotated[str, msgspec.Meta(max_length=200)]


class SessionIssued(msgspec.Struct, kw_only=True):
    """A new session: use `token` as `Authorization: Bearer` (browsers get the cookie too)."""

    token: str
    expires_at: datetime
    user_id: uuid.UUID
    onboarding_required: bool
