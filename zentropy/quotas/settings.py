"""Per-user quota defaults (a user's own quotas, set by an admin, override them)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from zentropy.settings import env, read_settings


class QuotaSettings(msgspec.Struct, frozen=True, kw_only=True):
    searches_per_day: Annotated[
        int, msgspec.Meta(ge=0), env("ZENTROPY_QUOTA_SEARCHES_PER_DAY", doc="Searches a user may start per UTC "
                                     "day (cache answers included; scheduled saved-search runs not).")
    ] = 200
    premium_calls_per_month: Annotated[
        int, msgspec.Meta(ge=0), env("ZENTROPY_QUOTA_PREMIUM_CALLS_PER_MONTH", doc="Premium-source calls a "
                                     "user's searches may make per UTC calendar month; then premium is skipped.")
    ] = 100


def quota_settings(runtime: Any) -> QuotaSettings:
    if "quotas.settings" not in runtime.extras:
        runtime.extras["quotas.settings"] = read_settings(QuotaSettings)
    return runtime.extras["quotas.settings"]
