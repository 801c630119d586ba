from __future__ import annotations


async def test_live(client):
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_database_redis_and_migrations(client):
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"database": True, "redis": True}
    assert "migrations at" in body["checks"][0]["detail"]


async def test_unknown_route_is_problem_details_with_request_id(client):
    response = await client.get("/no/such/path", headers={"X-Request-ID": "req-12345678"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "req-12345678"
    body = response.json()
    assert body["code"] == "not_found" and body["status"] == 404 and body["request_id"] == "req-12345678"


async def test_malformed_request_id_is_replaced(client):
    response = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


async def test_openapi_schema_and_docs_ui(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/health/ready" in schema["paths"] and "/api/v1/plugins" in schema["paths"]
    page = await client.get("/schema")
    assert page.status_code == 200 and "<html" in page.text.lower()


async def test_logs_are_structured_and_carry_the_request_id(runtime, capsys):
    import json
    import logging

    import httpx
    from litestar import get

    from zentropy.app import create_app
    from zentropy.logging import configure

    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    app = create_app(runtime=runtime)
    app.register(boom)
    configure("INFO", "json")
    try:
        logging.getLogger("zentropy.test").info("probe", extra={"api_key": "sk-should-not-appear"})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            response = await c.get("/boom", headers={"X-Request-ID": "log-req-0001"})
    finally:
        logging.getLogger().handlers.clear()
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error" and "kaboom" not in response.text  # no internals leak
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    probe = next(line for line in lines if line["event"] == "probe")
    assert probe["api_key"] == "***" and probe["level"] == "info" and "timestamp" in probe
    error = next(line for line in lines if line["event"] == "unhandled error")
    assert error["request_id"] == "log-req-0001" and "kaboom" in error["exception"]
