"""Shared fixtures: real SQLite files and a real PostgreSQL database, the app, a movable clock.

PostgreSQL comes from BRANCHQ_TEST_PG_URL (default postgres@127.0.0.1:5432). Each test
session creates its own database and drops it at the end. Without a reachable server the
PostgreSQL cases skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from server.app import create_app
from server.services.context import Services
from server.services.demo import seed_demo
from server.settings import Settings
from server.store.engine import open_database
from server.store.migrate import upgrade
from server.store.tables import Base

PG_URL = os.environ.get("BRANCHQ_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: One timing unit for every wait in the tests; raise it on a slow machine.
TIME_SCALE = float(os.environ.get("BRANCHQ_TEST_TIME_SCALE", "1"))


def seconds(n: float) -> float:
    return n * TIME_SCALE


class MovableClock:
    """A clock the test moves by hand (starts at a fixed weekday morning in Shanghai)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --- databases -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated empty SQLite file, copied for each test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(upgrade(f"sqlite:///{path}"))
    return path


async def _pg_admin(url: str) -> asyncpg.Connection:
    u = make_url(url)
    return await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, database=u.database
    )


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"branchq_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await _pg_admin(PG_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as e:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is required under CI: {e}")
        pytest.skip(f"no PostgreSQL at {PG_URL}: {e}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(upgrade(url))
    yield url

    async def drop() -> None:
        conn = await _pg_admin(PG_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def _truncate_pg(url: str) -> None:
    db = open_database(url)
    try:
        async with db.write() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, sqlite_template) -> str:
    """An empty, migrated database: a SQLite file, or the session's PostgreSQL database truncated."""
    if request.param == "sqlite":
        path = tmp_path / "branchq.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    asyncio.run(_truncate_pg(url))
    return url


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


#: Tests issue hundreds of tickets from the one demo kiosk; the limits have their own tests.
UNLIMITED = {"issue_rate_limit": "1000000/second", "public_rate_limit": "1000000/second"}


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database=db_url, secret_file=str(tmp_path / "secret.key"), **UNLIMITED)


# --- the application -------------------------------------------------------------------


@dataclass
class Running:
    client: object  # aiohttp TestClient
    services: Services
    clock: MovableClock | Callable


@pytest.fixture
async def demo(settings, clock, aiohttp_client) -> Running:
    """The demo branch on a running app, driven through a test client; clock movable."""
    from server.web.api import SERVICES

    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    await seed_demo(services)
    return Running(client, services, clock)


async def login(client, username: str, password: str = "demo-pass"):
    """A new client session for ``username`` (cookies are per client)."""
    resp = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return resp


KIOSK = {"Authorization": "Bearer demo-kiosk"}
