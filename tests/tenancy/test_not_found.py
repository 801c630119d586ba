"""Another user's object answers exactly like a missing one, for reads and writes, on every
operation of the API that names an object in its path (read from the OpenAPI document)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import msgspec
from sqlalchemy import text

from tests.tenancy.asgi import call
from tests.tenancy.openapi import PUBLIC_OBJECT_PATHS, Operation, operations
from tests.tenancy.test_export import with_data
from zentropy.accounts.tables import quote as q
from zentropy.accounts.tables import tenant_tables
from zentropy.app import create_app

MISSING = {"uuid": lambda: str(uuid.uuid4()), "integer": lambda: "8123456789012345"}


def minimal(schema: dict[str, Any]) -> Any:
    """A small value valid by `schema`: required members only, the simplest of each."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return minimal({**{k: v for k, v in schema.items() if k != key}, **schema[key][0]})
    kind = schema.get("type", "object" if "properties" in schema else "string")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    if kind == "object":
        return {k: minimal(v) for k, v in schema.get("properties", {}).items() if k in schema.get("required", [])}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    return "x" * max(1, schema.get("minLength", 1))


def kind_of(op: Operation) -> str | None:
    """What the path names: a uuid, an integer, or (several or other parameters) nothing we try."""
    params = [p for p in op.parameters if p.location == "path"]
    if len(params) != 1:
        return None
    schema = params[0].schema
    return "uuid" if schema.get("format") == "uuid" else "integer" if schema.get("type") == "integer" else None


async def owned_ids(owner_engine, user_id: str) -> dict[str, set[str]]:  # noqa: ANN001
    """The ids of a user's objects, by kind: the one-column primary keys of their tenant rows."""
    found: dict[str, set[str]] = {"uuid": set(), "integer": set()}
    async with owner_engine.connect() as conn:
        await conn.execute(text("SET LOCAL row_security = off"))
        for table in await tenant_tables(conn):
            if len(table.primary_key) != 1:
                continue
            [column] = table.primary_key
            kind = table.types[table.columns.index(column)]
            bucket = "uuid" if kind == "uuid" else "integer" if kind in ("bigint", "integer") else None
            if bucket:
                found[bucket].update((await conn.execute(text(
                    f"SELECT {q(column)}::text FROM {q(table.name)} WHERE {q(table.tenant_column)} = :u"),
                    {"u": uuid.UUID(user_id)})).scalars())
    return found


async def test_another_users_objects_answer_like_missing_ones(api, tenancy_inbox, tenancy_rt, owner_engine):
    owner, _ = await with_data(api, tenancy_inbox, tenancy_rt)
    other, _ = await with_data(api, tenancy_inbox, tenancy_rt)
    ids = await owned_ids(owner_engine, owner.user_id)
    assert ids["uuid"] and ids["integer"]
    document = (await api.get("/schema/openapi.json")).json()
    targets = [op for op in operations(document)
               if kind_of(op) and not op.path.startswith(("/api/v1/auth/", *PUBLIC_OBJECT_PATHS))]
    assert targets, "no operation names an object"

    app = create_app(runtime=tenancy_rt)

    async def send(op: Operation, who, value: str):  # noqa: ANN001, ANN202
        [param] = [p.name for p in op.parameters if p.location == "path"]
        headers, body = dict(who.headers), b""
        if op.body is not None:
            headers["content-type"], body = "application/json", msgspec.json.encode(minimal(op.body))
        return await call(app, op.method.upper(), op.path.replace("{" + param + "}", quote(value, safe="")), {},
                          headers, body)

    def seen(response, value: str) -> tuple[int, Any]:  # noqa: ANN001
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            return response.status_code, response.text.replace(value, "<id>")
        problem = response.json()
        for member in ("instance", "request_id"):
            problem.pop(member, None)
        return response.status_code, masked(problem, value)

    # the owner's own first match makes their preference vector, a call metered to them (an llm_usage
    # row): made here, so that the snapshot below can change only through what others do
    assert (await call(app, "GET", "/api/v1/me/matches", {}, dict(owner.headers), b"")).status_code == 200
    before = await owned_ids(owner_engine, owner.user_id)
    tried = found_by_owner = 0
    for op in targets:
        kind = kind_of(op)
        for value in sorted(ids[kind]):
            missing = MISSING[kind]()
            foreign, absent = await send(op, other, value), await send(op, other, missing)
            assert foreign.status_code < 500, (op, foreign.text)
            assert seen(foreign, value) == seen(absent, missing), (op, value, foreign.text, absent.text)
            tried += 1
            if op.method == "get" and (await send(op, owner, value)).status_code == 200:
                found_by_owner += 1  # the same id works for its owner: the test names real objects
    assert tried >= len(targets) and found_by_owner >= 2, (tried, found_by_owner)
    assert await owned_ids(owner_engine, owner.user_id) == before


def masked(value: Any, given: str) -> Any:
    if isinstance(value, str):
        return value.replace(given, "<id>")
    if isinstance(value, dict):
        return {k: masked(v, given) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, given) for v in value]
    return value
