"""GET /api/v1/me/export and DELETE /api/v1/me: a user's copy of their data, and leaving for good."""

from __future__ import annotations

from litestar import Controller, Response, delete, get
from litestar.di import NamedDependency

from zentropy.accounts.deletion import delete_user
from zentropy.accounts.export import Export, export_user
from zentropy.auth import cookies
from zentropy.auth.guards import signed_in
from zentropy.auth.middleware import CurrentUser
from zentropy.runtime import Runtime


class AccountDataController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    guards = [signed_in]
    opt = {"before_onboarding": True}

    @get("/export", summary="All your data as JSON (format: docs/privacy.md)")
    async def export(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> Response[Export]:
        body = await export_user(runtime.db, current_user.user_id)
        name = f"zentropy-export-{body.exported_at:%Y%m%d}.json"
        return Response(body, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                       "Cache-Control": "no-store"})


# A plain handler, not in a controller: Litestar refuses two controllers on one path
# (`GET /api/v1/me` is the sign-in feature's), but merges a handler function into it.
@delete("/api/v1/me", summary="Delete your account and all your data; every session ends", status_code=204,
        tags=["me"], guards=[signed_in], opt={"before_onboarding": True})
async def delete_account(current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> Response[None]:
    await delete_user(runtime.db, current_user.user_id)
    return Response(None, status_code=204, cookies=[cookies.cleared_session_cookie(runtime.settings.public_url)])
