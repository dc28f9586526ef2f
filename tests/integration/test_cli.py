"""The ``branchq`` command as an administrator uses it: migrate, enroll staff and devices,
serve. Every command runs as a real subprocess of the installed console script."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from server.services.branches import BranchSpec, create_branch
from server.services.context import Services
from server.store.engine import open_database
from server.store.tables import Base
from tests.conftest import seconds
from tests.integration.server_process import ServerProcess, branchq_command, clean_env

NORTH = BranchSpec.model_validate(
    {
        "id": "north",
        "names": {"zh-CN": "北门支行", "en": "North Gate"},
        "services": [{"code": "A", "names": {"zh-CN": "现金", "en": "Cash"}}],
        "counters": [{"number": 1, "services": ["A"]}],
    }
)


def branchq(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``branchq args…`` in ``workdir`` with no BRANCHQ_* settings but ``env``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [branchq_command(), *args], check=False, cwd=workdir, env=clean_env(workdir, **(env or {})),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=seconds(60),
    )


def succeeded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result.stdout


def query(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def tables_in(path: Path) -> set[str]:
    return {name for (name,) in query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def count(path: Path, table: str) -> int:
    return query(path, f"SELECT count(*) FROM {table}")[0][0]


SCHEMA = set(Base.metadata.tables) | {"alembic_version"}


@pytest.fixture
def north_db(tmp_path, sqlite_template) -> Path:
    """A migrated SQLite file with the branch ``north`` (one service A, one counter) in it."""
    path = tmp_path / "north.db"
    shutil.copy(sqlite_template, path)

    async def create() -> None:
        db = open_database(f"sqlite:///{path}")
        try:
            await create_branch(Services(db), NORTH)
        finally:
            await db.dispose()

    asyncio.run(create())
    return path


# --- db upgrade ----------------------------------------------------------------------------


def test_db_upgrade_creates_the_sqlite_file_its_directory_and_the_whole_schema(tmp_path):
    path = tmp_path / "var" / "new" / "branchq.db"

    out = succeeded(branchq(tmp_path / "cli", "db", "upgrade", "--database", f"sqlite:///{path}"))

    assert "up to date" in out
    assert tables_in(path) == SCHEMA


def test_db_upgrade_takes_the_database_from_BRANCHQ_DATABASE(tmp_path):
    path = tmp_path / "from-env.db"
    workdir = tmp_path / "cli"

    succeeded(branchq(workdir, "db", "upgrade", env={"BRANCHQ_DATABASE": f"sqlite:///{path}"}))

    assert tables_in(path) == SCHEMA
    assert not (workdir / "var").exists(), "the default database was used instead of BRANCHQ_DATABASE"


def test_db_upgrade_command_line_database_wins_over_the_environment(tmp_path):
    from_env, from_option = tmp_path / "env.db", tmp_path / "option.db"

    succeeded(branchq(tmp_path / "cli", "db", "upgrade", "--database", f"sqlite:///{from_option}",
                      env={"BRANCHQ_DATABASE": f"sqlite:///{from_env}"}))

    assert tables_in(from_option) == SCHEMA
    assert not from_env.exists()


# --- user add, device add, serve -------------------------------------------------------------


def test_device_add_prints_the_token_once_and_stores_only_its_hash(tmp_path, north_db):
    out = succeeded(branchq(tmp_path / "cli", "device", "add", "--branch", "north", "--kind", "kiosk",
                            "--name", "door kiosk", "--database", f"sqlite:///{north_db}"))

    token = out.strip().splitlines()[-1].strip()
    assert len(token) >= 24 and " " not in token, out
    assert out.count(token) == 1
    rows = query(north_db, "SELECT kind, name, token_hash FROM devices")
    assert [(kind, name) for kind, name, _ in rows] == [("kiosk", "door kiosk")]
    assert rows[0][2] != token
    for f in north_db.parent.glob("north.db*"):  # the file, its WAL and shared memory
        assert token.encode() not in f.read_bytes(), f"the device token is stored in clear in {f.name}"


async def test_staff_and_kiosks_enrolled_on_the_command_line_sign_in_and_issue_tickets(tmp_path, north_db):
    url = f"sqlite:///{north_db}"
    cli = tmp_path / "cli"
    succeeded(branchq(cli, "user", "add", "alice", "--role", "teller", "--branch", "north",
                      "--counters", "1", "--password", "s3cret pass", "--database", url))
    succeeded(branchq(cli, "user", "add", "root", "--role", "admin", "--password", "r00t pass",
                      "--database", url))
    token = succeeded(branchq(cli, "device", "add", "--branch", "north", "--kind", "kiosk",
                              "--name", "door", "--database", url)).strip().splitlines()[-1]

    server = ServerProcess(url, tmp_path / "server")
    async with server, server.session() as alice, server.session() as root, server.session() as kiosk:
        resp = await alice.post("/api/v1/auth/login",
                                json={"username": "alice", "password": "s3cret pass"})
        assert resp.status == 200, await resp.text()
        me = await resp.json()
        assert (me["username"], me["role"], me["branch"], me["counters"]) == ("alice", "teller", "north", [1])

        resp = await root.post("/api/v1/auth/login", json={"username": "root", "password": "wrong"})
        assert resp.status == 401, await resp.text()
        resp = await root.post("/api/v1/auth/login", json={"username": "root", "password": "r00t pass"})
        assert resp.status == 200, await resp.text()

        resp = await kiosk.post("/api/v1/branches/north/tickets", json={"service": "A"},
                                headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["number"] == "A001"

        # The teller opens counter 1 and calls the kiosk's ticket.
        assert (await alice.post("/api/v1/branches/north/counters/1/open")).status == 200
        resp = await alice.post("/api/v1/branches/north/counters/1/call-next")
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["ticket"]["number"] == "A001"

    assert "demo-pass" not in server.output(), "demo credentials printed outside demo mode"


async def test_serve_demo_prints_its_urls_and_the_demo_credentials(tmp_path):
    async with ServerProcess(f"sqlite:///{tmp_path / 'demo' / 'branchq.db'}", tmp_path / "server",
                             demo=True) as server:
        out = server.output()
        for url in (f"{server.base_url}/api/v1/health", f"{server.base_url}/api/v1/openapi.json",
                    f"{server.base_url}/admin", f"{server.base_url}/manage/demo"):
            assert url in out, out
            async with server.session() as http, http.get(url) as resp:
                assert resp.status == 200, f"printed URL {url} → {resp.status}"
        for credential in ("admin", "manager", "teller1", "teller6", "demo-pass", "demo-kiosk",
                           "demo-display", "demo-evaluator"):
            assert credential in out, f"{credential!r} not printed:\n{out}"


def test_serve_demo_on_a_database_with_other_branches_is_refused_and_adds_no_demo_accounts(tmp_path, north_db):
    result = branchq(tmp_path / "cli", "serve", "--demo", "--port", "0", "--database", f"sqlite:///{north_db}")

    assert "not a demo database" in _plain_failure(result)
    assert count(north_db, "staff") == 0 and count(north_db, "devices") == 0
    assert query(north_db, "SELECT id FROM branches") == [("north",)]


async def test_demo_credentials_stop_working_once_the_server_runs_without_demo(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "server", demo=True)
    admin = {"username": "admin", "password": "demo-pass"}
    kiosk = {"Authorization": "Bearer demo-kiosk"}
    async with server:
        async with server.session() as http:
            assert (await http.post("/api/v1/auth/login", json=admin)).status == 200
            resp = await http.post("/api/v1/branches/demo/tickets", json={"service": "A"}, headers=kiosk)
            assert resp.status == 201
        await server.stop()
        server.demo = False
        await server.start()
        async with server.session() as http:
            resp = await http.post("/api/v1/auth/login", json=admin)
            assert resp.status == 401, await resp.text()
            resp = await http.post("/api/v1/branches/demo/tickets", json={"service": "A"}, headers=kiosk)
            assert resp.status == 401, await resp.text()


# --- bad input ------------------------------------------------------------------------------


def _plain_failure(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, f"{result.args} succeeded:\n{result.stdout}"
    assert "Traceback" not in result.stderr, f"a traceback instead of a message:\n{result.stderr}"
    message = result.stderr.strip()
    assert message, "failed without saying why"
    assert len(message.splitlines()) <= 3, f"not a plain message:\n{message}"
    return message


@pytest.mark.parametrize(
    "command",
    [
        ["user", "add", "bob", "--role", "teller", "--password", "a pass word", "--branch", "nowhere"],
        ["device", "add", "--kind", "kiosk", "--name", "k", "--branch", "nowhere"],
    ],
    ids=["user", "device"],
)
def test_enrolling_into_an_unknown_branch_fails_with_a_plain_message_and_adds_nothing(
    tmp_path, north_db, command
):
    result = branchq(tmp_path / "cli", *command, "--database", f"sqlite:///{north_db}")

    message = _plain_failure(result)
    assert "nowhere" in message
    assert count(north_db, "staff") == 0
    assert count(north_db, "devices") == 0


def test_adding_a_user_twice_fails_with_a_plain_message(tmp_path, north_db):
    add = ["user", "add", "bob", "--role", "manager", "--branch", "north", "--password", "a pass word",
           "--database", f"sqlite:///{north_db}"]
    succeeded(branchq(tmp_path / "cli", *add))

    message = _plain_failure(branchq(tmp_path / "cli", *add))

    assert "bob" in message
    assert count(north_db, "staff") == 1


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ('=HYPERLINK("http://evil.example","x")', "a pass word", "username"),
        ("bob smith", "a pass word", "username"),
        ("bob", "short", "password"),
    ],
    ids=["formula", "space", "short-password"],
)
def test_user_add_checks_usernames_and_passwords_as_the_api_does(tmp_path, north_db, username, password, field):
    result = branchq(tmp_path / "cli", "user", "add", username, "--role", "manager", "--branch", "north",
                     "--password", password, "--database", f"sqlite:///{north_db}")

    assert field in _plain_failure(result)
    assert count(north_db, "staff") == 0


def test_a_teller_without_a_branch_is_refused_with_a_plain_message(tmp_path, north_db):
    result = branchq(tmp_path / "cli", "user", "add", "carol", "--role", "teller", "--password", "a pass word",
                     "--database", f"sqlite:///{north_db}")

    assert "branch" in _plain_failure(result)
    assert count(north_db, "staff") == 0


def test_enrolling_into_a_database_never_upgraded_fails_with_a_plain_message(tmp_path):
    """An operator who forgot ``branchq db upgrade`` gets told so, not a SQLAlchemy traceback."""
    result = branchq(tmp_path / "cli", "user", "add", "root", "--role", "admin", "--password", "a pass word",
                     "--database", f"sqlite:///{tmp_path / 'never-upgraded.db'}")

    _plain_failure(result)


# --- emergency ----------------------------------------------------------------------------


def test_emergency_start_status_and_end_on_the_command_line(tmp_path, north_db):
    db = ["--database", f"sqlite:///{north_db}"]
    work = tmp_path / "cli"
    assert "no emergency in north" in succeeded(branchq(work, "emergency", "status", "--branch", "north", *db))
    out = succeeded(branchq(work, "emergency", "start", "--branch", "north", "--kind", "system_failure",
                            "--text", "系统故障，暂停取号", "--drill", *db))
    assert "drill" in out and "issuing stopped for all" in out
    again = branchq(work, "emergency", "start", "--branch", "north", "--kind", "crowd", "--text", "x", *db)
    assert again.returncode == 2 and "already in force" in again.stderr
    status = succeeded(branchq(work, "emergency", "status", "--branch", "north", *db))
    assert status.startswith("DRILL system_failure") and "stopped A" in status and "command line" in status
    assert "issuing resumed" in succeeded(branchq(work, "emergency", "end", "--branch", "north", *db))
    assert query(north_db, "SELECT kind, drill, active, ended_at IS NOT NULL FROM incidents") == [
        ("system_failure", 1, None, 1)]
    assert "no emergency" in branchq(work, "emergency", "end", "--branch", "north", *db).stderr
