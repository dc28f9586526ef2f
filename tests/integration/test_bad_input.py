"""Bad input anywhere: a clear 4xx with ``{"error": {"code", "message"}}``, and nothing stored changes.

Every refusal here is checked three ways: the exact status (never a 5xx), the error
body's shape (and its code where the contract names one), and a snapshot of every
table taken before and after, which must be identical.

Demo branch (DESIGN.md, "Demo mode"): services A–E; counters 1 green-only A,B · 2 B,A ·
3 A,B,C · 4 C,A · 5 D · 6 E,A; teller N works at counter N.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.store.tables import Base
from tests.conftest import login
from tests.integration.snapshot import SIGN_INS, snapshot

B = "/api/v1/branches/demo"
NOWHERE = "/api/v1/branches/nowhere"
MAX_BODY = 64 * 1024
NEVER_ISSUED = "NeverIssuedToken_0123"  # well-formed (route pattern), but no ticket has it
DEVICES = {"kiosk": "demo-kiosk", "display": "demo-display", "evaluator": "demo-evaluator"}
NO_BODY = object()


# --- the world a test acts in ---------------------------------------------------------


class World:
    """The demo app with one client per person: cookies are per client."""

    def __init__(self, demo, aiohttp_client) -> None:
        self.demo = demo
        self._new_client = aiohttp_client
        self._staff: dict[str, TestClient] = {}
        self.ctx: dict[str, Any] = {}

    async def client(self, who: str | None) -> tuple[TestClient, dict[str, str]]:
        """``None``: the public; a device kind: its bearer token; else a signed-in staff member."""
        if who is None:
            return self.demo.client, {}
        if who in DEVICES:
            return self.demo.client, {"Authorization": f"Bearer {DEVICES[who]}"}
        if who not in self._staff:
            client = await self._new_client(self.demo.client.server)
            await login(client, who)
            self._staff[who] = client
        return self._staff[who], {}

    async def ok(self, who: str | None, method: str, path: str, body: Any = NO_BODY, status: int = 200) -> dict:
        client, headers = await self.client(who)
        kwargs = {} if body is NO_BODY else {"json": body}
        resp = await client.request(method, path, headers=headers, **kwargs)
        assert resp.status == status, f"setup {method} {path}: {resp.status} {await resp.text()}"
        return await resp.json()

    async def issue(self, service: str = "A", **extra: Any) -> dict:
        return await self.ok("kiosk", "POST", f"{B}/tickets", {"service": service, **extra}, status=201)

    async def act(self, who: str, counter: int, action: str, body: Any = NO_BODY) -> dict:
        return await self.ok(who, "POST", f"{B}/counters/{counter}/{action}", body)


@pytest.fixture
def world(demo, aiohttp_client) -> World:
    return World(demo, aiohttp_client)


def check_error_body(raw: bytes, content_type: str, code: str | None) -> dict:
    assert content_type == "application/json", f"an error must be JSON, got {content_type}: {raw[:200]!r}"
    body = json.loads(raw)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


async def refused(
    world: World,
    who: str | None,
    method: str,
    path: str,
    status: int,
    code: str | None = None,
    *,
    body: Any = NO_BODY,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """Send one request; it must be refused with ``status`` (and ``code``) and change nothing."""
    client, auth_headers = await world.client(who)
    kwargs: dict[str, Any] = {"headers": {**auth_headers, **(headers or {})}}
    if body is not NO_BODY:
        kwargs["json"] = body
    if data is not None:
        kwargs["data"] = data
    before = await snapshot(world.demo.services)
    resp = await client.request(method, path, **kwargs)
    raw = await resp.read()
    assert resp.status < 500, f"server error {resp.status} on {method} {path}: {raw[:300]!r}"
    assert resp.status == status, f"{method} {path}: expected {status}, got {resp.status} {raw[:300]!r}"
    error = check_error_body(raw, resp.content_type, code)
    assert await snapshot(world.demo.services) == before, "a refused request changed the database"
    return error


# --- states to be refused from ---------------------------------------------------------

Setup = Callable[[World], Awaitable[None]]


async def nothing(w: World) -> None:
    pass


async def waiting_a(w: World) -> None:
    w.ctx["ticket"] = await w.issue("A")


async def waiting_d(w: World) -> None:
    w.ctx["ticket"] = await w.issue("D")


async def counter3_open(w: World) -> None:
    await w.act("teller3", 3, "open")


async def counter3_paused(w: World) -> None:
    await w.act("teller3", 3, "open")
    await w.act("teller3", 3, "pause", {"reason": "lunch"})


async def called_at_3(w: World) -> None:
    w.ctx["ticket"] = await w.issue("A")
    await w.act("teller3", 3, "open")
    called = await w.act("teller3", 3, "call-next")
    assert called["ticket"]["id"] == w.ctx["ticket"]["id"]


async def serving_at_3(w: World) -> None:
    await called_at_3(w)
    await w.act("teller3", 3, "start")


async def served_at_3(w: World) -> None:
    await called_at_3(w)
    await w.act("teller3", 3, "finish")


async def rated(w: World) -> None:
    await served_at_3(w)
    await w.ok(None, "POST", f"/api/v1/tickets/{w.ctx['ticket']['token']}/feedback", {"score": 4}, status=201)


async def cancelled(w: World) -> None:
    await waiting_a(w)
    await w.ok(None, "POST", f"/api/v1/tickets/{w.ctx['ticket']['token']}/cancel")


async def no_show_at_3(w: World) -> None:
    await called_at_3(w)
    await w.act("teller3", 3, "no-show")


def fill(path: str, w: World) -> str:
    ticket = w.ctx.get("ticket") or {}
    return path.format(token=ticket.get("token", NEVER_ISSUED), id=ticket.get("id", 0))


def fill_body(body: Any, w: World) -> Any:
    if isinstance(body, dict):
        ticket = w.ctx.get("ticket") or {}
        return {k: (ticket["id"] if v == "{id}" else v) for k, v in body.items()}
    return body


# --- 404: what does not exist ----------------------------------------------------------


@pytest.mark.parametrize(
    "who,method,path,body",
    [
        pytest.param(None, "GET", f"{NOWHERE}/services", NO_BODY, id="services-of-unknown-branch"),
        pytest.param("admin", "POST", f"{NOWHERE}/tickets", {"service": "A"}, id="issue-at-unknown-branch"),
        pytest.param("admin", "GET", f"{NOWHERE}/queue", NO_BODY, id="queue-of-unknown-branch"),
        pytest.param("admin", "POST", f"{NOWHERE}/counters/1/open", NO_BODY, id="open-counter-of-unknown-branch"),
        pytest.param("admin", "GET", f"{NOWHERE}/counters/1", NO_BODY, id="view-counter-of-unknown-branch"),
        pytest.param("admin", "POST", f"{NOWHERE}/tickets/1/requeue", NO_BODY, id="requeue-at-unknown-branch"),
    ],
)
async def test_an_unknown_branch_is_not_found(world, who, method, path, body):
    await refused(world, who, method, path, 404, "not_found", body=body)


@pytest.mark.parametrize(
    "setup,who,path,body",
    [
        pytest.param(nothing, "kiosk", f"{B}/tickets", {"service": "Z"}, id="kiosk-issues-service-Z"),
        pytest.param(nothing, "kiosk", f"{B}/tickets", {"service": "AB"}, id="kiosk-issues-service-AB"),
        pytest.param(nothing, "teller3", f"{B}/tickets", {"service": "F"}, id="teller-issues-service-F"),
        pytest.param(called_at_3, "teller3", f"{B}/counters/3/transfer", {"service": "Z"},
                     id="transfer-to-service-Z"),
    ],
)
async def test_an_unknown_service_is_not_found(world, setup, who, path, body):
    await setup(world)
    await refused(world, who, "POST", path, 404, "not_found", body=body)


@pytest.mark.parametrize(
    "setup,who,method,path,body",
    [
        pytest.param(nothing, "manager", "POST", f"{B}/counters/99/open", NO_BODY, id="manager-opens-99"),
        pytest.param(nothing, "teller3", "POST", f"{B}/counters/99/call-next", NO_BODY, id="teller-calls-at-99"),
        pytest.param(nothing, "manager", "GET", f"{B}/counters/99", NO_BODY, id="view-99"),
        pytest.param(nothing, "manager", "GET", f"{B}/queue?counter=99", NO_BODY, id="queue-of-99"),
        pytest.param(nothing, "manager", "POST", f"{B}/counters/12345/open", NO_BODY, id="five-digit-counter"),
        pytest.param(called_at_3, "teller3", "POST", f"{B}/counters/3/transfer", {"counter": 99},
                     id="transfer-to-counter-99"),
    ],
)
async def test_an_unknown_counter_is_not_found(world, setup, who, method, path, body):
    await setup(world)
    await refused(world, who, method, path, 404, "not_found", body=body)


@pytest.mark.parametrize(
    "setup,path,body",
    [
        pytest.param(nothing, f"{B}/tickets/999999/requeue", NO_BODY, id="requeue-unknown-id"),
        pytest.param(counter3_open, f"{B}/counters/3/call", {"ticket": 999999}, id="call-unknown-id"),
        pytest.param(counter3_open, f"{B}/counters/3/call", {"ticket": "A999"}, id="call-unknown-number"),
        pytest.param(counter3_open, f"{B}/counters/3/call", {"ticket": -1}, id="call-negative-id"),
    ],
)
async def test_an_unknown_ticket_id_is_not_found(world, setup, path, body):
    await setup(world)
    await refused(world, "teller3", "POST", path, 404, "not_found", body=body)


@pytest.mark.parametrize(
    "method,suffix,body,token",
    [
        pytest.param("GET", "", NO_BODY, NEVER_ISSUED, id="follow-never-issued"),
        pytest.param("GET", "", NO_BODY, "z" * 64, id="follow-longest-well-formed"),
        pytest.param("GET", "", NO_BODY, "short", id="follow-malformed-too-short"),
        pytest.param("GET", "", NO_BODY, "has.dots.in.it", id="follow-malformed-characters"),
        pytest.param("POST", "/cancel", NO_BODY, NEVER_ISSUED, id="cancel-never-issued"),
        pytest.param("POST", "/cancel", NO_BODY, "short", id="cancel-malformed"),
        pytest.param("POST", "/feedback", {"score": 5}, NEVER_ISSUED, id="feedback-never-issued"),
        pytest.param("POST", "/feedback", {"score": 5}, "z" * 64, id="feedback-longest-well-formed"),
    ],
)
async def test_an_unknown_ticket_token_is_not_found(world, method, suffix, body, token):
    await waiting_a(world)  # a real ticket exists; the token is simply not its
    await refused(world, None, method, f"/api/v1/tickets/{token}{suffix}", 404, "not_found", body=body)


@pytest.mark.parametrize("action", ["dance", "call_next", "OPEN", "open/now", "callnext"])
async def test_an_unknown_counter_action_is_not_found(world, action):
    await counter3_open(world)
    await refused(world, "teller3", "POST", f"{B}/counters/3/{action}", 404, "not_found")


async def test_a_wrong_method_is_refused_with_405(world):
    await refused(world, "teller3", "GET", f"{B}/counters/3/open", 405, "method_not_allowed")


async def test_a_wrong_method_answer_names_the_methods_there_are(world):
    client, _ = await world.client("teller3")
    resp = await client.get(f"{B}/counters/3/open")
    assert resp.status == 405
    assert resp.headers.get("Allow") == "POST"


# --- 400: requests that can never succeed as sent ---------------------------------------

ISSUE = ("kiosk", f"{B}/tickets")
FEEDBACK = (None, "/api/v1/tickets/{token}/feedback")
PAUSE = ("teller3", f"{B}/counters/3/pause")
TRANSFER = ("teller3", f"{B}/counters/3/transfer")
CALL = ("teller3", f"{B}/counters/3/call")
OPEN = ("teller3", f"{B}/counters/3/open")
LOGIN = (None, "/api/v1/auth/login")

#: Where a body is read, and the state in which everything but the body would be fine.
BODY_TARGETS = [
    pytest.param(nothing, *ISSUE, id="issue"),
    pytest.param(served_at_3, *FEEDBACK, id="feedback"),
    pytest.param(counter3_open, *PAUSE, id="pause"),
    pytest.param(called_at_3, *TRANSFER, id="transfer"),
    pytest.param(nothing, *LOGIN, id="login"),
]


NOT_JSON = {
    "unclosed": b"{",
    "trailing-comma": b'{"service": "A",}',
    "form-encoded": b"service=A&priority=normal",
    "single-quotes": b"{'service': 'A'}",
    "not-utf8": b'{"service": "\xff\xfe"}',
    "nan": b'{"service": NaN}',
}
NOT_AN_OBJECT = {
    "array": b"[]",
    "array-of-the-object": b'[{"service": "A"}]',
    "string": b'"A"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
}


def on_issue_and_each_route(bodies: dict[str, bytes]) -> list:
    """Every body at issuance, and the first at every other route (the parsing is shared)."""
    (issue, *others), (first, *_) = BODY_TARGETS, bodies
    cases = [pytest.param(*issue.values, raw, id=f"issue-{name}") for name, raw in bodies.items()]
    return cases + [pytest.param(*t.values, bodies[first], id=f"{t.id}-{first}") for t in others]


@pytest.mark.parametrize("setup,who,path,raw", on_issue_and_each_route(NOT_JSON))
async def test_a_body_that_is_not_json_is_refused(world, setup, who, path, raw):
    await setup(world)
    await refused(world, who, "POST", fill(path, world), 400, "invalid_json", data=raw,
                  headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("setup,who,path,raw", on_issue_and_each_route(NOT_AN_OBJECT))
async def test_a_json_body_that_is_not_an_object_is_refused(world, setup, who, path, raw):
    await setup(world)
    await refused(world, who, "POST", fill(path, world), 400, "invalid_json", data=raw,
                  headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "setup,who,path,body",
    [
        pytest.param(nothing, *ISSUE, {"service": 5}, id="service-5"),
        pytest.param(nothing, *ISSUE, {"service": ["A"]}, id="service-list"),
        pytest.param(nothing, *ISSUE, {"service": None}, id="service-null"),
        pytest.param(nothing, *ISSUE, {"service": "a"}, id="service-lowercase"),
        pytest.param(nothing, *ISSUE, {"service": "A", "priority": "vip"}, id="priority-vip"),
        pytest.param(nothing, *ISSUE, {"service": "A", "priority": 1}, id="priority-number"),
        pytest.param(nothing, *ISSUE, {"service": "A", "priority": "green", "green_reason": "tired"},
                     id="green-reason-unknown"),
        pytest.param(served_at_3, *FEEDBACK, {"score": "x"}, id="score-x"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 4.5}, id="score-fraction"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 4, "tags": "fast"}, id="tags-string"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 4, "comment": 7}, id="comment-number"),
        pytest.param(counter3_open, *PAUSE, {"reason": 5}, id="pause-reason-number"),
        pytest.param(waiting_a, *CALL, {"ticket": [1]}, id="call-ticket-list"),
        pytest.param(waiting_a, *CALL, {"ticket": "a001"}, id="call-ticket-bad-number"),
        pytest.param(called_at_3, *TRANSFER, {"counter": "four"}, id="transfer-counter-word"),
        pytest.param(called_at_3, *TRANSFER, {"service": "B", "position": "middle"}, id="transfer-position"),
        pytest.param(nothing, *LOGIN, {"username": 5, "password": "demo-pass"}, id="login-username-number"),
    ],
)
async def test_a_field_of_the_wrong_type_is_refused(world, setup, who, path, body):
    await setup(world)
    if path == CALL[1]:
        await counter3_open(world)
    await refused(world, who, "POST", fill(path, world), 400, "invalid_input", body=body)


@pytest.mark.parametrize(
    "setup,who,path,body",
    [
        pytest.param(nothing, *ISSUE, {"service": "A", "colour": "red"}, id="issue"),
        pytest.param(nothing, *ISSUE, {"service": "A", "Priority": "green"}, id="issue-miscased-field"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "stars": 5}, id="feedback"),
        pytest.param(counter3_open, *PAUSE, {"reason": "lunch", "minutes": 30}, id="pause"),
        pytest.param(nothing, *OPEN, {"force": True}, id="open"),
        pytest.param(called_at_3, *TRANSFER, {"service": "B", "urgent": True}, id="transfer"),
        pytest.param(nothing, *LOGIN, {"username": "teller3", "password": "demo-pass", "remember": True},
                     id="login"),
    ],
)
async def test_an_unknown_field_is_refused(world, setup, who, path, body):
    await setup(world)
    await refused(world, who, "POST", fill(path, world), 400, "invalid_input", body=body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"service": "A", "priority": "green"}, id="green-without-reason"),
        pytest.param({"service": "A", "priority": "green", "green_reason": None}, id="green-reason-null"),
        pytest.param({"service": "A", "green_reason": "elderly"}, id="normal-with-reason"),
        pytest.param({"service": "A", "priority": "normal", "green_reason": "urgent"}, id="normal-with-reason-2"),
    ],
)
async def test_a_green_channel_ticket_needs_a_reason_and_only_it_has_one(world, body):
    await refused(world, "kiosk", "POST", f"{B}/tickets", 400, "invalid_input", body=body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"service": "B", "counter": 4}, id="both-service-and-counter"),
        pytest.param({}, id="neither"),
        pytest.param({"position": "first"}, id="only-a-position"),
        pytest.param({"service": None, "counter": None}, id="both-null"),
        pytest.param({"counter": 3}, id="to-its-own-counter"),
    ],
)
async def test_a_transfer_names_exactly_one_other_target(world, body):
    await called_at_3(world)
    await refused(world, "teller3", "POST", f"{B}/counters/3/transfer", 400, "invalid_input", body=body)


@pytest.mark.parametrize(
    "setup,who,path",
    [
        pytest.param(nothing, *ISSUE, id="issue"),
        pytest.param(served_at_3, *FEEDBACK, id="feedback"),
        pytest.param(waiting_a, *CALL, id="call"),
        pytest.param(called_at_3, *TRANSFER, id="transfer"),
        pytest.param(nothing, *LOGIN, id="login"),
    ],
)
async def test_a_required_body_cannot_be_left_out(world, setup, who, path):
    await setup(world)
    if path == CALL[1]:
        await counter3_open(world)
    await refused(world, who, "POST", fill(path, world), 400, "invalid_input")


@pytest.mark.parametrize(
    "setup,who,path,body",
    [
        pytest.param(served_at_3, *FEEDBACK, {"score": 0}, id="score-0"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 6}, id="score-6"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "comment": "x" * 501}, id="comment-501"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "tags": ["t"] * 11}, id="eleven-tags"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "tags": [""]}, id="empty-tag"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "tags": ["x" * 33]}, id="tag-33"),
        pytest.param(counter3_open, *PAUSE, {"reason": "x" * 201}, id="pause-reason-201"),
        pytest.param(called_at_3, *TRANSFER, {"counter": 0}, id="transfer-counter-0"),
        pytest.param(called_at_3, *TRANSFER, {"counter": 10000}, id="transfer-counter-10000"),
        pytest.param(nothing, *LOGIN, {"username": "", "password": "x"}, id="login-empty-username"),
    ],
)
async def test_a_value_out_of_range_is_refused(world, setup, who, path, body):
    await setup(world)
    await refused(world, who, "POST", fill(path, world), 400, "invalid_input", body=body)


@pytest.mark.parametrize("counter", ["x", "-1", "3.0", "", "0x3"])
async def test_the_queue_of_a_counter_needs_a_counter_number(world, counter):
    await refused(world, "teller3", "GET", f"{B}/queue?counter={counter}", 400, "invalid_input")


@pytest.mark.parametrize("key", [pytest.param("k" * 129, id="129"), pytest.param("k" * 4000, id="4000"),
                                 pytest.param("", id="empty"), pytest.param("a\tb", id="tab")])
async def test_an_idempotency_key_must_be_1_to_128_characters(world, key):
    await refused(world, "kiosk", "POST", f"{B}/tickets", 400, "invalid_input",
                  body={"service": "A"}, headers={"Idempotency-Key": key})


# --- 415: a body that is not JSON by its media type -------------------------------------------
# A cross-site page may post a form or text/plain without the browser asking first; such a
# body is never read as a command, whatever it holds.


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/octet-stream"])
@pytest.mark.parametrize(
    "setup,who,path,body",
    [
        pytest.param(nothing, *ISSUE, {"service": "A"}, id="issue"),
        pytest.param(counter3_open, *PAUSE, {"reason": "lunch"}, id="pause"),
        pytest.param(nothing, *LOGIN, {"username": "teller3", "password": "demo-pass"}, id="login"),
    ],
)
async def test_a_json_body_sent_as_another_media_type_is_refused_with_415(world, setup, who, path, body,
                                                                          content_type):
    await setup(world)
    await refused(world, who, "POST", fill(path, world), 415, "unsupported_media_type",
                  data=json.dumps(body).encode(), headers={"Content-Type": content_type})


# --- 413: a body past the limit ---------------------------------------------------------


def padded(size: int, fields: dict) -> bytes:
    """A JSON object of exactly ``size`` bytes: ``fields`` then whitespace."""
    raw = json.dumps(fields).encode()
    assert len(raw) < size
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


@pytest.mark.parametrize(
    "setup,who,path,fields",
    [
        pytest.param(nothing, *ISSUE, {"service": "A"}, id="issue"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5}, id="feedback"),
        pytest.param(counter3_open, *PAUSE, {"reason": "lunch"}, id="pause"),
        pytest.param(nothing, *LOGIN, {"username": "teller3", "password": "demo-pass"}, id="login"),
    ],
)
async def test_a_body_over_64_kib_is_too_large(world, setup, who, path, fields):
    await setup(world)
    await refused(world, who, "POST", fill(path, world), 413, "too_large",
                  data=padded(MAX_BODY + 1, fields), headers={"Content-Type": "application/json"})


async def test_a_chunked_body_over_64_kib_is_too_large(world):
    async def chunks():
        yield b'{"service": "A", "pad": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    await refused(world, "kiosk", "POST", f"{B}/tickets", 413, "too_large", data=chunks(),
                  headers={"Content-Type": "application/json"})


async def test_a_compressed_body_that_inflates_past_64_kib_is_too_large(world):
    raw = gzip.compress(padded(MAX_BODY * 16, {"service": "A"}))
    assert len(raw) < 4096
    await refused(world, "kiosk", "POST", f"{B}/tickets", 413, "too_large", data=raw,
                  headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})


async def test_a_body_of_exactly_64_kib_is_still_read(world):
    client, headers = await world.client("kiosk")
    resp = await client.post(f"{B}/tickets", data=padded(MAX_BODY, {"service": "A"}),
                             headers={**headers, "Content-Type": "application/json"})
    assert resp.status == 201, await resp.text()


# --- 409: not allowed from the current state --------------------------------------------
# The lifecycle rules themselves are tested at the use cases (tests/service/test_counter_rules.py);
# here, that a refusal reaches HTTP as 409 with its code and changes nothing.


@pytest.mark.parametrize("setup", [called_at_3, serving_at_3])
async def test_a_counter_with_a_customer_at_it_cannot_close(world, setup):
    await setup(world)
    await refused(world, "teller3", "POST", f"{B}/counters/3/close", 409, "counter_busy")


# --- 401: who is asking is unknown -------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body,headers",
    [
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, {}, id="issue-without-token"),
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, {"Authorization": "Basic ZGVtbzpraW9zaw=="},
                     id="issue-with-basic-auth"),
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, {"Authorization": "demo-kiosk"},
                     id="issue-with-token-but-no-bearer"),
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, {"Authorization": "Bearer "},
                     id="issue-with-empty-bearer"),
        pytest.param("POST", f"{B}/counters/3/open", NO_BODY, {}, id="open-without-session"),
        pytest.param("POST", f"{B}/counters/3/call-next", NO_BODY, {}, id="call-next-without-session"),
        pytest.param("GET", f"{B}/counters/3", NO_BODY, {}, id="counter-view-without-session"),
        pytest.param("GET", f"{B}/queue", NO_BODY, {}, id="queue-without-session"),
        pytest.param("POST", f"{B}/tickets/1/requeue", NO_BODY, {}, id="requeue-without-session"),
        pytest.param("GET", "/api/v1/auth/me", NO_BODY, {}, id="me-without-session"),
    ],
)
async def test_a_request_without_credentials_is_unauthenticated(world, method, path, body, headers):
    await waiting_a(world)
    await refused(world, None, method, path, 401, "unauthenticated", body=body, headers=headers)


@pytest.mark.parametrize(
    "method,path,body,token",
    [
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, "wrong-token", id="issue"),
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, "demo-kiosk2", id="issue-near-miss"),
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, "DEMO-KIOSK", id="issue-other-case"),
        pytest.param("POST", f"{B}/tickets", {"service": "A"}, "x" * 500, id="issue-very-long"),
        pytest.param("POST", f"{B}/counters/3/call-next", NO_BODY, "wrong-token", id="counter-action"),
        pytest.param("GET", f"{B}/queue", NO_BODY, "wrong-token", id="queue"),
        pytest.param("GET", f"{B}/services", NO_BODY, "wrong-token", id="even-a-public-read"),
    ],
)
async def test_a_bad_bearer_token_is_unauthenticated(world, method, path, body, token):
    await refused(world, None, method, path, 401, "bad_token", body=body,
                  headers={"Authorization": f"Bearer {token}"})


async def test_a_bad_bearer_token_is_not_rescued_by_a_staff_session(world):
    await refused(world, "teller3", "POST", f"{B}/counters/3/open", 401, "bad_token",
                  headers={"Authorization": "Bearer wrong-token"})


async def test_a_signed_out_teller_can_no_longer_act(world):
    client, _ = await world.client("teller3")
    assert (await client.post("/api/v1/auth/logout")).status == 200
    await refused(world, "teller3", "POST", f"{B}/counters/3/open", 401, "unauthenticated")


# --- 403: known, but not allowed --------------------------------------------------------


@pytest.mark.parametrize(
    "who,method,path,body",
    [
        pytest.param("display", "POST", f"{B}/tickets", {"service": "A"}, id="display-issues-a-ticket"),
        pytest.param("evaluator", "POST", f"{B}/tickets", {"service": "A"}, id="evaluator-issues-a-ticket"),
        pytest.param("kiosk", "POST", f"{NOWHERE}/tickets", {"service": "A"}, id="kiosk-issues-for-another-branch"),
        pytest.param("kiosk", "POST", f"{B}/counters/3/open", NO_BODY, id="kiosk-opens-a-counter"),
        pytest.param("kiosk", "POST", f"{B}/counters/3/call-next", NO_BODY, id="kiosk-calls-next"),
        pytest.param("kiosk", "POST", f"{B}/counters/3/finish", NO_BODY, id="kiosk-finishes"),
        pytest.param("display", "POST", f"{B}/counters/3/call-next", NO_BODY, id="display-calls-next"),
        pytest.param("kiosk", "GET", f"{B}/queue", NO_BODY, id="kiosk-reads-the-queue"),
        pytest.param("display", "GET", f"{B}/queue", NO_BODY, id="display-reads-the-queue"),
        pytest.param("kiosk", "POST", f"{B}/tickets/1/requeue", NO_BODY, id="kiosk-requeues"),
    ],
)
async def test_a_device_does_only_its_own_job(world, who, method, path, body):
    await counter3_open(world)
    await waiting_a(world)
    await refused(world, who, method, path, 403, "forbidden", body=body)


async def test_a_teller_opens_only_a_counter_they_work_at(world):
    await refused(world, "teller1", "POST", f"{B}/counters/3/open", 403, "not_your_counter")


@pytest.mark.parametrize(
    "path,body,headers",
    [
        pytest.param(f"{B}/counters/3/finish", NO_BODY, {"Origin": "https://evil.example"}, id="foreign-site"),
        pytest.param(f"{B}/counters/3/finish", NO_BODY, {"Origin": "null"}, id="opaque-origin"),
        pytest.param(f"{B}/counters/3/finish", NO_BODY, {"Origin": "http://127.0.0.1:1"}, id="other-port"),
        pytest.param(f"{B}/counters/3/finish", NO_BODY, {"Sec-Fetch-Site": "cross-site"}, id="fetch-metadata"),
        pytest.param(f"{B}/counters/3/transfer", {"service": "B"}, {"Origin": "https://evil.example"},
                     id="transfer"),
        pytest.param(f"{B}/tickets", {"service": "A"}, {"Origin": "https://evil.example"}, id="issue"),
        pytest.param("/api/v1/auth/logout", NO_BODY, {"Origin": "https://evil.example"}, id="logout"),
    ],
)
async def test_a_staff_write_from_a_foreign_origin_is_refused(world, path, body, headers):
    await called_at_3(world)
    await refused(world, "teller3", "POST", path, 403, "bad_origin", body=body, headers=headers)
    # The session itself is untouched: the teller still works from the real page.
    client, _ = await world.client("teller3")
    assert (await client.get(f"{B}/counters/3")).status == 200


async def test_a_staff_write_from_the_servers_own_origin_is_accepted(world):
    await called_at_3(world)
    client, _ = await world.client("teller3")
    own = str(client.make_url("")).rstrip("/")
    resp = await client.post(f"{B}/counters/3/finish", headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert resp.status == 200, await resp.text()


# --- hostile input: never a server error ------------------------------------------------


async def answered(world: World, who, method: str, path: str, *, body: Any = NO_BODY, headers=None):
    """Send a request whose right answer may be a refusal or a success, never a 5xx."""
    client, auth_headers = await world.client(who)
    kwargs: dict[str, Any] = {"headers": {**auth_headers, **(headers or {})}}
    if body is not NO_BODY:
        kwargs["json"] = body
    before = await snapshot(world.demo.services)
    resp = await client.request(method, path, **kwargs)
    raw = await resp.read()
    assert resp.status < 500, f"server error {resp.status} on {method} {path}: {raw[:300]!r}"
    if resp.status >= 400:
        check_error_body(raw, resp.content_type, None)
        assert await snapshot(world.demo.services) == before, "a refused request changed the database"
    return resp.status


async def raw_request(world: World, head: bytes, body: bytes) -> tuple[int, str, bytes]:
    """One HTTP/1.1 request written byte for byte (for header bytes a client library won't send)."""
    server = world.demo.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            head + b"\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    head_part, _, payload = answer.partition(b"\r\n\r\n")
    lines = head_part.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.decode("latin-1").split(": ", 1) for line in lines[1:])
    content_type = headers.get("Content-Type", "").split(";")[0]
    return status, content_type, payload


async def test_a_counter_number_in_unusual_digits_is_refused(world):
    # "²".isdigit() is true, but it is no counter number.
    await refused(world, "teller3", "GET", f"{B}/queue?counter=%C2%B2", 400, "invalid_input")


@pytest.mark.parametrize("ticket", [2**63, 2**64 - 1], ids=["2^63", "2^64-1"])
async def test_a_ticket_id_beyond_any_database_id_is_refused_not_a_crash(world, ticket):
    await counter3_open(world)
    before = await snapshot(world.demo.services)
    client, _ = await world.client("teller3")
    resp = await client.post(f"{B}/counters/3/call", json={"ticket": ticket})
    raw = await resp.read()
    assert resp.status in (400, 404), f"{resp.status} {raw[:300]!r}"
    check_error_body(raw, resp.content_type, None)
    assert await snapshot(world.demo.services) == before


@pytest.mark.parametrize(
    "setup,who,path,body",
    [
        pytest.param(counter3_open, *PAUSE, {"reason": "lunch\x00break"}, id="pause-reason"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "comment": "good\x00"}, id="feedback-comment"),
        pytest.param(served_at_3, *FEEDBACK, {"score": 5, "tags": ["fa\x00st"]}, id="feedback-tag"),
        pytest.param(nothing, *LOGIN, {"username": "teller3\x00", "password": "demo-pass"}, id="login-username"),
    ],
)
async def test_text_with_a_nul_character_never_causes_a_server_error(world, setup, who, path, body):
    await setup(world)
    await answered(world, who, "POST", fill(path, world), body=body)


async def test_an_idempotency_key_that_is_not_utf8_never_causes_a_server_error(world):
    before = await snapshot(world.demo.services)
    status, content_type, payload = await raw_request(
        world,
        b"POST /api/v1/branches/demo/tickets HTTP/1.1\r\nAuthorization: Bearer demo-kiosk\r\n"
        b"Idempotency-Key: \xff\xfe-retry",
        b'{"service": "A"}',
    )
    assert status < 500, f"server error {status}: {payload[:300]!r}"
    if status >= 400:
        check_error_body(payload, content_type, None)
        assert await snapshot(world.demo.services) == before


async def test_a_bearer_token_that_is_not_utf8_is_unauthenticated(world):
    before = await snapshot(world.demo.services)
    status, content_type, payload = await raw_request(
        world,
        b"POST /api/v1/branches/demo/tickets HTTP/1.1\r\nAuthorization: Bearer demo-kiosk\xff",
        b'{"service": "A"}',
    )
    assert status == 401, f"{status}: {payload[:300]!r}"
    check_error_body(payload, content_type, "bad_token")
    assert await snapshot(world.demo.services) == before


REPORTS = [f"{B}/reports/summary", f"{B}/reports/summary.csv", f"{B}/reports/summary.xlsx",
           f"{B}/reports/charts/arrivals.svg", f"{B}/reports/charts/waits.svg", f"{B}/reports/tellers"]


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize("period", [
    pytest.param("from=9999-12-31&to=9999-12-31", id="last-day-a-date-can-hold"),
    pytest.param("from=9999-12-01&to=9999-12-31", id="into-9999"),
    pytest.param("from=1999-12-31", id="before-2000"),
    pytest.param("to=2101-01-01", id="after-2100"),
    pytest.param("from=0001-01-01&to=0001-01-01", id="year-1"),
    pytest.param("from=2026-3-2", id="not-yyyy-mm-dd"),
])
async def test_a_report_period_outside_2000_to_2100_is_refused(world, path, period):
    await refused(world, "manager", "GET", f"{path}?{period}", 400, "invalid_input")


@pytest.mark.parametrize(
    "who,path",
    [
        pytest.param(None, "/api/v1/branches/de%00mo/services", id="public-services"),
        pytest.param(None, "/api/v1/branches/%00/services", id="public-services-only-nul"),
        pytest.param("manager", "/api/v1/branches/de%00mo/queue", id="queue"),
        pytest.param("manager", "/api/v1/branches/de%00mo/reports/summary", id="report"),
        pytest.param(None, "/api/v1/branches/de%00mo/announcements/A001/3.wav", id="announcement"),
        pytest.param("admin", "/api/v1/admin/branches/de%00mo", id="admin-branch"),
        pytest.param("admin", "/api/v1/admin/staff?branch=de%00mo", id="staff-of-a-branch"),
        pytest.param("admin", "/api/v1/admin/branches?q=de%00mo", id="branch-search"),
    ],
)
async def test_a_nul_character_in_a_branch_never_reaches_the_database(world, who, path):
    status = 400 if "?" in path else 404
    await refused(world, who, "GET", path, status)


async def test_an_empty_staff_change_is_refused(world):
    await refused(world, "admin", "PATCH", "/api/v1/admin/staff/4", 400, "invalid_input", body={})


async def test_a_configuration_with_a_key_given_twice_is_refused_naming_the_key_and_its_line(world):
    client, _ = await world.client("admin")
    text = await (await client.get("/api/v1/admin/branches/demo/config")).text()
    twice = text.replace("no_show_grace_s:", "no_show_grace_s: 60\nno_show_grace_s:", 1)
    assert twice != text
    line = twice.splitlines().index("no_show_grace_s: 60") + 2
    before = await snapshot(world.demo.services)
    resp = await client.put("/api/v1/admin/branches/demo/config", data=twice.encode(),
                            headers={"Content-Type": "application/yaml"})
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_config"
    assert "the key 'no_show_grace_s' is given twice" in error["message"]
    assert f"line {line}" in error["message"]
    assert await snapshot(world.demo.services) == before


# --- the snapshot itself ----------------------------------------------------------------


async def test_the_snapshot_covers_every_table_and_sees_a_change(world):
    before = await snapshot(world.demo.services)
    assert set(before) == {table.name for table in Base.metadata.sorted_tables} - SIGN_INS
    assert before["branches"] and before["services"] and before["counters"] and before["staff"]
    await world.issue("A", priority="green", green_reason="elderly")
    after = await snapshot(world.demo.services)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"branches", "number_sequences", "tickets", "ticket_events"}
    assert after == await snapshot(world.demo.services)
