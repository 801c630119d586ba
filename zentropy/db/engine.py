from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from zentropy.db.tenant import TenantSession

# A statement that fails with one of these found its connection broken (not a statement error).
BROKEN = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
# SQLAlchemy's own connect options, not asyncpg's.
SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


async def _end_open_transaction(conn: asyncpg.Connection) -> None:
    """The hot pool's `reset`, run when a connection is given back: a transaction the block left
    open is rolled back, nothing else is sent (asyncpg's default reset runs `RESET ALL` and more on
    every release: a round trip each time). asyncpg itself already rolls back an open transaction
    just before calling this (0.32); the check keeps the behaviour should it stop doing so."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _closed(conn: asyncpg.Connection) -> bool:
    """Whether a connection of the pool is closed. (The pool takes a connection back as soon as
    it closes: it then refuses to be used, `is_closed()` included.)"""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


class Database:
    """The service's connection pool, as the service role, and its tenant-aware sessions.

    Two pools, each of at most `pool_size` connections: SQLAlchemy's, for `session()`, and the hot
    path's, an asyncpg pool (`raw()`, `fetchrow()`: the session look-up and the search record of
    every search request, one round trip each), made at its first use in the running event loop.
    Connections are not pinged when taken (a ping costs three round trips: BEGIN, `;`, ROLLBACK),
    and the hot pool sends nothing when one is given back idle. A connection the server dropped (a
    restart) fails its next statement instead: that request fails, the hot pool's other
    connections are replaced at their next use, and the next request reconnects; `fetchrow`
    retries by itself a statement that may run twice.
    """

    def __init__(self, url: URL | str, *, pool_size: int = 10) -> None:
        # No overflow: a pool that closes its overflow connections at checkin reconnects (and
        # prepares its statements again) over and over under a steady load above its size.
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        self.sessionmaker = async_sessionmaker(
            self.engine, sync_session_class=TenantSession, expire_on_commit=False
        )
        self.pool_size = pool_size
        self.hot: asyncpg.Pool | None = None  # the hot path's pool, once `hot_pool()` made it
        self._hot_made = asyncio.Lock()  # binds to the loop of its first contended use only

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transactions carry the current tenant context; commits on success."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def hot_pool(self) -> asyncpg.Pool:
        """The hot path's asyncpg pool, made at the first call in the running event loop: at most
        `pool_size` connections, opened when needed and kept open (LIFO: the last given back is
        taken first)."""
        if self.hot is not None:
            return self.hot
        async with self._hot_made:
            if self.hot is None:
                args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
                for option in SQLALCHEMY_ONLY:
                    kwargs.pop(option, None)
                # No connection opened before it is needed, none closed for being idle.
                self.hot = await asyncpg.create_pool(
                    *args, **kwargs, min_size=0, max_size=self.pool_size,
                    max_inactive_connection_lifetime=0, reset=_end_open_transaction)
            return self.hot

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the hot path (`hot_pool()`), asyncpg's own: a statement is one round
        trip, in a transaction of its own unless the caller began one. No tenant context is set
        (tenant rows need a database function that sets it, like `zentropy_search_record`).
        The connection is kept for the next caller when the block ends (after a ROLLBACK if the
        block left a transaction open, which asyncpg logs as an error: the service's own
        statements never do). A broken connection is closed, and the pool's other
        connections, opened before (the server may have restarted), are replaced at their next
        use. When the block is cancelled during a statement, asyncpg cancels the statement on the
        server and waits for it to end before the connection is given back."""
        pool = self.hot or await self.hot_pool()
        async with pool.acquire() as conn:
            try:
                yield conn
            finally:
                if _closed(conn):  # broken: asyncpg does not hand it out again
                    await pool.expire_connections()

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
        """Close both pools (the hot one waits for its connections to be given back). The
        Database can be used again afterwards: each pool opens connections anew."""
        async with self._hot_made:
            hot, self.hot = self.hot, None
        if hot is not None:
            await hot.close()
        await self.engine.dispose()
