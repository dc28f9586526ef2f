"""Who may do what, generated from the registry: every route and command × every role × branch.

The expected answer of each cell is the authorization table (``server.domain.access.may``);
the test only knows how to fill a route's path. A route or command added without the
right ``action`` — or a handler that skips the check — fails here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from server.domain.access import Action, Actor, may
from server.web.api import registry

from .test_ws import base_url, open_socket, receive, run_command

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

#: Each role as the demo branch has it: (actor the table is asked about, how to sign in).
ROLES: dict[str, tuple[Actor, dict[str, str]]] = {
    "public": (Actor("public"), {}),
    "kiosk": (Actor("device", 1, "kiosk", "demo"), {"token": "demo-kiosk"}),
    "display": (Actor("device", 2, "display", "demo"), {"token": "demo-display"}),
    "evaluator": (Actor("device", 3, "evaluator", "demo", (5,)), {"token": "demo-evaluator"}),
    "teller": (Actor("staff", 1, "teller", "demo", (1,)), {"user": "teller1"}),
    "manager": (Actor("staff", 2, "manager", "demo"), {"user": "manager"}),
    "admin": (Actor("staff", 3, "admin", None), {"user": "admin"}),
    "inspector": (Actor("staff", 9, "inspector", None, branches=("demo",)), {"user": "inspector"}),
}
#: Path parameters: things that do not exist (a cell answers 404, never a change), except
#: the counter, which is teller1's own, so that only the table can refuse.
FILL = {"number": "1", "code": "ZZ", "staff": "99999", "device": "99999", "notice": "99999",
        "ticket": "99999", "token": "no-such-ticket-token", "session": "0123456789abcdef", "chart": "arrivals",
        "counter": "1", "case": "99999", "incident": "99999", "breach": "99999", "inspection": "99999",
        "photo": "99999", "rect": "99999", "notification": "99999", "booking": "ZZZZZZZZ"}
WAV_NUMBER = "A001"
BRANCHES = {"own": "demo", "other": "nowhere"}


#: The counter the demo's evaluator faces (its own, as teller1's is the teller's).
EVALUATOR_COUNTER = "5"


def fill(path: str, branch: str, role: str | None = None) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "branch":
            return branch
        if role == "evaluator" and name == "number" and "/counters/" in path:
            return EVALUATOR_COUNTER
        if name == "number" and path.endswith(".wav"):
            return WAV_NUMBER
        return FILL[name]

    return re.sub(r"\{(\w+)(?::(?:[^{}]|\{[^}]*\})*)?\}", value, path)


@contextlib.asynccontextmanager
async def as_role(demo, role: str) -> AsyncIterator[tuple[aiohttp.ClientSession, dict[str, str]]]:
    """A session for ``role``: signed in, or with its device token, or nobody."""
    how = ROLES[role][1]
    headers = {"Authorization": f"Bearer {how['token']}"} if "token" in how else {}
    session = aiohttp.ClientSession(base_url=base_url(demo), cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        if "user" in how:
            resp = await session.post("/api/v1/auth/login", json={"username": how["user"], "password": "demo-pass"})
            assert resp.status == 200, await resp.text()
        yield session, headers
    finally:
        await session.close()


def _expected(role: str, action: Action, branch: str | None) -> bool:
    return may(ROLES[role][0], action, branch)


@SQLITE_ONLY
async def test_every_route_answers_every_role_as_the_authorization_table_says(demo):
    # Signing out ends the session the other cells use: last.
    routes = sorted(registry().routes, key=lambda r: r.name == "logout")
    assert len(routes) > 40, "the registry lost routes"
    wrong: list[str] = []
    cells = 0
    for role in ROLES:
        async with as_role(demo, role) as (session, headers):
            if role == "teller":  # the teller's own counter is open, so holding it is not in the way
                resp = await session.post("/api/v1/branches/demo/counters/1/open")
                assert resp.status == 200, await resp.text()
            for r in routes:
                for where, branch in BRANCHES.items():
                    if "{branch" not in r.path and where == "other":
                        continue
                    path = fill(r.path, branch, role)
                    body = b"{}" if r.method in ("POST", "PATCH", "PUT") else None
                    if r.name == "counter_close":
                        continue  # would close the counter the later cells rely on; open covers it
                    resp = await session.request(r.method, path, data=body, headers={
                        **headers, "Content-Type": "application/json",
                        "Origin": base_url(demo).rstrip("/"),
                    })
                    cells += 1
                    allowed = _expected(role, r.action, branch if "{branch" in r.path else None)
                    refused = resp.status in (401, 403)
                    if allowed == refused:
                        wrong.append(f"{role:9} {where:5} {r.method} {path} → {resp.status} "
                                     f"(table: {'allowed' if allowed else 'refused'}) {await resp.text()}"[:300])
                    if resp.status >= 500:
                        wrong.append(f"{role} {r.method} {path} → {resp.status}")
    assert cells > 300
    assert not wrong, "\n".join(wrong)


#: Arguments for each command, naming teller1's counter 1.
COMMAND_ARGS: dict[str, dict[str, Any]] = {
    "ticket/issue": {"service": "A"},
    "counter/pause": {"counter": 1},
    "counter/call": {"counter": 1, "ticket": "Z999"},
    "counter/transfer": {"counter": 1, "service": "B"},
    "service/suspend": {"service": "E"},
    "service/resume": {"service": "E"},
    "ticket/find": {"number": "Z999"},
    "ticket/cancel": {"ticket": 99999},
    "ticket/reprint": {"ticket": 99999},
    "ticket/requeue": {"ticket": 99999},
    "ticket/change_service": {"ticket": 99999, "service": "B"},
    "breach/acknowledge": {"breach": 99999, "note": "on it"},
    # A service that does not exist: a manager's cell is refused by the handler, never starts one.
    "emergency/start": {"kind": "other", "scope": ["ZZ"], "texts": {"zh-CN": "演练"}},
}
SOCKET_ROLE = {"kiosk": "kiosk", "display": "display", "evaluator": "evaluator",
               "teller": "counter", "manager": "dashboard", "admin": "dashboard"}


@SQLITE_ONLY
async def test_every_websocket_command_answers_every_role_as_the_authorization_table_says(demo):
    commands = registry().commands
    assert {"ticket/issue", "counter/call_next", "snapshot"} <= set(commands)
    wrong: list[str] = []
    for role, view in SOCKET_ROLE.items():
        async with as_role(demo, role) as (session, _headers):
            token = ROLES[role][1].get("token")
            if role == "teller":
                resp = await session.post("/api/v1/branches/demo/counters/1/open")
                assert resp.status == 200, await resp.text()
            ws, _welcome = await open_socket(session, view, token)
            assert (await receive(ws))["type"] == "snapshot"
            for n, (name, command) in enumerate(sorted(commands.items()), start=1):
                if name == "counter/close":
                    continue
                args = COMMAND_ARGS.get(name, {"counter": 1} if name.startswith("counter/") else {})
                result = await run_command(ws, n, name, **args)
                refused = not result["success"] and result["error"]["code"] in ("forbidden", "unauthenticated")
                allowed = _expected(role, command.action, "demo") and (
                    not command.staff_view or view in ("counter", "dashboard")
                )
                if allowed == refused:
                    wrong.append(f"{role} {name} → {result}")
                if not result["success"] and result["error"]["code"] == "internal":
                    wrong.append(f"{role} {name} → {result}")
            await ws.close()
    assert not wrong, "\n".join(wrong)


def test_every_route_and_command_names_an_action_of_the_table():
    for r in registry().routes:
        assert isinstance(r.action, Action), r.path
    for c in registry().commands.values():
        assert isinstance(c.action, Action), c.type
