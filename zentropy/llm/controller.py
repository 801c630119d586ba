"""/api/v1/me/usage and /api/v1/me/llm-key: a user's LLM usage, and their own OpenRouter key."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from zentropy.auth import CurrentUser, signed_in
from zentropy.http.errors import ProblemError
from zentropy.llm.keys import InvalidUserKey, delete_user_key, has_user_key, store_user_key
from zentropy.llm.service import llm_service
from zentropy.llm.usage import UsageReport, usage_report
from zentropy.runtime import Runtime


class OwnKeyIn(msgspec.Struct, frozen=True):
    key: str


class OwnKeyStatus(msgspec.Struct, frozen=True, kw_only=True):
    provider: str = "openrouter"
    has_key: bool  # the key itself is never returned


class LLMAccountController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    guards = [signed_in]
    opt = {"before_onboarding": True}

    @get("/usage", summary="Your LLM usage: daily totals, and the month's cost against your budget")
    async def usage(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime],
                    days: Annotated[int, Parameter(ge=1, le=366)] = 31) -> UsageReport:
        return await usage_report(runtime, current_user.user_id, llm_service(runtime).settings, days=days)

    @get("/llm-key", summary="Whether you stored your own OpenRouter key")
    async def own_key(self, current_user: NamedDependency[CurrentUser],
                      runtime: NamedDependency[Runtime]) -> OwnKeyStatus:
        return OwnKeyStatus(has_key=await has_user_key(runtime, current_user.user_id))

    @put("/llm-key", summary="Store your own OpenRouter key: your LLM calls then use it, outside the budget")
    async def store_own_key(self, data: JSONBody[OwnKeyIn], current_user: NamedDependency[CurrentUser],
                            runtime: NamedDependency[Runtime]) -> OwnKeyStatus:
        try:
            await store_user_key(runtime, current_user.user_id, data.key)
        except InvalidUserKey as exc:
            raise ProblemError(422, "llm_key_invalid", str(exc)) from None
        return OwnKeyStatus(has_key=True)

    @delete("/llm-key", summary="Remove your own OpenRouter key", status_code=204)
    async def remove_own_key(self, current_user: NamedDependency[CurrentUser],
                             runtime: NamedDependency[Runtime]) -> None:
        await delete_user_key(runtime, current_user.user_id)
