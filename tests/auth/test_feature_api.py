"""What docs/auth.md promises feature authors: `current_user`, `signed_in`, the tenant context,
the gate and CSRF on their routes without doing anything."""

from __future__ import annotations

import httpx
from litestar import Controller, Litestar, get, post
from litestar.di import NamedDependency
from sqlalchemy import select, text

from tests.auth.conftest import PUBLIC
from tests.auth.test_oidc import assert_refused
from tests.auth.test_sessions import COMPLETE, signed_in as sign_in
from zentropy.app import ZentropyPlugin
from zentropy.auth import CurrentUser, signed_in
from zentropy.auth.plugin import AuthPlugin
from zentropy.runtime import Runtime
from zentropy.users.models import User


class Probe(Controller):
    path = "/api/v1/probe"

    @get("/whoami")
    async def whoami(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> dict:
        async with runtime.db.session() as s:
            visible = [str(u.id) for u in (await s.execute(select(User))).scalars()]
            tenant = (await s.execute(text("SELECT zentropy_current_user()"))).scalar()
        return {"user": str(current_user.user_id), "visible": visible, "tenant": str(tenant)}

    @get("/guarded", guards=[signed_in])
    async def guarded(self) -> dict:
        return {"ok": True}

    @get("/early", opt={"before_onboarding": True}, guards=[signed_in])
    async def early(self) -> dict:
        return {"ok": True}

    @post("/write", guards=[signed_in])
    async def write(self) -> dict:
        return {"ok": True}


def probe_client(rt) -> httpx.AsyncClient:  # noqa: ANN001
    app = Litestar(route_handlers=[Probe], plugins=[ZentropyPlugin(rt.settings, rt), AuthPlugin()], logging_config=None)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC)


async def test_feature_routes_get_the_user_the_tenant_context_the_gate_and_csrf(auth_rt, inbox):
    async with probe_client(auth_rt) as client:
        for path in ("/api/v1/probe/whoami", "/api/v1/probe/guarded"):
            assert_refused(await client.get(path), 401, "unauthenticated")
        _, user = await sign_in(client, inbox)
        assert_refused(await client.get("/api/v1/probe/whoami"), 403, "onboarding_required")
        assert (await client.get("/api/v1/probe/early")).status_code == 200
        csrf = {"X-CSRF-Token": user["csrf_token"]}
        assert (await client.put("/api/v1/me/preferences", json=COMPLETE, headers=csrf)).status_code == 200
        body = (await client.get("/api/v1/probe/whoami")).json()
        assert body == {"user": user["id"], "visible": [user["id"]], "tenant": user["id"]}
        assert_refused(await client.post("/api/v1/probe/write"), 403, "csrf_failed")
        assert (await client.post("/api/v1/probe/write", headers=csrf)).status_code == 201
