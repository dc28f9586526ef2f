"""Administration: configuration files, the admin API, enrollment, revocation, scoping, audit.

Every test runs on SQLite and on real PostgreSQL.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from server.app import create_app
from server.domain.errors import InvalidConfig
from server.services import auth, branches
from server.web.api import SERVICES, registry
from tests.conftest import KIOSK, login
from tests.integration.test_ws import (
    base_url,
    closed_with,
    next_event,
    staff_session,
    synced_socket,
    whole_database,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "deploy" / "branch.example.yaml"
A = "/api/v1/admin/branches"
B = "/api/v1/branches"


def sample() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))


async def ok(resp, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def refused(resp, status: int, code: str | None = None) -> dict[str, Any]:
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"} and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


# --- the configuration file -----------------------------------------------------------


async def test_sample_config_applies_to_an_empty_database_serves_customers_and_round_trips(
    settings, clock, aiohttp_client
):
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    spec = branches.load_yaml(SAMPLE.read_text(encoding="utf-8"))

    planned = await branches.apply_config(services, spec, dry_run=True)
    assert planned[0].startswith("create branch sh-lujiazui")
    assert (await client.get(f"{B}/sh-lujiazui/services")).status == 404, "a dry run writes nothing"
    assert await branches.apply_config(services, spec) == planned
    assert await branches.apply_config(services, spec) == [], "applying twice changes nothing"

    token = await auth.add_device(services, branch_id="sh-lujiazui", kind="kiosk", name="kiosk 1")
    await auth.add_staff(services, username="wang", password="secret-pass", role="teller",
                         branch_id="sh-lujiazui", counters=[3])
    kiosk = {"Authorization": f"Bearer {token}"}
    offered = await ok(await client.get(f"{B}/sh-lujiazui/services", headers=kiosk))
    assert [s["code"] for s in offered] == ["A", "B", "C", "D", "E"]
    assert {s["code"]: s["green_allowed"] for s in offered}["D"] is False
    a = await ok(await client.post(f"{B}/sh-lujiazui/tickets", json={"service": "A"}, headers=kiosk), 201)
    b = await ok(await client.post(f"{B}/sh-lujiazui/tickets", json={"service": "B"}, headers=kiosk), 201)
    assert (a["number"], b["number"]) == ("A001", "B001")
    await login(client, "wang", "secret-pass")
    await ok(await client.post(f"{B}/sh-lujiazui/counters/3/open"))
    called = await ok(await client.post(f"{B}/sh-lujiazui/counters/3/call-next"))
    assert called["ticket"]["number"] == "B001", "counter 3's profile is B, A, C"

    exported = branches.dump_yaml(await branches.export_config(services, "sh-lujiazui"))
    assert branches.load_yaml(exported) == spec, "export gives back an equivalent document"
    assert yaml.safe_load(exported)["counters"][1]["green_ratio"] == "1:2"

    # The branch is closed on its holidays and outside its hours; wealth advice keeps its own hours.
    clock.now = clock.now.replace(hour=4, minute=0)  # Monday 12:00 in Shanghai: lunch
    shut = await client.post(f"{B}/sh-lujiazui/tickets", json={"service": "A"}, headers=kiosk)
    assert (await refused(shut, 409))["code"] == "closed"
    clock.now = clock.now.replace(hour=8, minute=40)  # 16:40: branch open, wealth advice closed
    offered = {s["code"]: s for s in await ok(await client.get(f"{B}/sh-lujiazui/services", headers=kiosk))}
    assert offered["A"]["available"] and not offered["D"]["available"]
    assert offered["D"]["unavailable_reason"] == "closed"


def broken_document() -> dict[str, Any]:
    doc = sample()
    doc["timezone"] = "Asia/Atlantis"
    doc["services"][1]["code"] = "A"  # duplicate letter
    doc["services"][2]["target_wait_s"] = "fifteen minutes"  # wrong type
    doc["hours"]["mon"] = [["08:30", "12:00"], ["11:30", "17:00"]]  # overlapping
    doc["counters"][3]["services"] = ["C", "X"]  # unknown service
    doc["counters"][0]["green_only"] = "yes"  # wrong type
    return doc


EXPECTED_PROBLEMS = {
    "timezone": "unknown time zone",
    "services[1].code": "duplicate service code 'A'",
    "services[2].target_wait_s": "integer",
    "hours.mon[1]": "overlaps hours.mon[0]",
    "counters[3].services[1]": "unknown service 'X'",
    "counters[0].green_only": "boolean",
}


def test_an_invalid_file_reports_every_problem_with_its_path():
    with pytest.raises(InvalidConfig) as caught:
        branches.parse_config(broken_document())
    found = dict(caught.value.problems)
    for path, words in EXPECTED_PROBLEMS.items():
        assert path in found, (path, found)
        assert words in found[path], (path, found[path])


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["hours"].update(fri=[["17:00", "09:00"]]), "hours.fri[0]"),
        (lambda d: d["hours"].update(funday=[["09:00", "10:00"]]), "hours.funday"),
        (lambda d: d["hours"].update(sat=[["9am", "4pm"]]), "hours.sat[0]"),
        (lambda d: d["services"][3]["hours"].update(mon=[["09:00", "12:00"], ["10:00", "11:00"]]),
         "services[3].hours.mon[1]"),
        (lambda d: d["services"][0].update(code="G"), "services[0].code"),
        (lambda d: d["services"][0].update(colour="red"), "services[0].colour"),
        (lambda d: d["counters"][1].update(green_ratio="two to one"), "counters[1].green_ratio"),
        (lambda d: d["counters"][1].update(mode="fastest"), "counters[1].mode"),
        (lambda d: d["counters"][2].update(number=1), "counters[2].number"),
        (lambda d: d["counters"][2].update(services=[]), "counters[2].services"),
        (lambda d: d["counters"][2].update(services=["A", "A"]), "counters[2].services[1]"),
        (lambda d: d.update(holidays=["2027-02-30"]), "holidays[0]"),
        (lambda d: d.update(language="fr"), "language"),
        (lambda d: d.update(languages=["en"]), "languages"),
        (lambda d: d["names"].update(en="x\x00y"), "names.en"),
        (lambda d: d.pop("id"), "id"),
    ],
)
def test_each_kind_of_mistake_is_found_at_its_path(change, path):
    doc = sample()
    change(doc)
    with pytest.raises(InvalidConfig) as caught:
        branches.parse_config(doc)
    assert path in dict(caught.value.problems), caught.value.problems


async def test_an_invalid_file_changes_nothing_through_the_api(demo):
    await login(demo.client, "admin")
    demo_doc = yaml.safe_load(await (await demo.client.get(f"{A}/demo/config")).text())
    bad = copy.deepcopy(demo_doc)
    bad["timezone"] = "Mars/Olympus"
    bad["services"].append(copy.deepcopy(bad["services"][0]))  # a second A
    bad["counters"][0]["services"] = ["A", "Q"]
    before = await whole_database(demo)
    for body in [yaml.safe_dump(bad, allow_unicode=True), "id: demo\nservices: [\n", b"\xff\xfe\x00",
                 "- just\n- a list\n", yaml.safe_dump({**demo_doc, "id": "elsewhere"}, allow_unicode=True)]:
        resp = await demo.client.put(f"{A}/demo/config", data=body, headers={"Content-Type": "text/yaml"})
        assert resp.status in (400, 422), await resp.text()
    error = await refused(
        await demo.client.put(f"{A}/demo/config", data=yaml.safe_dump(bad, allow_unicode=True)), 422, "invalid_config"
    )
    paths = {p["path"] for p in error["problems"]}
    assert {"timezone", "services[5].code", "counters[0].services[1]"} <= paths, error
    assert await whole_database(demo) == before


def test_the_command_line_shows_problems_and_changes(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "server", *args, "--database", db], capture_output=True, text=True, cwd=ROOT,
        timeout=120,
    )
    assert run("db", "upgrade").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken_document(), allow_unicode=True), encoding="utf-8")
    result = run("config", "apply", str(bad))
    assert result.returncode == 2 and "nothing applied" in result.stderr
    for path in EXPECTED_PROBLEMS:
        assert f"  {path}: " in result.stderr, result.stderr
    result = run("config", "apply", str(SAMPLE), "--dry-run")
    assert result.returncode == 0 and "dry run" in result.stdout and "add counter 8 (E, B)" in result.stdout
    assert run("config", "export", "sh-lujiazui").returncode == 2, "a dry run creates nothing"
    assert run("config", "apply", str(SAMPLE)).returncode == 0
    changed = sample()
    changed["counters"][2]["services"] = ["A", "B", "C"]
    changed["services"] = [s for s in changed["services"] if s["code"] != "E"]
    changed["counters"] = [c for c in changed["counters"] if c["number"] != 8]
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    result = run("config", "apply", str(tmp_path / "changed.yaml"))
    assert result.returncode == 0, result.stderr
    assert "counter 3: services ['B', 'A', 'C'] → ['A', 'B', 'C']" in result.stdout, result.stdout
    assert "remove service E" in result.stdout and "remove counter 8" in result.stdout
    out = tmp_path / "out.yaml"
    assert run("config", "export", "sh-lujiazui", "-o", str(out)).returncode == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["counters"][2]["services"] == ["A", "B", "C"]


# --- changes through the API --------------------------------------------------------------


async def test_a_changed_profile_changes_the_very_next_call(demo):
    for service in ["B", "A", "B", "A"]:
        await ok(await demo.client.post(f"{B}/demo/tickets", json={"service": service}, headers=KIOSK), 201)
    async with staff_session(demo, "teller3") as teller, staff_session(demo, "manager") as manager:
        await ok(await teller.post(f"{B}/demo/counters/3/open"))
        first = await ok(await teller.post(f"{B}/demo/counters/3/call-next"))
        assert first["ticket"]["number"] == "A001", "profile A, B, C: A first"
        changed = await ok(await manager.patch(f"{A}/demo/counters/3", json={"services": ["B", "C"]}))
        assert changed["services"] == ["B", "C"]
        second = await ok(await teller.post(f"{B}/demo/counters/3/call-next",
                                            json={"expect": first["ticket"]["id"]}))
        assert second["ticket"]["number"] == "B001", "the next call follows the new profile"
        await ok(await manager.patch(f"{A}/demo/counters/3", json={"services": ["A"], "mode": "longest_wait"}))
        third = await ok(await teller.post(f"{B}/demo/counters/3/call-next",
                                           json={"expect": second["ticket"]["id"]}))
        assert third["ticket"]["number"] == "A002"
        queue = await ok(await teller.get(f"{B}/demo/queue?counter=3"))
        assert [e["number"] for e in queue["tickets"]] == [], "B002 is not counter 3's any more"
        # A manager changes profiles only; names, new counters and services are the admin's.
        for method, url, body in [
            ("PATCH", f"{A}/demo/counters/3", {"names": {"zh-CN": "三", "en": "Three"}}),
            ("POST", f"{A}/demo/counters", {"number": 9, "services": ["A"]}),
            ("POST", f"{A}/demo/services", {"code": "F", "names": {"zh-CN": "外汇", "en": "FX"}}),
            ("PATCH", f"{A}/demo", {"timezone": "Asia/Tokyo"}),
        ]:
            await refused(await manager.request(method, url, json=body), 403, "forbidden")


async def test_services_and_counters_are_added_changed_and_removed_without_orphans(demo):
    await login(demo.client, "admin")
    c = demo.client
    added = await ok(await c.post(f"{A}/demo/services", json={
        "code": "F", "names": {"zh-CN": "外汇", "en": "Foreign exchange", "zh-TW": "外匯"}, "target_wait_s": 600,
    }), 201)
    assert added["code"] == "F" and added["names"]["zh-TW"] == "外匯"
    await ok(await c.post(f"{A}/demo/counters", json={"number": 7, "services": ["F", "A"]}), 201)
    await refused(await c.post(f"{A}/demo/services", json={"code": "F", "names": {"zh-CN": "x", "en": "x"}}),
                  409, "exists")
    await refused(await c.post(f"{A}/demo/counters", json={"number": 7, "services": ["A"]}), 409, "exists")
    await refused(await c.post(f"{A}/demo/counters", json={"number": 9, "services": ["Z"]}), 422,
                  "invalid_config")
    offered = await ok(await c.get(f"{B}/demo/services", headers=KIOSK))
    assert "F" in [s["code"] for s in offered]

    f1 = await ok(await c.post(f"{B}/demo/tickets", json={"service": "F"}, headers=KIOSK), 201)
    before = await whole_database(demo)
    error = await refused(await c.delete(f"{A}/demo/services/F"), 409, "in_use")
    assert "service F still has 1 ticket(s) waiting" in error["message"]
    assert await whole_database(demo) == before, "a refused removal changes nothing"

    await ok(await c.post(f"/api/v1/tickets/{f1['token']}/cancel"))
    assert await ok(await c.delete(f"{A}/demo/services/F")) == {"removed": "F"}
    offered = await ok(await c.get(f"{B}/demo/services", headers=KIOSK))
    assert "F" not in [s["code"] for s in offered]
    public = await ok(await c.get(f"/api/v1/tickets/{f1['token']}"))
    assert public["number"] == "F001", "the ticket of a removed service still reads"
    detail = await ok(await c.get(f"{A}/demo"))
    assert {n["number"]: n["services"] for n in detail["counters"]}[7] == ["A"]
    # Adding F again brings it back under the same code.
    await ok(await c.post(f"{A}/demo/services", json={"code": "F", "names": {"zh-CN": "外汇", "en": "FX"}}), 201)
    await ok(await c.delete(f"{A}/demo/counters/7"))
    await refused(await c.delete(f"{A}/demo/services/D"), 409, "in_use")  # counter 5 takes only D

    # An open counter is not removed from under its teller.
    async with staff_session(demo, "teller6") as teller:
        await ok(await teller.post(f"{B}/demo/counters/6/open"))
        await refused(await c.delete(f"{A}/demo/counters/6"), 409, "in_use")


async def test_branch_settings_hours_and_the_kiosk_hear_of_a_change(demo):
    ws, _welcome, _snapshot = await synced_socket(demo.client, role="kiosk", token="demo-kiosk")
    try:
        async with staff_session(demo, "manager") as manager:
            hours = {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
            detail = await ok(await manager.patch(f"{A}/demo", json={"hours": hours, "holidays": ["2026-03-03"]}))
            assert detail["hours"]["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
            event = await next_event(ws, "branch.configured")
            assert event["data"] == {} or "changes" in event["data"]
            bad = await manager.patch(f"{A}/demo", json={"hours": {"mon": [["13:00", "12:00"]]}})
            error = await refused(bad, 422, "invalid_config")
            assert error["problems"][0]["path"] == "hours.mon[0]"
        demo.clock.advance(days=1)  # Tuesday 2026-03-03: a holiday now
        shut = await demo.client.post(f"{B}/demo/tickets", json={"service": "A"}, headers=KIOSK)
        assert (await refused(shut, 409))["code"] == "closed"
    finally:
        await ws.close()


# --- staff --------------------------------------------------------------------------------


async def test_an_admin_creates_resets_and_disables_staff(demo):
    await login(demo.client, "admin")
    c = demo.client
    created = await ok(await c.post("/api/v1/admin/staff", json={
        "username": "li.na", "password": "first-pass", "role": "teller", "branch": "demo", "counters": [2],
        "display_name": "李娜",
    }), 201)
    assert created["display_name"] == "李娜" and created["counters"] == [2] and created["active"]
    await refused(await c.post("/api/v1/admin/staff", json={
        "username": "li.na", "password": "other-pass", "role": "teller", "branch": "demo"}), 409, "exists")
    await refused(await c.post("/api/v1/admin/staff", json={
        "username": "x", "password": "short", "role": "teller", "branch": "demo"}), 400)
    await refused(await c.post("/api/v1/admin/staff", json={
        "username": "y", "password": "long-enough", "role": "teller", "branch": "nowhere"}), 404)

    staff_id = created["id"]
    await ok(await c.post(f"/api/v1/admin/staff/{staff_id}/password", json={"password": "second-pass"}))
    async with aiohttp.ClientSession(base_url=base_url(demo), cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        assert (await s.post("/api/v1/auth/login", json={"username": "li.na", "password": "first-pass"})).status == 401
        assert (await s.post("/api/v1/auth/login", json={"username": "li.na", "password": "second-pass"})).status == 200
        ws = await s.ws_connect("/ws", headers={"Origin": base_url(demo)})
        await ws.send_json({"type": "hello", "role": "counter", "branch": "demo"})
        assert (await ws.receive_json())["type"] == "welcome"
        disabled = await ok(await c.patch(f"/api/v1/admin/staff/{staff_id}", json={"active": False}))
        assert disabled["active"] is False
        code, reason = await closed_with(ws)
        assert code == 4401 and "sign in again" in reason
        await refused(await s.get(f"{B}/demo/counters"), 401)
        assert (await s.post("/api/v1/auth/login", json={"username": "li.na", "password": "second-pass"})).status == 401
    me = (await ok(await c.get("/api/v1/auth/me")))["id"]
    await refused(await c.patch(f"/api/v1/admin/staff/{me}", json={"active": False}), 409, "own_account")
    listed = await ok(await c.get("/api/v1/admin/staff?branch=demo"))
    assert {"li.na", "manager", "teller1"} <= {s["username"] for s in listed}


# --- devices ------------------------------------------------------------------------------


async def test_an_enrollment_code_works_once_and_expires(demo):
    async with staff_session(demo, "manager") as manager:
        code = await ok(await manager.post(f"{A}/demo/enrollments", json={"kind": "display", "name": "lobby"}), 201)
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code["code"]), code
        enrolled = await ok(await demo.client.post("/api/v1/devices/enroll", json={"code": code["code"].lower()}), 201)
        token = enrolled["token"]
        assert enrolled["device"]["kind"] == "display" and enrolled["device"]["branch"] == "demo"
        me = await ok(await demo.client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"}))
        assert me["name"] == "lobby"
        await refused(await demo.client.post("/api/v1/devices/enroll", json={"code": code["code"]}), 401, "bad_code")

        late = await ok(await manager.post(f"{A}/demo/enrollments",
                                           json={"kind": "kiosk", "name": "door", "valid_s": 600}), 201)
        demo.clock.advance(minutes=11)
        await refused(await demo.client.post("/api/v1/devices/enroll", json={"code": late["code"]}), 401, "bad_code")
        await refused(await demo.client.post("/api/v1/devices/enroll", json={"code": "AAAA-AAAA"}), 401, "bad_code")
        await refused(await demo.client.post("/api/v1/devices/enroll", json={"code": "\u00e9" * 8}), 401, "bad_code")
        await refused(await demo.client.post("/api/v1/devices/enroll", json={}), 400)
        await refused(await manager.post(f"{A}/demo/enrollments", json={"kind": "toaster", "name": "x"}), 400)

        await ok(await demo.client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"}))
        devices = await ok(await manager.get(f"{A}/demo/devices"))
        lobby = next(d for d in devices if d["name"] == "lobby")
        assert lobby["kind"] == "display" and not lobby["revoked"]
        assert lobby["last_seen_at"] == demo.clock().isoformat(), "seen when it last used its token"
        assert "door" not in {d["name"] for d in devices}


async def test_a_revoked_token_is_refused_at_once_even_on_an_open_socket(demo):
    async with staff_session(demo, "manager") as manager:
        code = (await ok(await manager.post(f"{A}/demo/enrollments", json={"kind": "display", "name": "hall"}), 201))
        enrolled = await ok(await demo.client.post("/api/v1/devices/enroll", json={"code": code["code"]}), 201)
        token, device = enrolled["token"], enrolled["device"]["id"]
        ws, _welcome, _snapshot = await synced_socket(demo.client, token=token)
        other, _w, _s = await synced_socket(demo.client)  # the demo display stays
        try:
            await ok(await manager.post(f"{A}/demo/devices/{device}/revoke"))
            code_, reason = await closed_with(ws)
            assert code_ == 4401 and "revoked" in reason
            await refused(await demo.client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"}),
                          401, "bad_token")
            again = await demo.client.ws_connect("/ws")
            await again.send_json({"type": "hello", "role": "display", "branch": "demo", "token": token})
            code_, reason = await closed_with(again)
            assert code_ == 1008 and "revoked" in reason
            # The other display keeps receiving.
            await ok(await demo.client.post(f"{B}/demo/tickets", json={"service": "A"}, headers=KIOSK), 201)
            assert (await next_event(other, "ticket.issued"))["kind"] == "ticket.issued"
        finally:
            await ws.close()
            await other.close()
        await refused(await manager.post(f"{A}/demo/devices/99999/revoke"), 404)


# --- who may do what ------------------------------------------------------------------------


def admin_paths(branch: str) -> list[tuple[str, str]]:
    """Every admin route with its parameters filled in for ``branch``."""
    fill = {"branch": branch, "code": "A", "number": "3", "staff": "1", "device": "1", "notification": "1"}
    paths = []
    for r in registry().routes:
        if "/admin/" not in r.path:
            continue
        path = re.sub(r"\{(\w+)(?::(?:[^{}]|\{[^}]*\})*)?\}", lambda m: fill[m.group(1)], r.path)
        paths.append((r.method, path))
    return paths


async def test_managers_see_their_branches_tellers_see_nothing(demo):
    other = sample()
    await branches.apply_config(demo.services, branches.parse_config(other))
    before = await whole_database(demo)
    async with staff_session(demo, "manager") as manager, staff_session(demo, "teller1") as teller:
        assert [b["id"] for b in await ok(await manager.get(f"{A}"))] == ["demo"]
        for method, path in admin_paths("sh-lujiazui"):
            if path.startswith(f"{A}/sh-lujiazui"):
                resp = await manager.request(method, path, json={} if method in ("POST", "PATCH") else None)
                assert resp.status == 403, (method, path, await resp.text())
        for method, path in admin_paths("demo"):
            resp = await teller.request(method, path, json={} if method in ("POST", "PATCH") else None)
            assert resp.status == 403, (method, path, await resp.text())
        anonymous = await demo.client.get(f"{A}/demo")
        assert anonymous.status == 401
    assert await whole_database(demo) == before

    # A regional manager sees the branches given to them, and only those.
    await auth.add_staff(demo.services, username="region", password="region-pass", role="manager",
                         branch_id="demo", branches=["sh-lujiazui"])
    await login(demo.client, "region", "region-pass")
    listed = await ok(await demo.client.get(f"{A}?q=lujiazui"))
    assert [b["id"] for b in listed] == ["sh-lujiazui"] and listed[0]["counters"] == 6
    assert [b["id"] for b in await ok(await demo.client.get(A))] == ["demo", "sh-lujiazui"]
    await ok(await demo.client.get(f"{A}/sh-lujiazui"))
    await ok(await demo.client.get(f"{B}/sh-lujiazui/reports/summary"))


async def test_every_change_is_in_the_audit_log(demo):
    await login(demo.client, "admin")
    c = demo.client
    await ok(await c.patch(f"{A}/demo/services/A", json={"target_wait_s": 420}))
    await ok(await c.patch(f"{A}/demo/counters/2", json={"green_ratio": "1:3"}))
    code = await ok(await c.post(f"{A}/demo/enrollments", json={"kind": "kiosk", "name": "door"}), 201)
    await ok(await c.post("/api/v1/devices/enroll", json={"code": code["code"]}), 201)
    async with staff_session(demo, "manager") as manager:
        log = await ok(await manager.get(f"{A}/demo/audit"))
    actions = [(e["action"], e["target"], e["staff"]) for e in log]
    assert actions[:4] == [
        ("device.enrolled", "kiosk door", "device door"),
        ("device.enrollment", "kiosk door", "admin"),
        ("counter.update", "counter 2", "admin"),
        ("service.update", "service A", "admin"),
    ]
    service_change = log[3]
    assert service_change["before"]["target_wait_s"] == 600 and service_change["after"]["target_wait_s"] == 420
    assert log[2]["before"]["green_ratio"] is None and log[2]["after"]["green_ratio"] == "1:3"
    assert all(e["at"] for e in log)
    whole = await ok(await c.get("/api/v1/admin/audit?limit=2"))
    assert len(whole) == 2
    await refused(await c.get("/api/v1/admin/audit?limit=lots"), 400)


async def test_bad_admin_input_is_refused_and_changes_nothing(demo):
    await login(demo.client, "admin")
    c = demo.client
    before = await whole_database(demo)
    cases = [
        ("POST", f"{A}/demo/services", {"code": "G", "names": {"zh-CN": "绿", "en": "Green"}}),
        ("POST", f"{A}/demo/services", {"code": "F"}),
        ("POST", f"{A}/demo/services", {"code": "F", "names": {"zh-CN": "x" * 101, "en": "x"}}),
        ("POST", f"{A}/demo/services", {"code": "F", "names": {"zh-CN": "\x00", "en": "x"}}),
        ("PATCH", f"{A}/demo/services/A", {"target_wait_s": -5}),
        ("PATCH", f"{A}/demo/services/A", {"code": "Q"}),
        ("PATCH", f"{A}/demo/services/Q", {"target_wait_s": 60}),
        ("PATCH", f"{A}/demo/counters/3", {"services": ["A", "Z"]}),
        ("PATCH", f"{A}/demo/counters/3", {"green_ratio": "0:1"}),
        ("PATCH", f"{A}/demo/counters/42", {"services": ["A"]}),
        ("PATCH", f"{A}/demo", {"timezone": "Nowhere/City"}),
        ("PATCH", f"{A}/demo", {"timezone": "America"}),  # a folder of the zone database, not a zone
        ("PATCH", f"{A}/demo", {"timezone": "a" * 300}),
        ("PATCH", f"{A}/demo", {"hours": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}),
        ("PATCH", f"{A}/demo", {"holidays": ["yesterday"]}),
        ("PATCH", f"{A}/nowhere", {"holidays": []}),
        ("POST", f"{A}", {"id": "demo", "names": {"zh-CN": "重复", "en": "Again"}}),
        ("POST", f"{A}", {"id": "Bad Id!", "names": {"zh-CN": "x", "en": "x"}}),
        ("POST", "/api/v1/admin/staff", {"username": "../etc", "password": "whatever-pass", "role": "teller"}),
        ("PATCH", "/api/v1/admin/staff/99999", {"active": False}),
        ("PATCH", "/api/v1/admin/staff/3", {"role": "king"}),
        ("PATCH", "/api/v1/admin/staff/3", {"role": None}),
        ("PATCH", "/api/v1/admin/staff/3", {"active": None}),
        ("PATCH", "/api/v1/admin/staff/3", {"display_name": None}),
        ("PATCH", "/api/v1/admin/staff/3", {"counters": None}),
        ("PATCH", "/api/v1/admin/staff/3", {"counters": [99]}),
        ("POST", "/api/v1/admin/staff", {"username": "z9", "password": "long-enough", "role": "teller",
                                         "branch": "demo", "counters": [42]}),
        ("POST", f"{A}/demo/enrollments", {"kind": "kiosk", "name": "x", "valid_s": 10}),
    ]
    for method, path, body in cases:
        resp = await c.request(method, path, json=body)
        assert 400 <= resp.status < 500, (method, path, resp.status, await resp.text())
        assert "error" in await resp.json()
    for raw in [b"{", b"[]", b"null", b'{"code": "F", "names": {"zh-CN": "x", "en": "x"}, "extra": 1}']:
        resp = await c.post(f"{A}/demo/services", data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400, (raw, await resp.text())
    assert await whole_database(demo) == before


async def test_admin_creates_a_branch_from_nothing(demo):
    await login(demo.client, "admin")
    c = demo.client
    created = await ok(await c.post(A, json={
        "id": "hk-central", "names": {"zh-CN": "中环分行", "en": "Central", "zh-TW": "中環分行"},
        "timezone": "Asia/Hong_Kong", "language": "zh-TW",
    }), 201)
    assert created["services"] == [] and created["timezone"] == "Asia/Hong_Kong"
    await ok(await c.post(f"{A}/hk-central/services",
                          json={"code": "A", "names": {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"}}), 201)
    await ok(await c.post(f"{A}/hk-central/counters", json={"number": 1, "services": ["A"]}), 201)
    listed = await ok(await c.get(f"{A}?q=central"))
    assert [(b["id"], b["services"], b["counters"]) for b in listed] == [("hk-central", 1, 1)]
    code = await ok(await c.post(f"{A}/hk-central/enrollments", json={"kind": "kiosk", "name": "door"}), 201)
    token = (await ok(await c.post("/api/v1/devices/enroll", json={"code": code["code"]}), 201))["token"]
    ticket = await ok(await c.post(f"{B}/hk-central/tickets", json={"service": "A"},
                                   headers={"Authorization": f"Bearer {token}"}), 201)
    assert ticket["number"] == "A001"
    # That kiosk belongs to hk-central only.
    await refused(await c.post(f"{B}/demo/tickets", json={"service": "A"},
                               headers={"Authorization": f"Bearer {token}"}), 403)



# --- found by trying to break it --------------------------------------------------------------


BOMB = "\n".join(
    [
        "id: demo",
        "names: {zh-CN: 演示, en: Demo}",
        "services: []",
        'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
)


async def test_hostile_documents_are_refused_quickly_and_change_nothing(demo):
    await login(demo.client, "admin")
    before = await whole_database(demo)
    for body in [
        BOMB,                                              # "billion laughs": aliases refused outright
        "id: demo\nnames: {zh-CN: x, en: x}\nx: &r [*r]\n",  # refers to itself
        "id: demo\nx: " + "[" * 5000 + "]" * 5000 + "\n",   # nested too deeply
        "id: demo\nno_show_grace_s: " + "9" * 5000 + "\n",  # an integer past Python's digit limit
    ]:
        resp = await demo.client.put(f"{A}/demo/config?dry_run=1", data=body)
        assert resp.status in (413, 422), await resp.text()
    assert await whole_database(demo) == before


async def test_values_that_do_not_fit_are_refused_not_crashed_on(demo):
    await login(demo.client, "admin")
    c = demo.client
    await refused(await c.patch(f"{A}/demo/counters/2", json={"green_ratio": "1:99999999999999999999"}), 422)
    await refused(await c.patch(f"{A}/demo", json={"languages": ["en", "en", "zh-CN"]}), 422)
    await refused(await c.patch(f"{A}/demo", json={"holidays": [0]}), 400)
    await refused(await c.patch("/api/v1/admin/staff/3", json={"active": "false"}), 400)
    await refused(await c.patch(f"{A}/demo/services/A", json={"target_wait_s": True}), 400)
    await refused(await c.get(f"{A}?q=%00"), 400)
    await refused(await c.get(f"{A}/demo/audit?limit=0"), 400)
    # The longest names the columns take still make a usable enrollment and audit entry.
    code = await ok(await c.post(f"{A}/demo/enrollments", json={"kind": "evaluator", "name": "n" * 100,
                                                                      "counter": 3}), 201)
    await ok(await c.post("/api/v1/devices/enroll", json={"code": code["code"]}), 201)


async def test_regional_branches_are_for_managers_only(demo):
    await login(demo.client, "admin")
    sh = sample()
    await branches.apply_config(demo.services, branches.parse_config(sh))
    await refused(await demo.client.patch("/api/v1/admin/staff/3", json={"branches": ["sh-lujiazui"]}), 400)
    await refused(await demo.client.post("/api/v1/admin/staff", json={
        "username": "t9", "password": "long-enough", "role": "teller", "branch": "demo", "branches": ["sh-lujiazui"],
    }), 400)
    region = await ok(await demo.client.post("/api/v1/admin/staff", json={
        "username": "r1", "password": "long-enough", "role": "manager", "branch": "demo", "branches": ["sh-lujiazui"],
    }), 201)
    await refused(await demo.client.patch(f"/api/v1/admin/staff/{region['id']}", json={"role": "teller"}), 400)


async def test_a_no_show_of_a_removed_service_cannot_come_back(demo):
    await login(demo.client, "admin")
    c = demo.client
    await ok(await c.post(f"{A}/demo/services", json={"code": "F", "names": {"zh-CN": "外汇", "en": "FX"}}), 201)
    await ok(await c.post(f"{A}/demo/counters", json={"number": 7, "services": ["F"]}), 201)
    ticket = await ok(await c.post(f"{B}/demo/tickets", json={"service": "F"}, headers=KIOSK), 201)
    await ok(await c.post(f"{B}/demo/counters/7/open"))
    await ok(await c.post(f"{B}/demo/counters/7/call-next"))
    await ok(await c.post(f"{B}/demo/counters/7/no-show"))
    await ok(await c.post(f"{B}/demo/counters/7/close"))
    await ok(await c.delete(f"{A}/demo/counters/7"))
    await ok(await c.delete(f"{A}/demo/services/F"))
    await refused(await c.post(f"{B}/demo/tickets/{ticket['id']}/requeue"), 409, "service_removed")


async def test_two_admins_at_once_both_keep_their_change(demo):
    async with staff_session(demo, "admin") as one, staff_session(demo, "admin") as two:
        import asyncio

        first, second = await asyncio.gather(
            one.patch(f"{A}/demo/counters/2", json={"mode": "longest_wait"}),
            two.patch(f"{A}/demo/counters/3", json={"mode": "longest_wait"}),
        )
        assert (first.status, second.status) == (200, 200)
        detail = await ok(await one.get(f"{A}/demo"))
        modes = {c["number"]: c["mode"] for c in detail["counters"]}
        assert modes[2] == modes[3] == "longest_wait", "neither change overwrote the other"
        body = {"id": "twin", "names": {"zh-CN": "双", "en": "Twin"}}
        answers = await asyncio.gather(one.post(A, json=body), two.post(A, json=body))
        assert sorted(r.status for r in answers) == [201, 409]
        staff = {"username": "twin", "password": "long-enough", "role": "teller", "branch": "demo"}
        answers = await asyncio.gather(one.post("/api/v1/admin/staff", json=staff),
                                       two.post("/api/v1/admin/staff", json=staff))
        assert sorted(r.status for r in answers) == [201, 409]
