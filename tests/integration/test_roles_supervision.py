"""Roles around supervision and emergencies: the websocket commands for emergency mode run the
HTTP routes' handler; a teller cannot start one; an inspector acts at no counter and changes no
configuration."""

from __future__ import annotations

import pytest

from tests.conftest import KIOSK, login

from .test_ws import open_socket, receive, run_command

B = "/api/v1/branches/demo"
CROWD = {"kind": "crowd", "scope": "all", "texts": {"zh-CN": "大厅人员过多，暂停取号", "en": "Issuing paused"}}


async def synced(client, role: str):
    ws, _welcome = await open_socket(client, role, None)
    assert (await receive(ws))["type"] == "snapshot"
    return ws


async def test_a_manager_starts_and_ends_an_emergency_over_the_websocket(demo):
    c = demo.client
    await login(c, "manager")
    ws = await synced(c, "dashboard")
    started = await run_command(ws, 1, "emergency/start", **CROWD, drill=True)
    assert started["success"], started
    assert started["result"]["drill"] is True and started["result"]["kind"] == "crowd"
    assert (await c.post(B + "/tickets", json={"service": "A"}, headers=KIOSK)).status == 409
    state = await (await c.get(B + "/emergency")).json()
    assert state["active"]["id"] == started["result"]["id"]
    again = await run_command(ws, 2, "emergency/start", **CROWD)
    assert not again["success"] and again["error"]["code"] not in ("forbidden", "internal")
    ended = await run_command(ws, 3, "emergency/end")
    assert ended["success"], ended
    assert (await (await c.get(B + "/emergency")).json())["active"] is None
    assert (await c.post(B + "/tickets", json={"service": "A"}, headers=KIOSK)).status == 201
    bad = await run_command(ws, 4, "emergency/start", kind="flood", texts={"zh-CN": "x"})
    assert not bad["success"] and bad["error"]["code"] == "invalid_input"
    await ws.close()


async def test_a_teller_cannot_start_an_emergency_over_http_or_the_websocket(demo):
    c = demo.client
    await login(c, "teller1")
    assert (await c.post(B + "/emergency", json=CROWD)).status == 403
    ws = await synced(c, "counter")
    refused = await run_command(ws, 1, "emergency/start", **CROWD)
    assert not refused["success"] and refused["error"]["code"] == "forbidden"
    refused = await run_command(ws, 2, "emergency/end")
    assert not refused["success"] and refused["error"]["code"] == "forbidden"
    await ws.close()
    await login(c, "manager")
    assert (await (await c.get(B + "/emergency")).json())["active"] is None


@pytest.mark.parametrize("action", ["open", "pause", "close", "call-next", "recall", "no-show", "start", "finish"])
async def test_an_inspector_acts_at_no_counter(demo, action):
    c = demo.client
    await login(c, "inspector")
    resp = await c.post(f"{B}/counters/1/{action}", json={})
    assert resp.status == 403, await resp.text()
    assert (await resp.json())["error"]["code"] == "forbidden"


async def test_an_inspector_changes_no_configuration_and_starts_no_emergency(demo):
    c = demo.client
    await login(c, "inspector")
    for method, path, body in [
        ("PATCH", "/api/v1/admin/branches/demo", {"language": "en"}),
        ("PATCH", "/api/v1/admin/branches/demo/services/A", {"target_wait_s": 60}),
        ("PATCH", "/api/v1/admin/branches/demo/counters/1", {"services": ["A"]}),
        ("POST", "/api/v1/admin/branches/demo/enrollments", {"kind": "kiosk", "name": "x"}),
        ("POST", B + "/emergency", CROWD),
        ("POST", B + "/notices", {"texts": {"zh-CN": "通知"}}),
    ]:
        resp = await c.request(method, path, json=body)
        assert resp.status == 403, f"{method} {path} → {resp.status} {await resp.text()}"
    await login(c, "manager")
    detail = await (await c.get("/api/v1/admin/branches/demo")).json()
    assert detail["language"] == "zh-CN"
