"""Engines for SQLite (the default) and PostgreSQL, and the unit of work.

SQLite runs in WAL mode; every write transaction starts with ``BEGIN IMMEDIATE``
so that two writers never both read and then fail to upgrade their lock, and an
in-process lock queues writers instead of letting them spin on ``busy_timeout``.

Writes run on the event loop's own thread. aiosqlite hands every call to a
worker thread; measured here, that hop costs ~300 µs per statement against ~5 µs
for the statement itself, so a ten-statement issuance spent 95% of its time
switching threads. A write statement in WAL mode with ``synchronous=NORMAL`` takes
microseconds, and writers are queued by the lock anyway, so blocking the loop
that briefly is the cheaper choice; the short reads of the hot paths run the
same way. Long reads (reports) use ``slow_read``, which keeps aiosqlite's worker
thread so they never stall the loop. Read transactions are deferred, so they
never wait for a writer. PostgreSQL needs none of this: one engine, READ
COMMITTED, row locks.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """Map ``sqlite:///…`` and ``postgresql://…`` to their async drivers."""
    parsed = make_url(url)
    driver = ASYNC_DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The synchronous driver URL for Alembic's offline tools."""
    parsed = make_url(async_url(url))
    name = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}.get(
        parsed.drivername, parsed.drivername
    )
    return parsed.set(drivername=name).render_as_string(hide_password=False)


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as e:  # handed to the awaiting caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(e)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineSqliteConnection(aiosqlite.Connection):
    """aiosqlite's API with every call made on the calling (event loop) thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # Duck-typed: aiosqlite only ever calls put_nowait on its queue, which _RunNow provides.
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


def _sqlite_engine(url: str, *, immediate: bool, inline: bool, single: bool = False) -> AsyncEngine:
    options: dict[str, Any] = {"connect_args": {"timeout": 30}}
    if inline:
        path = make_url(url).database or ":memory:"

        async def connect() -> aiosqlite.Connection:
            return await InlineSqliteConnection(
                partial(sqlite3.connect, path, timeout=5, check_same_thread=False)
            )

        options = {"async_creator": connect}
        if single:
            options["poolclass"] = StaticPool  # one connection: an in-memory database lives in it
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - driver glue
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:  # pragma: no cover - driver glue
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The engines of one database and how to open transactions on them."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    slow_read_engine: AsyncEngine
    _write_lock: asyncio.Lock | None = field(default=None)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on normal exit, rolled back on any error."""
        if self._write_lock is None:
            async with self.write_engine.begin() as conn:
                yield conn
            return
        async with self._write_lock:
            async with self.write_engine.begin() as conn:
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (rolled back at the end)."""
        async with self.read_engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def snapshot_read(self) -> AsyncIterator[AsyncConnection]:
        """A read transaction that sees one consistent moment across all its statements."""
        async with self.read_engine.connect() as conn:
            if self.dialect == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    @asynccontextmanager
    async def slow_read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction for long queries, off the event loop on SQLite."""
        async with self.slow_read_engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        for engine in {self.write_engine, self.read_engine, self.slow_read_engine}:
            await engine.dispose()


def open_memory_database() -> Database:
    """A private SQLite database in memory, one connection for everything: for service-level tests.

    The same store code as on disk (every query and lock statement), without a file;
    the schema comes from the table definitions (:func:`create_schema`), not the migrations,
    which the store's own tests run on SQLite and PostgreSQL.
    """
    engine = _sqlite_engine("sqlite+aiosqlite://", immediate=True, inline=True, single=True)
    return Database("sqlite+aiosqlite://", engine, engine, engine, asyncio.Lock())


async def create_schema(db: Database) -> None:
    """Create every table of :mod:`server.store.tables` (an empty database, as after migrating)."""
    from .tables import Base

    async with db.write() as conn:
        await conn.run_sync(Base.metadata.create_all)


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Create the engines for ``url`` (any SQLAlchemy URL; sync drivers are mapped)."""
    url = async_url(url)
    if url.startswith("sqlite"):
        return Database(
            url,
            _sqlite_engine(url, immediate=True, inline=True),
            _sqlite_engine(url, immediate=False, inline=True),
            _sqlite_engine(url, immediate=False, inline=False),
            asyncio.Lock(),
        )
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    return Database(url, engine, engine, engine)
