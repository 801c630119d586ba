"""Sign-in settings of the core (all have defaults). Providers' own settings live in their plugins."""

from __future__ import annotations

from typing import Annotated

import msgspec

from zentropy.settings import env


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    session_ttl_hours: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_SESSION_TTL_HOURS", doc="Idle lifetime of a session; "
                                      "each use slides it forward (default 14 days).")
    ] = 14 * 24
    session_max_age_hours: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_SESSION_MAX_AGE_HOURS", doc="Absolute lifetime of a session: "
                                      "it ends this long after sign-in however often it is used (default 30 days).")
    ] = 30 * 24
    magic_link_minutes: Annotated[
        int, msgspec.Meta(ge=1, le=60), env("MAGIC_LINK_TTL_MINUTES", doc="Magic links expire after this.")
    ] = 15
    magic_link_per_address: Annotated[
        int, msgspec.Meta(ge=1), env("MAGIC_LINK_LIMIT_PER_ADDRESS", doc="Links sent to one address per window.")
    ] = 5
    magic_link_per_ip: Annotated[
        int, msgspec.Meta(ge=1), env("MAGIC_LINK_LIMIT_PER_IP", doc="Link requests from one client IP per window.")
    ] = 20
    signin_starts_per_ip: Annotated[
        int, msgspec.Meta(ge=1), env("ZENTROPY_SIGNIN_LIMIT_PER_IP", doc="Redirect sign-ins (Google, LinkedIn: "
                                      "sign-in or link) one client IP may start per window: each stores a flow and "
                                      "sends the browser to the provider; a client starting hundreds is a bot.")
    ] = 30
    rate_window_seconds: Annotated[
        int, msgspec.Meta(ge=1), env("MAGIC_LINK_LIMIT_WINDOW_SECONDS", doc="Rate-limit window.")
    ] = 15 * 60
    flow_minutes: Annotated[
        int, msgspec.Meta(ge=1, le=60), env("ZENTROPY_SIGNIN_FLOW_MINUTES",
                                            doc="Time allowed between leaving for a provider and coming back.")
    ] = 10
