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

Another program may hold the file's write lock (a ``sqlite3`` shell in a transaction, a
``VACUUM``). SQLite's own busy handler would wait for it on the event loop's thread, so
the whole server (health checks, reads, websocket heartbeats) stopped with it, for the
whole ``busy_timeout``. Write connections therefore have no busy timeout: a
``BEGIN IMMEDIATE`` that finds the lock taken fails at once, and :meth:`Database.write`
tries again after an ``asyncio.sleep`` (everything else runs meanwhile) until
:data:`WRITE_WAIT_S` has passed, then raises :class:`~server.domain.errors.Busy` (503
with ``Retry-After``; nothing changed). Reads in WAL mode do not take that lock; their
short busy timeout covers only SQLite's rare internal waits.

On PostgreSQL a pooled connection may have been closed by the server (a restart, an
idle timeout, ``pg_terminate_backend``): the pool pings a connection before handing it
out (``pool_pre_ping``; asyncpg's ping is three round trips: BEGIN, an empty statement,
ROLLBACK) and replaces a dead one, so the request never sees it. A connection lost in
the middle of a transaction leaves the outcome to the database (rolled back, or
committed if the commit had arrived): that request answers ``Busy`` too, and a client
retries with its Idempotency-Key.

Statement parameters are never put into error messages (``hide_parameters``): they hold
ticket tokens and contacts, and error messages end up in logs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from server.domain.errors import Busy

#: How long a write waits for SQLite's write lock held by another program before answering Busy.
WRITE_WAIT_S = 5.0
#: The pauses between its attempts: short first (a lock is usually held for milliseconds), then capped.
FIRST_PAUSE_S, MAX_PAUSE_S = 0.005, 0.1
#: SQLite's busy handler for reads on the event loop (WAL readers wait only for SQLite's own
#: brief internal locks) and for long reads on aiosqlite's worker thread, in milliseconds.
READ_BUSY_MS, SLOW_READ_BUSY_MS = 200, 5000
#: Told to clients refused with Busy.
RETRY_AFTER_S = 1

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


def _sqlite_engine(
    url: str, *, immediate: bool, inline: bool, busy_ms: int, single: bool = False
) -> AsyncEngine:
    options: dict[str, Any] = {"connect_args": {"timeout": busy_ms / 1000}}
    if inline:
        path = make_url(url).database or ":memory:"

        async def connect() -> aiosqlite.Connection:
            return await InlineSqliteConnection(
                partial(sqlite3.connect, path, timeout=busy_ms / 1000, check_same_thread=False)
            )

        options = {"async_creator": connect}
        if single:
            options["poolclass"] = StaticPool  # one connection: an in-memory database lives in it
    engine = create_async_engine(url, hide_parameters=True, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - driver glue
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:  # pragma: no cover - driver glue
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def sqlite_busy(error: DBAPIError) -> bool:
    """Whether SQLite refused ``error``'s statement because another connection holds a lock."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@contextmanager
def _unavailable_as_busy() -> Iterator[None]:
    """Turn a locked SQLite file or a lost database connection into :class:`Busy` (retry later)."""
    try:
        yield
    except DBAPIError as e:
        if e.connection_invalidated:
            raise Busy("the connection to the database was lost; try again",
                       retry_after=RETRY_AFTER_S) from e
        if sqlite_busy(e):
            raise Busy("the database is locked by another program; try again",
                       retry_after=RETRY_AFTER_S) from e
        raise


@dataclass
class Database:
    """The engines of one database and how to open transactions on them."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    slow_read_engine: AsyncEngine
    _write_lock: asyncio.Lock | None = field(default=None)
    write_wait_s: float = WRITE_WAIT_S
    """SQLite: how long a write waits for a write lock another program holds (then Busy)."""

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on normal exit, rolled back on any error.

        Raises:
            Busy: SQLite's write lock stayed with another program for :data:`WRITE_WAIT_S`
                (nothing was changed), or the connection to the database was lost (rolled
                back, unless it was lost during the commit itself).
        """
        if self._write_lock is None:
            with _unavailable_as_busy():
                async with self.write_engine.begin() as conn:
                    yield conn
            return
        deadline = time.monotonic() + self.write_wait_s
        pause = FIRST_PAUSE_S
        while True:
            began = False
            with _unavailable_as_busy():
                try:
                    async with self._write_lock, self.write_engine.begin() as conn:
                        began = True
                        yield conn
                    return
                except DBAPIError as e:
                    # Only a BEGIN refused for the lock is tried again; once begun, an error is
                    # the transaction's own (rolled back) and goes to the caller.
                    if began or not sqlite_busy(e) or time.monotonic() + pause > deadline:
                        raise
            # The in-process lock is released while waiting, so each writer's wait is its own.
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_S)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (rolled back at the end)."""
        with _unavailable_as_busy():
            async with self.read_engine.connect() as conn:
                yield conn

    @asynccontextmanager
    async def snapshot_read(self) -> AsyncIterator[AsyncConnection]:
        """A read transaction that sees one consistent moment across all its statements."""
        with _unavailable_as_busy():
            async with self.read_engine.connect() as conn:
                if self.dialect == "postgresql":
                    await conn.execution_options(isolation_level="REPEATABLE READ")
                yield conn

    @asynccontextmanager
    async def slow_read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction for long queries, off the event loop on SQLite."""
        with _unavailable_as_busy():
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
    engine = _sqlite_engine("sqlite+aiosqlite://", immediate=True, inline=True, busy_ms=0, single=True)
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
            _sqlite_engine(url, immediate=True, inline=True, busy_ms=0),
            _sqlite_engine(url, immediate=False, inline=True, busy_ms=READ_BUSY_MS),
            _sqlite_engine(url, immediate=False, inline=False, busy_ms=SLOW_READ_BUSY_MS),
            asyncio.Lock(),
        )
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True
    )
    return Database(url, engine, engine, engine)
