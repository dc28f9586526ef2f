"""Engines for SQLite (the default) and PostgreSQL, and the unit of work.

SQLite runs in WAL mode; every write transaction starts with ``BEGIN IMMEDIATE``
so that two writers never both read and then fail to upgrade their lock, and an
in-process lock queues writers instead of letting them spin on ``busy_timeout``.
Reads use a second engine whose transactions are deferred, so they never wait
for a writer. PostgreSQL needs none of this: one engine, READ COMMITTED, row locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

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


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # pragma: no cover - driver glue
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn) -> None:  # pragma: no cover - driver glue
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The engines of one database and how to open transactions on them."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
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

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Create the engines for ``url`` (any SQLAlchemy URL; sync drivers are mapped)."""
    url = async_url(url)
    if url.startswith("sqlite"):
        return Database(
            url,
            _sqlite_engine(url, immediate=True),
            _sqlite_engine(url, immediate=False),
            asyncio.Lock(),
        )
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    return Database(url, engine, engine)
