from __future__ import annotations

import msgspec
from litestar.di import NamedDependency
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from zentropy.db.migrate import current_revision, head_revision
from zentropy.runtime import Runtime


class Check(msgspec.Struct):
    name: str
    ok: bool
    detail: str = ""


class Readiness(msgspec.Struct):
    status: str
    checks: list[Check]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process is up")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Database, Redis and migrations are ready", responses={503: ResponseSpec(data_container=Readiness, description="Not ready")})
    async def ready(self, runtime: NamedDependency[Runtime]) -> Response[Readiness]:
        checks = [await _database(runtime), await _redis(runtime)]
        ok = all(c.ok for c in checks)
        return Response(Readiness(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503)


async def _database(runtime: NamedDependency[Runtime]) -> Check:
    try:
        async with runtime.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await current_revision(conn)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check("database", False, f"unreachable: {type(exc).__name__}")
    head = head_revision()
    if current != head:
        return Check("database", False, f"migrations not current: at {current}, head is {head}")
    return Check("database", True, f"migrations at {current}")


async def _redis(runtime: NamedDependency[Runtime]) -> Check:
    try:
        await runtime.redis.ping()
    except Exception as exc:  # noqa: BLE001
        return Check("redis", False, f"unreachable: {type(exc).__name__}")
    return Check("redis", True)
