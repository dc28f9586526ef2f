"""The smaller findings of the security review, each reproduced against a real server or CLI."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server.settings import Settings
from server.web.auth import secret_key
from tests.conftest import KIOSK, PG_URL, seconds
from tests.integration.test_cli import branchq
from tests.integration.test_ws import receive, staff_session

B = "/api/v1/branches/demo"
A = "/api/v1/admin"


async def ok(resp, status: int = 200):
    assert resp.status == status, await resp.text()
    return await resp.json()


# --- a teller's free-text pause reason on the public board ---------------------------------------


async def test_the_board_shows_a_fixed_pause_reason_and_never_the_tellers_own_words(demo):
    board = await demo.client.ws_connect("/ws")
    await board.send_json({"type": "hello", "role": "display", "branch": "demo", "token": "demo-display"})
    assert (await receive(board))["type"] == "welcome"
    assert (await receive(board))["type"] == "snapshot"
    async with staff_session(demo, "teller3") as teller:
        await ok(await teller.post(f"{B}/counters/3/open"))
        paused = await ok(await teller.post(f"{B}/counters/3/pause",
                                            json={"code": "meal", "reason": "dentist, back at 3"}))
        assert paused["counter"]["pause_reason"] == "dentist, back at 3", "the teller's page keeps the words"
        assert paused["counter"]["pause_code"] == "meal"
        bad = await teller.post(f"{B}/counters/3/pause", json={"code": "gossip"})
        assert bad.status == 400
    async with asyncio.timeout(seconds(5)):
        while (event := await receive(board))["kind"] != "counter.paused":
            pass
    assert event["data"] == {"counter": 3, "state": "paused", "code": "meal"}
    await board.send_json({"id": 1, "type": "snapshot"})
    async with asyncio.timeout(seconds(5)):
        while (answer := await receive(board)).get("id") != 1:
            pass
    counter3 = next(c for c in answer["result"]["state"]["counters"] if c["number"] == 3)
    assert counter3["pause_code"] == "meal" and "pause_reason" not in counter3
    assert "dentist" not in str(answer)


# --- a teller with an empty counter list ------------------------------------------------------------


async def test_a_teller_with_no_counters_opens_none(demo):
    async with staff_session(demo, "admin") as admin:
        await ok(await admin.post(f"{A}/staff", json={"username": "new.teller", "password": "first-pass-9",
                                                      "role": "teller", "branch": "demo", "counters": []}), 201)
    from tests.conftest import login

    await login(demo.client, "new.teller", "first-pass-9")
    for number in (1, 3, 6):
        resp = await demo.client.post(f"{B}/counters/{number}/open")
        body = await resp.json()
        assert resp.status == 403 and body["error"]["code"] == "not_your_counter", body
    listed = await ok(await demo.client.get(f"{B}/counters"))
    assert not any(c["mine"] for c in listed)


# --- security headers -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/counter", "/t/abcdefgh12345678", "/api/v1/health", "/static/common/i18n.js",
                                  "/api/v1/branches/nowhere/services", "/no/such/page"])
async def test_every_answer_carries_the_security_headers(demo, path):
    resp = await demo.client.get(path)
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-eval" not in csp


def test_no_page_has_an_inline_script_the_policy_would_block():
    root = Path(__file__).resolve().parents[2]
    pages = [p for d in ("server", "kiosk", "display", "counter") for p in (root / d).rglob("*.html")]
    assert pages
    for page in pages:
        text = page.read_text()
        for start in range(len(text)):
            start = text.find("<script", start)
            if start < 0:
                break
            tag = text[start:text.index(">", start)]
            assert "src=" in tag, f"{page.name} has an inline script"


# --- QR links behind TLS ------------------------------------------------------------------------------


async def test_the_qr_code_links_to_the_configured_public_address(settings, clock, aiohttp_client):
    from server.app import create_app
    from server.services.demo import seed_demo
    from server.web.api import SERVICES

    app = create_app(settings.model_copy(update={"public_url": "https://queue.bank.example"}), clock=clock)
    client = await aiohttp_client(app)
    await seed_demo(app[SERVICES])
    ticket = await ok(await client.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK), 201)
    svg = await (await client.get(f"/api/v1/tickets/{ticket['token']}/qr.svg")).text()
    import io

    import segno

    expected = io.BytesIO()
    segno.make(f"https://queue.bank.example/t/{ticket['token']}", error="m").save(
        expected, kind="svg", scale=6, border=2, xmldecl=False)
    assert svg == expected.getvalue().decode()


def test_a_public_url_must_be_an_address():
    with pytest.raises(ValueError):
        Settings(public_url="queue.bank.example")
    assert Settings(public_url="https://queue.bank.example/").public_url == "https://queue.bank.example"


# --- the secret key ---------------------------------------------------------------------------------------


def test_an_invalid_secret_key_is_a_plain_error_not_a_traceback(tmp_path: Path):
    result = branchq(tmp_path, "serve", env={"BRANCHQ_SECRET_KEY": "not-base64-!!"})
    assert result.returncode == 2, result
    assert "BRANCHQ_SECRET_KEY" in result.stderr and "branchq secret" in result.stderr
    assert "Traceback" not in result.stderr


def test_branchq_secret_prints_a_key_the_server_takes(tmp_path: Path):
    result = branchq(tmp_path, "secret")
    assert result.returncode == 0
    key = result.stdout.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert Settings(secret_key=key).secret_key == key


@pytest.mark.postgres
def test_processes_on_postgresql_refuse_to_start_without_a_shared_key(tmp_path: Path):
    result = branchq(tmp_path, "serve", "--database", PG_URL, env={"BRANCHQ_SECRET_KEY": ""})
    assert result.returncode == 2
    assert "BRANCHQ_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_the_secret_file_is_private_from_its_first_byte_and_made_once(tmp_path: Path):
    settings = Settings(secret_file=str(tmp_path / "var" / "secret.key"), secret_key=None)
    old = os.umask(0)  # the loosest umask: the mode must not depend on it
    try:
        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(lambda _: secret_key(settings), range(8)))
    finally:
        os.umask(old)
    assert len(keys) == 1, "processes starting together share one key"
    mode = stat.S_IMODE((tmp_path / "var" / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret.key"]


# --- pipelined websocket commands -----------------------------------------------------------------------


async def test_six_hundred_pipelined_commands_are_all_answered(demo):
    ws = await demo.client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "role": "display", "branch": "demo", "token": "demo-display"})
    assert (await receive(ws))["type"] == "welcome"
    assert (await receive(ws))["type"] == "snapshot"
    for i in range(1, 601):
        await ws.send_json({"id": i, "type": "ping"})
    answered = set()
    async with asyncio.timeout(seconds(20)):
        while len(answered) < 600:
            msg = await ws.receive_json()
            if msg.get("type") == "result":
                assert msg["success"], msg
                answered.add(msg["id"])
    assert not ws.closed
    await ws.close()
