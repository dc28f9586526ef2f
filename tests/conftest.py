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
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from server.app import create_app
from server.services.context import Services
from server.services.demo import seed_demo
from server.settings import Settings
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


# --- parallel runs (pytest-xdist, ``--dist loadgroup`` in pyproject.toml) ----------------------

try:
    from xdist.scheduler import LoadGroupScheduling
except ImportError:  # pytest-xdist is not installed: the suite runs in one process
    LoadGroupScheduling = None


def xdist_scope(nodeid: str, scope: str) -> str:
    """The work unit of a test: a browser module whole, every other test on its own.

    A browser module's tests share one server process and one Chromium (module-scoped
    fixtures in tests/browser/conftest.py); split over two workers, both would start them.
    Everything else has function-scoped fixtures (its own database, app, server processes)
    and may run on any worker. xdist itself groups by ``@pytest.mark.xdist_group``, but only
    by rewriting ``item._nodeid``, which pytest 9 no longer reads, so the browser modules are
    grouped here, from the node id alone (all the controller sees).
    """
    if scope != nodeid:  # an xdist_group the marks gave (once xdist reads them again)
        return scope
    path = nodeid.partition("::")[0]
    if path.rpartition("/")[0].endswith("tests/browser"):
        return path
    return nodeid


if LoadGroupScheduling is not None:

    class BranchqScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid, super()._split_scope(nodeid))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(config, log):
        if config.getvalue("dist") == "loadgroup":
            return BranchqScheduling(config, log)
        return None  # another --dist: xdist's own


# --- password hashing ------------------------------------------------------------------

#: Argon2's smallest cost: the same algorithm and hash format, microseconds instead of ~0.1–0.3 s.
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its smallest cost for the apps the tests run in this process.

    The server's cost is slow on purpose (``server.services.auth``: ~0.1–0.3 s a hash or a
    check here), and most tests seed the demo branch (one hash) and sign staff in (one check
    each). The hashes stay real argon2id and a wrong password still fails; only the work
    factor, which no test is about, is lowered. A check reads its parameters from the stored
    hash, so hashes made by the server's own cost elsewhere still verify. Servers started as
    subprocesses keep the real cost.
    """
    from argon2 import PasswordHasher

    from server.services import auth

    if not hasattr(auth, "_hasher"):
        warnings.warn("server.services.auth._hasher is gone: tests hash passwords at full cost", stacklevel=1)
        yield
        return
    cheap = PasswordHasher(**CHEAP_ARGON2)
    patch = pytest.MonkeyPatch()
    patch.setattr(auth, "_hasher", cheap)
    if hasattr(auth, "_DUMMY_HASH"):  # checked against for unknown usernames
        patch.setattr(auth, "_DUMMY_HASH", cheap.hash("not a password"))
    yield
    patch.undo()


# --- databases -----------------------------------------------------------------------
#
# Every test that asks for ``db_url`` gets an empty, migrated database of its own: a copy of a
# migrated SQLite file, or the worker's PostgreSQL database emptied. Every test that asks for
# ``demo`` gets the demo branch in it as ``seed_demo`` leaves it. Seeding is the slow part
# (its own units of work, argon2), so the demo branch is seeded once per test session, the
# same way (``seed_demo`` on an app from ``create_app``, clock at MovableClock's start), and
# each test gets a copy of what it wrote: the seeded SQLite file, or the seeded rows and
# sequence values put back into PostgreSQL. Only a database still exactly as ``db_url`` made
# it is filled so; anything else (another fixture wrote to it, a clock moved, another
# database) is seeded by ``seed_demo`` as before.


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
    """A fresh, migrated PostgreSQL database for this test session (each xdist worker has its own:
    the name is random, and the session fixtures run once per worker)."""
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


@dataclass
class _PgSchema:
    """What emptying a PostgreSQL database of the schema's rows takes, read once per database."""

    tables: list[str]  # parents first (``Base.metadata.sorted_tables``)
    sequences: list[str]  # the id sequences those tables own
    empty: str  # one script: delete every row (children first), restart every sequence
    is_empty: str  # one query: true when no table has a row


_PG_SCHEMAS: dict[str, _PgSchema] = {}


async def _pg_schema(conn: asyncpg.Connection, url: str) -> _PgSchema:
    schema = _PG_SCHEMAS.get(url)
    if schema is None:
        tables = [t.name for t in Base.metadata.sorted_tables]
        rows = await conn.fetch(
            """
            SELECT s.oid::regclass::text AS name
            FROM pg_class s
            JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                             AND d.deptype IN ('a', 'i')
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE s.relkind = 'S' AND n.nspname = current_schema() AND t.relname = ANY($1::text[])
            ORDER BY 1
            """,
            tables,
        )
        sequences = [row["name"] for row in rows]
        empty = "".join(
            [f'DELETE FROM "{name}";' for name in reversed(tables)]
            + [f"ALTER SEQUENCE {name} RESTART;" for name in sequences]
        )
        is_empty = "SELECT " + " AND ".join(f'NOT EXISTS (SELECT FROM "{name}")' for name in tables)
        schema = _PG_SCHEMAS[url] = _PgSchema(tables, sequences, empty, is_empty)
    return schema


async def _truncate_pg(url: str) -> None:
    """Empty every table and restart every id sequence, as ``TRUNCATE … RESTART IDENTITY`` would.

    Measured here, deleting the few rows a test leaves takes ~20 ms where TRUNCATE takes
    50–100 ms (it makes new files for every table and index), and it runs before every
    PostgreSQL test. The rows go children first, in one transaction.
    """
    conn = await _pg_admin(url)
    try:
        schema = await _pg_schema(conn, url)
        async with conn.transaction():
            await conn.execute(schema.empty)
    finally:
        await conn.close()


#: The SQLite files ``db_url`` made in this test (path → (size, mtime)), to tell them untouched.
_FRESH_SQLITE: dict[str, tuple[int, int]] = {}


def _sqlite_path(url: str) -> str | None:
    parsed = make_url(url)
    return parsed.database if parsed.drivername.startswith("sqlite") else None


def _stat(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, sqlite_template) -> str:
    """An empty, migrated database: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "branchq.db"
        shutil.copy(sqlite_template, path)
        _FRESH_SQLITE.clear()
        _FRESH_SQLITE[str(path)] = _stat(str(path))
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    asyncio.run(_truncate_pg(url))
    return url


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


#: Tests issue hundreds of tickets from the one demo kiosk; the limits have their own tests.
UNLIMITED = {"issue_rate_limit": "1000000/second", "public_rate_limit": "1000000/second",
             "booking_rate_limit": "1000000/second"}


def _test_settings(database: str, tmp_path: Path) -> Settings:
    return Settings(database=database, secret_file=str(tmp_path / "secret.key"), demo=True, **UNLIMITED)


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return _test_settings(db_url, tmp_path)


# --- the demo branch, seeded once a session ----------------------------------------------


async def _seed_as_demo_fixture(url: str, workdir: Path) -> None:
    """``seed_demo`` exactly as the ``demo`` fixture runs it, on the database at ``url``."""
    from aiohttp.test_utils import TestClient, TestServer

    from server.web.api import SERVICES

    app = create_app(_test_settings(url, workdir), clock=MovableClock())
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert await seed_demo(app[SERVICES]), "the demo branch was there already"
    finally:
        await client.close()


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template, tmp_path_factory) -> Path:
    """A migrated SQLite file with the demo branch seeded in it."""
    workdir = tmp_path_factory.mktemp("sqlite-demo")
    path = workdir / "demo.db"
    shutil.copy(sqlite_template, path)
    asyncio.run(_seed_as_demo_fixture(f"sqlite:///{path}", workdir))
    leftovers = [p.name for p in workdir.iterdir() if p.name.startswith("demo.db-")]
    assert not leftovers, f"the seeded SQLite file is not closed: {leftovers}"
    return path


@dataclass
class _PgDemo:
    """The rows ``seed_demo`` writes and where it leaves the id sequences."""

    rows: list[tuple[str, list[str], list[tuple]]]  # (table, columns, records), parents first
    sequences: list[tuple[str, int, bool]]  # (sequence, last_value, is_called)

    @property
    def setval(self) -> str:
        """One statement that puts every sequence back where ``seed_demo`` left it."""
        return "SELECT " + ", ".join(
            f"setval('{name}'::regclass, {int(last)}, {'true' if called else 'false'})"
            for name, last, called in self.sequences
        )


@pytest.fixture(scope="session")
def pg_demo(pg_database, tmp_path_factory) -> _PgDemo:
    """The demo branch seeded once into the worker's PostgreSQL database, read back, and emptied."""

    async def capture() -> _PgDemo:
        await _truncate_pg(pg_database)
        await _seed_as_demo_fixture(pg_database, tmp_path_factory.mktemp("pg-demo"))
        conn = await _pg_admin(pg_database)
        try:
            schema = await _pg_schema(conn, pg_database)
            rows = []
            for table in schema.tables:
                records = await conn.fetch(f'SELECT * FROM "{table}"')
                if records:
                    rows.append((table, list(records[0].keys()), [tuple(r) for r in records]))
            sequences = []
            for name in schema.sequences:
                seq = await conn.fetchrow(f"SELECT last_value, is_called FROM {name}")
                sequences.append((name, seq["last_value"], seq["is_called"]))
        finally:
            await conn.close()
        await _truncate_pg(pg_database)
        return _PgDemo(rows, sequences)

    return asyncio.run(capture())


async def _restore_pg_demo(url: str, demo: _PgDemo) -> bool:
    """Put the seeded rows back into the empty database at ``url``; False if it is not empty."""
    conn = await _pg_admin(url)
    try:
        schema = await _pg_schema(conn, url)
        async with conn.transaction():
            if not await conn.fetchval(schema.is_empty):
                return False
            for table, columns, records in demo.rows:
                await conn.copy_records_to_table(table, records=records, columns=columns)
            if demo.sequences:
                await conn.execute(demo.setval)
        return True
    finally:
        await conn.close()


@pytest.fixture
def demo_seeded(request, settings, clock) -> bool:
    """The demo branch put into the test's fresh database from the session's seeded copy;
    False (nothing done: ``demo`` seeds) unless the database and clock are as the copy's were."""
    if "db_url" not in request.fixturenames:
        return False
    db_url = request.getfixturevalue("db_url")
    if settings.database != db_url or not isinstance(clock, MovableClock) or clock.now != MovableClock().now:
        return False
    path = _sqlite_path(db_url)
    if path is not None:
        fresh = _FRESH_SQLITE.get(path) == _stat(path) and not any(
            os.path.exists(path + suffix) for suffix in ("-wal", "-journal", "-shm")
        )
        if not fresh:
            return False
        shutil.copy(request.getfixturevalue("sqlite_demo_template"), path)
        return True
    if db_url != request.getfixturevalue("pg_database"):
        return False
    return asyncio.run(_restore_pg_demo(db_url, request.getfixturevalue("pg_demo")))


# --- the application -------------------------------------------------------------------


@dataclass
class Running:
    client: object  # aiohttp TestClient
    services: Services
    clock: MovableClock | Callable


@pytest.fixture
async def demo(settings, clock, aiohttp_client, demo_seeded) -> Running:
    """The demo branch on a running app, driven through a test client; clock movable."""
    from server.web.api import SERVICES

    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    if not demo_seeded:
        await seed_demo(services)
    return Running(client, services, clock)


async def login(client, username: str, password: str = "demo-pass"):
    """A new client session for ``username`` (cookies are per client)."""
    resp = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status == 200, await resp.text()
    return resp


KIOSK = {"Authorization": "Bearer demo-kiosk"}
