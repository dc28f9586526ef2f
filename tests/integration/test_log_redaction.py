"""No ticket token in any log line of ``branchq serve``, even when a request fails inside SQL.

A ticket's token is all a phone needs to see, cancel or rate it, so it must not sit in
a log file: the server's access lines show ``/t/***`` and ``/api/v1/tickets/***``, error
lines likewise, and a failed statement is logged without its parameters.

The SQL error is real: another connection renames ``tickets.token`` under the running
server, so every statement that looks a ticket up by its token fails (and the column is
put back before the test ends, as the PostgreSQL database serves the next tests).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import KIOSK
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

B = "/api/v1/branches/demo"


async def _execute(db_url: str, sql: str) -> None:
    u = make_url(db_url)
    if u.drivername.startswith("sqlite"):
        with sqlite3.connect(u.database) as conn:
            conn.execute(sql)
        return
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database=u.database)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def token_column_gone(db_url: str) -> AsyncIterator[None]:
    await _execute(db_url, "ALTER TABLE tickets RENAME COLUMN token TO token_elsewhere")
    try:
        yield
    finally:
        await _execute(db_url, "ALTER TABLE tickets RENAME COLUMN token_elsewhere TO token")


async def test_tokens_never_reach_the_log_in_access_lines_errors_or_sql_parameters(
    db_url, demo_seeded, tmp_path
):
    server = ServerProcess(db_url, tmp_path / "server", demo=True)
    async with server, server.session() as http:
        issued = await http.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
        assert issued.status == 201, await issued.text()
        token = (await issued.json())["token"]
        assert (await http.get(f"/t/{token}")).status == 200  # the phone's page
        assert (await http.get(f"/api/v1/tickets/{token}")).status == 200
        assert (await http.get("/kiosk/demo?token=demo-kiosk")).status == 200
        async with token_column_gone(db_url):
            failed = await http.post(f"/api/v1/tickets/{token}/cancel")
            assert failed.status == 500
            assert (await failed.json())["error"]["code"] == "internal"
        assert (await http.get(f"/api/v1/tickets/{token}")).status == 200

    output = server.output()
    assert token not in output, [line for line in output.splitlines() if token in line]
    assert "[parameters:" not in output and "parameters hidden" in output
    access = [line for line in output.splitlines() if "aiohttp.access" in line]
    for request, status in [("GET /t/***", 200), ("GET /api/v1/tickets/***", 200),
                            ("GET /kiosk/demo?token=***", 200), ("POST /api/v1/tickets/***/cancel", 500)]:
        assert any(f'"{request} HTTP/1.1" {status} ' in line for line in access), (request, access)
    errors = [line for line in output.splitlines() if "unhandled error" in line]
    assert errors and all("/api/v1/tickets/***/cancel" in line for line in errors), errors
