"""/api/v1/me/quotas: the user's quotas, use and reset times."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from zentropy.auth.middleware import CurrentUser
from zentropy.quotas.service import Quotas, usage
from zentropy.runtime import Runtime


class QuotasController(Controller):
    path = "/api/v1/me/quotas"
    tags = ["me"]

    @get("/", summary="The user's quotas: searches today, premium-source calls this month")
    async def read(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> Quotas:
        return await usage(runtime, current_user.user_id)
