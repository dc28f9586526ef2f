"""An outside writer on the SQLite file makes writes wait a bounded time, never the server.

A second connection (a ``sqlite3`` shell, a backup script) that holds ``BEGIN IMMEDIATE``
owns the file's one write lock. While it does, ``branchq serve`` goes on answering its
health check, reads and websocket commands; a write waits a bounded time without holding
up anything else, then answers 503 ``busy`` with ``Retry-After``, having changed nothing;
once the lock is released the same request (same Idempotency-Key) succeeds. Over the
websocket the refusal is an error result with the same code.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import KIOSK, seconds
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

B = "/api/v1/branches/demo"


@contextmanager
def outside_writer(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection to the file holding its write lock, as a ``sqlite3`` shell would."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield holder
    finally:
        holder.close()  # rolls the transaction back and releases the lock


def ticket_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM tickets").fetchone()[0]


async def device_socket(http: aiohttp.ClientSession, role: str, token: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect("/ws")
    await ws.send_json({"type": "hello", "role": role, "branch": "demo", "token": token})
    assert (await ws.receive_json(timeout=seconds(5)))["type"] == "welcome"
    assert (await ws.receive_json(timeout=seconds(5)))["type"] == "snapshot"
    return ws


async def ws_result(ws: aiohttp.ClientWebSocketResponse, command_id: int, *, timeout_s: float) -> dict:
    while True:
        msg = await ws.receive_json(timeout=seconds(timeout_s))
        if msg.get("type") == "result" and msg.get("id") == command_id:
            return msg


async def ws_command(ws: aiohttp.ClientWebSocketResponse, command: dict) -> dict:
    await ws.send_json(command)
    return await ws_result(ws, command["id"], timeout_s=2)


async def test_a_held_sqlite_write_lock_delays_only_writes_which_answer_busy_then_succeed(
    sqlite_demo_template, tmp_path
):
    path = tmp_path / "branchq.db"
    shutil.copy(sqlite_demo_template, path)
    server = ServerProcess(f"sqlite:///{path}", tmp_path / "server", demo=True)
    async with server, server.session() as http:
        ws = await device_socket(http, "display", "demo-display")
        kiosk_ws = await device_socket(http, "kiosk", "demo-kiosk")
        issue = {"json": {"service": "A"}, "headers": {**KIOSK, "Idempotency-Key": "held-lock-1"}}
        before = ticket_count(path)

        with outside_writer(path):
            issuing = asyncio.ensure_future(http.post(f"{B}/tickets", **issue))
            await kiosk_ws.send_json({"id": 1, "type": "ticket/issue", "service": "B",
                                      "idempotency_key": "held-lock-ws"})
            # While the issue waits for the lock, everything that only reads answers at once
            # (each within a bound far below the write's wait: a frozen loop fails here).
            answered, command_id = 0, 0
            while not issuing.done():
                health = await http.get("/api/v1/health", timeout=aiohttp.ClientTimeout(total=seconds(2)))
                assert health.status == 200, await health.text()
                services = await http.get(f"{B}/services", timeout=aiohttp.ClientTimeout(total=seconds(2)))
                assert services.status == 200, await services.text()
                command_id += 1
                pong = await ws_command(ws, {"id": command_id, "type": "ping"})
                assert pong["success"] and pong["result"] == {"pong": True}
                answered += 1
                await asyncio.sleep(0.05)  # pacing the probes, not waiting for anything
            refused = await issuing
            body = await refused.json()
            assert refused.status == 503, body
            assert body["error"]["code"] == "busy", body
            assert int(refused.headers["Retry-After"]) >= 1
            assert answered >= 1
            over_ws = await ws_result(kiosk_ws, 1, timeout_s=10)
            assert not over_ws["success"] and over_ws["error"]["code"] == "busy", over_ws
            assert over_ws["error"]["retry_after"] >= 1
            assert ticket_count(path) == before, "a refused issue changed nothing"

        # The lock is released: the retried request goes through, once.
        issued = await http.post(f"{B}/tickets", **issue)
        assert issued.status == 201, await issued.text()
        again = await http.post(f"{B}/tickets", **issue)
        assert (await again.json())["id"] == (await issued.json())["id"]
        retried = await ws_command(kiosk_ws, {"id": 2, "type": "ticket/issue", "service": "B",
                                              "idempotency_key": "held-lock-ws"})
        assert retried["success"], retried
        assert ticket_count(path) == before + 2
        await ws.close()
        await kiosk_ws.close()
    assert "Traceback" not in server.output(), server.tail()
