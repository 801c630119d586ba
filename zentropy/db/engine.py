from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from zentropy.db.tenant import TenantSession

# A connection that fails with one of these is broken (not a statement error): it is discarded.
BROKEN = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)


class HotConnections:
    """The connections of the hot path (`Database.raw`): at most `size` open, kept open between
    uses and handed out last-used first. A few microseconds to take and give back, where a
    checkout and checkin of the SQLAlchemy pool cost some tens."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        for option in ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn"):
            kwargs.pop(option, None)  # SQLAlchemy's own, not asyncpg's
        self._connect = functools.partial(asyncpg.connect, *args, **kwargs)
        self.size = size
        self.idle: list[asyncpg.Connection] = []
        self.slots: asyncio.Semaphore | None = None

    async def acquire(self) -> asyncpg.Connection:
        if self.slots is None:
            self.slots = asyncio.Semaphore(self.size)
        await self.slots.acquire()
        try:
            while self.idle:
                conn = self.idle.pop()
                if not conn.is_closed():
                    return conn
            return await self._connect()
        except BaseException:
            self.slots.release()
            raise

    def release(self, conn: asyncpg.Connection, *, reusable: bool, server_lost: bool = False) -> None:
        """Give `conn` back (`reusable`) or close it. `server_lost`: the server may have restarted,
        so the idle connections, opened before, are closed too."""
        assert self.slots is not None
        if reusable:
            self.idle.append(conn)
        else:
            conn.terminate()  # no I/O to await (the block may have been cancelled)
            if server_lost:
                for other in self.idle:
                    other.terminate()
                self.idle.clear()
        self.slots.release()

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            try:
                await conn.close(timeout=2)
            except Exception:  # noqa: BLE001 - closing anyway
                conn.terminate()


class Database:
    """The service's connection pool, as the service role, and its tenant-aware sessions.

    Two sets of connections, each at most `pool_size`: the SQLAlchemy pool of `session()`, and the
    hot path's (`raw()`, `fetchrow()`: the session look-up and the search record of every search
    request, one round trip each). Connections are not pinged when taken (a ping costs three round
    trips: BEGIN, `;`, ROLLBACK). A connection the server dropped (a restart) fails its next
    statement instead: that request fails, the older connections are discarded, and the next
    request reconnects; `fetchrow` retries by itself a statement that may run twice.
    """

    def __init__(self, url: URL | str, *, pool_size: int = 10) -> None:
        # No overflow: a pool that closes its overflow connections at checkin reconnects (and
        # prepares its statements again) over and over under a steady load above its size.
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        self.sessionmaker = async_sessionmaker(
            self.engine, sync_session_class=TenantSession, expire_on_commit=False
        )
        self.hot = HotConnections(self.engine, pool_size)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transactions carry the current tenant context; commits on success."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the hot path (`HotConnections`), asyncpg's own: a statement is one
        round trip, in a transaction of its own unless the caller began one. No tenant context is
        set (tenant rows need a database function that sets it, like `zentropy_search_record`).
        The connection is kept for the next caller when the block ends (after a ROLLBACK if the
        block left a transaction open); it is closed instead when it is broken or the block was
        cancelled."""
        conn = await self.hot.acquire()
        reusable = broken = False
        try:
            yield conn
            reusable = True
        except BROKEN:
            broken = True
            raise
        except Exception:  # a statement's error (or the caller's): the connection is fine
            reusable = True
            raise
        finally:
            if reusable and not conn.is_closed() and conn.is_in_transaction():
                try:
                    await conn.execute("ROLLBACK")
                except BaseException:
                    reusable = False
            self.hot.release(conn, reusable=reusable and not conn.is_closed(),
                             server_lost=broken or conn.is_closed())

    async def fetchrow(self, query: str, *args: Any, retry: bool = True) -> asyncpg.Record | None:
        """One statement in a transaction of its own, without a tenant context: one round trip.
        `retry`: run it again on a fresh connection if the pooled one turns out broken (for
        statements that may run twice)."""
        for attempt in (1, 2):
            try:
                async with self.raw() as conn:
                    return await conn.fetchrow(query, *args)
            except BROKEN:
                if not retry or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def fetchval(self, query: str, *args: Any, retry: bool = True) -> Any:
        """The first value of `fetchrow` (None without a row)."""
        row = await self.fetchrow(query, *args, retry=retry)
        return None if row is None else row[0]

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.hot.close()
        await self.engine.dispose()
