"""The process's `SourceService` (pooled HTTP clients to every source) is closed when the API or the
worker shuts down."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from tests.sources.conftest import FAST
from tests.sources.fakes import FakeServer, json_reply
from tests.sources.tiny import tiny_source, with_sources
from zentropy.sources import SearchQuery
from zentropy.sources.service import RUNTIME_KEY, SourceService, close_sources


def jobs(request):  # noqa: ANN001, ANN201
    return json_reply({"jobs": [{"id": 1, "title": "Python developer"}]})


@asynccontextmanager
async def lifespan(app):  # noqa: ANN001
    """Run the ASGI lifespan of `app` in this event loop (as uvicorn does): startup, then shutdown."""
    received: asyncio.Queue = asyncio.Queue()
    sent: asyncio.Queue = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, received.get, sent.put))
    await received.put({"type": "lifespan.startup"})
    assert (await sent.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await received.put({"type": "lifespan.shutdown"})
        message = await sent.get()
        await task
        assert message["type"] == "lifespan.shutdown.complete", message


async def open_clients(runtime, server: FakeServer, key_prefix: str, *names: str) -> list:  # noqa: ANN001
    """The runtime's SourceService with `names` (tiny sources on `server`), each called once: their
    HTTP clients open. Returns the clients."""
    service = SourceService(with_sources(runtime, *(tiny_source(n, server.url) for n in names)), policy=FAST,
                            key_prefix=key_prefix)
    runtime.extras[RUNTIME_KEY] = service
    for name in names:
        assert len((await service.search(name, SearchQuery(keywords="python"))).postings) == 1
    clients = [service._built[name][1].client for name in names]
    assert not any(c.is_closed for c in clients)
    return clients


async def test_the_api_closes_the_sources_clients_at_shutdown(migrated, key_prefix):
    from zentropy.app import create_app

    app = create_app(migrated)  # the app starts (and so owns) its runtime, as `zentropy serve` does
    with FakeServer(jobs) as server:
        async with lifespan(app):
            clients = await open_clients(app.state.runtime, server, key_prefix, "tiny-a", "tiny-b")
        assert all(c.is_closed for c in clients)


async def test_a_client_failing_to_close_does_not_keep_the_others_open(migrated, key_prefix, caplog):
    from zentropy.app import create_app

    app = create_app(migrated)
    with FakeServer(jobs) as server:
        async with lifespan(app):
            runtime = app.state.runtime
            first, second = await open_clients(runtime, server, key_prefix, "tiny-a", "tiny-b")
            http = runtime.extras[RUNTIME_KEY]._built["tiny-a"][1]

            async def broken() -> None:
                raise OSError("socket already gone")

            http.aclose = broken
        # the shutdown completed (lifespan asserts it), the other client is closed, the failure logged
        assert second.is_closed and not first.is_closed
        assert any("closing a source's HTTP client failed" in r.message and r.levelno == logging.WARNING
                   for r in caplog.records)
        await first.aclose()


async def test_closing_without_a_source_service_is_a_no_op_and_a_closed_service_reopens(runtime, key_prefix):
    rt = with_sources(runtime)
    rt.extras.clear()
    await close_sources(rt)  # nothing was made
    with FakeServer(jobs) as server:
        (client,) = await open_clients(rt, server, key_prefix, "tiny-a")
        await close_sources(rt)
        await close_sources(rt)  # twice is fine
        assert client.is_closed
        service = rt.extras[RUNTIME_KEY]
        assert len((await service.search("tiny-a", SearchQuery())).postings) == 1  # a new client
        assert not service._built["tiny-a"][1].client.is_closed
        await service.aclose()


def test_the_worker_closes_the_sources_clients_at_shutdown(migrated, monkeypatch):
    """`zentropy worker`, its worker loop replaced by one that calls a source and returns (as a
    stopped worker's loop does)."""
    from click.testing import CliRunner

    import zentropy.logging
    import zentropy.worker.run
    from zentropy.cli import cli

    seen: list = []

    async def run_worker(runtime) -> None:  # noqa: ANN001
        seen.extend(await open_clients(runtime, server, f"{migrated.queue_name}:sources-shutdown", "tiny-w"))

    monkeypatch.setattr(zentropy.worker.run, "run_worker", run_worker)
    monkeypatch.setattr(zentropy.logging, "configure", lambda *args: None)  # leave the test run's logging be
    for var, value in {"DATABASE_URL": migrated.database_url, "REDIS_URL": migrated.redis_url,
                       "DATABASE_APP_USER": migrated.database_app_user,
                       "DATABASE_APP_PASSWORD": migrated.database_app_password,
                       "ZENTROPY_SECRET_KEY": migrated.secret_key, "ZENTROPY_QUEUE": migrated.queue_name,
                       "ZENTROPY_PLUGINS": migrated.plugins}.items():
        monkeypatch.setenv(var, value)
    with FakeServer(jobs) as server:
        result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert len(seen) == 1 and seen[0].is_closed

