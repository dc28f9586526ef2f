"""Notifications delivered for real, on SQLite and PostgreSQL: a real SMTP server (aiosmtpd)
receives the mail, a real aiohttp webhook receiver checks the signature; the receiver down
for a while gets its message once it is back, never twice; two workers never send one twice.

The server's own worker runs in the app (started with it) on the test's clock: a retry is
made due by moving the clock and waking the worker, and the test waits for what it expects
(the mail, the POST, the row's state), with a timeout, never a bare sleep.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from email import message_from_bytes, policy
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from server import notify
from server.app import NOTIFIER
from server.notify.backends import SIGNATURE_HEADER, WebhookBackend, verify
from server.notify.models import Contact
from server.notify.worker import Policy, Worker
from server.settings import Settings
from server.store import outbox
from server.store.engine import open_database
from tests.conftest import KIOSK, _test_settings, login, seconds

B = "/api/v1/branches/demo"
SECRET = "receiver-shared-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(check: Callable[[], Any], *, what: str, timeout: float = 10) -> Any:
    """Wait until ``check()`` (sync or async) is truthy; its value."""
    deadline = time.monotonic() + seconds(timeout)
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- the receivers -----------------------------------------------------------------------------


class Mailbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd, in its own thread) keeping what it receives."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


class Receiver:
    """A webhook receiver: checks the signature, de-duplicates by Idempotency-Key, fails when told."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict] = []
        self.keys: list[str] = []
        self.bad_signatures = 0
        self.failing = False
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not verify(SECRET, raw, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.failing:
            return web.Response(status=503, text="gateway busy")
        self.keys.append(request.headers["Idempotency-Key"])
        self.bodies.append(orjson.loads(raw))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
def settings(db_url, tmp_path, mailbox, receiver) -> Settings:
    base = _test_settings(db_url, tmp_path).model_dump()
    return Settings(**base | {
        "smtp_url": f"smtp://127.0.0.1:{mailbox.port}", "smtp_from": "queue@bank.example",
        "webhook_url": receiver.url, "webhook_secret": SECRET, "notify_timeout_s": 2.0,
        "notify_backoff_s": 30.0, "notify_poll_s": 0.05, "notify_rate_limit": "1000/second",
    })


async def waiting_ticket(c) -> dict:
    resp = await c.post(B + "/tickets", json={"service": "A"}, headers=KIOSK)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def ask(c, token: str, **body) -> dict:
    resp = await c.post(f"/api/v1/tickets/{token}/notify", json={"ahead": 1, "consent": True, **body})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def call_next(c, counter: int = 1) -> dict:
    resp = await c.post(f"{B}/counters/{counter}/call-next", json={})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def message_row(demo, key_start: str):
    async with demo.services.db.read() as conn:
        rows = await outbox.messages(conn)
    return next((r for r in rows if r.key.startswith(key_start)), None)


# --- deliveries ----------------------------------------------------------------------------------


async def test_the_called_message_arrives_at_a_real_smtp_server_in_the_customers_language(demo, mailbox):
    c = demo.client
    ticket = await waiting_ticket(c)
    answer = await ask(c, ticket["token"], email="zhang@example.com", language="en")
    assert answer["channel"] == "email" and answer["contact"] == "z***@example.com"
    await eventually(lambda: len(mailbox.received) == 1, what="the 'N ahead' mail")
    await login(c, "teller1")
    await c.post(B + "/counters/1/open")
    await call_next(c)
    await eventually(lambda: len(mailbox.received) == 2, what="the 'called' mail")
    (to_ahead, ahead), (to_called, called) = mailbox.received
    assert to_ahead == to_called == ["zhang@example.com"]
    assert "0 ahead of ticket " + ticket["number"] in ahead.get_content()
    assert called["Subject"] == "It is your turn" and called["From"] == "queue@bank.example"
    assert called.get_content().strip() == f"Ticket {ticket['number']}, please go to counter 1."
    async def recorded():
        row = await message_row(demo, "called:")
        return row is not None and row.state == "sent"

    await eventually(recorded, what="the delivery recorded")


async def test_the_webhook_receives_a_signed_body_with_its_idempotency_key(demo, receiver):
    c = demo.client
    ticket = await waiting_ticket(c)
    await ask(c, ticket["token"], phone="13812345678")
    await login(c, "teller1")
    await c.post(B + "/counters/1/open")
    await call_next(c)
    await eventually(lambda: len(receiver.bodies) == 2, what="two webhook posts")
    assert receiver.bad_signatures == 0
    called = next(b for b in receiver.bodies if b["kind"] == "called")
    assert called["to"] == {"phone": "13812345678"} and called["language"] == "zh-CN"
    assert called["text"] == f"请 {ticket['number']} 号到 1 号窗口办理。"
    assert called["key"] in receiver.keys and called["data"]["counter"] == 1


async def test_a_receiver_down_for_a_while_gets_the_message_with_backoff_once_it_returns_and_never_twice(
    demo, receiver
):
    c = demo.client
    await receiver.stop()  # nothing listens: connection refused
    ticket = await waiting_ticket(c)
    await ask(c, ticket["token"], phone="13812345678")
    first = await eventually(lambda: _failed(demo, 1), what="the first failed attempt")
    assert "unreachable" in first.last_error
    wait = (first.next_attempt_at - demo.clock()).total_seconds()
    assert 15 <= wait <= 30, "backoff: half to all of notify_backoff_s"
    receiver.failing = True
    await receiver.start()  # back, but answering 503
    demo.clock.advance(seconds=wait)
    demo.client.app[NOTIFIER].wake()
    second = await eventually(lambda: _failed(demo, 2), what="the second failed attempt")
    assert "503" in second.last_error and 30 <= (second.next_attempt_at - demo.clock()).total_seconds() <= 60
    receiver.failing = False
    demo.clock.advance(seconds=60)
    demo.client.app[NOTIFIER].wake()
    sent = await eventually(lambda: _state(demo, "sent"), what="the delivery once the receiver is back")
    assert sent.attempts == 3
    for _ in range(3):  # more rounds, time moving on: nothing goes again
        demo.clock.advance(hours=1)
        demo.client.app[NOTIFIER].wake()
        await asyncio.sleep(seconds(0.1))
    assert receiver.keys == [sent.key]


async def _failed(demo, attempts: int):
    row = await message_row(demo, "ahead:")
    return row if row is not None and row.attempts == attempts and row.claimed_until is None else None


async def _state(demo, state: str):
    row = await message_row(demo, "ahead:")
    return row if row is not None and row.state == state else None


async def test_bad_wishes_are_refused_with_a_clear_4xx_and_store_nothing(demo):
    c = demo.client
    ticket = await waiting_ticket(c)
    url = f"/api/v1/tickets/{ticket['token']}/notify"
    for body in [{}, {"ahead": 3, "consent": True}, {"email": "x@example.com", "ahead": 99, "consent": True},
                 {"email": "x@example.com", "ahead": 3, "consent": False}, {"phone": "123", "ahead": 3,
                 "consent": True}, {"email": "x@example.com", "ahead": 3, "consent": True, "extra": 1}]:
        resp = await c.post(url, json=body)
        assert resp.status == 400, (body, await resp.text())
        assert set((await resp.json())["error"]) == {"code", "message"}
    resp = await c.post("/api/v1/tickets/no-such-ticket-token/notify",
                        json={"email": "x@example.com", "ahead": 3, "consent": True})
    assert resp.status == 404
    resp = await c.post(url, data=b"not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    async with demo.services.db.read() as conn:
        assert await outbox.wish_of(conn, ticket["id"]) is None
        assert not await outbox.messages(conn)


async def test_the_admin_lists_dead_letters_and_retries_one_over_http(demo, receiver):
    c = demo.client
    async with demo.services.unit_of_work("demo") as tx:
        await notify.enqueue(tx, kind="breach", branch_id="demo", contact=Contact(), language="en",
                             data={"severity": "high", "text": "A waits 40 min"}, key="breach:test")
    await eventually(lambda: receiver.keys == ["breach:test"], what="the staff message")
    async with demo.services.db.write() as conn:  # as if every attempt had failed
        await conn.execute(outbox.OUTBOX.update().values(state="dead", last_error="gave up"))
        row = await outbox.message_by_key(conn, "breach:test")
    await login(c, "admin")
    resp = await c.get("/api/v1/admin/notifications?state=dead")
    assert resp.status == 200, await resp.text()
    seen = await resp.json()
    assert [m["key"] for m in seen["messages"]] == ["breach:test"] and seen["channels"]["webhook"] is True
    resp = await c.post(f"/api/v1/admin/notifications/{row.id}/retry")
    assert resp.status == 200, await resp.text()
    await eventually(lambda: receiver.keys == ["breach:test", "breach:test"], what="the retried message")
    resp = await c.post(f"/api/v1/admin/notifications/{row.id}/retry")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "already_sent"
    assert (await c.get("/api/v1/admin/notifications?state=lost")).status == 400
    assert (await c.post("/api/v1/admin/notifications/99999/retry")).status == 404
    report = await (await c.get(B + "/reports/summary")).json()
    assert {"kind": "breach", "channel": "webhook", "sent": 1, "pending": 0, "dead": 0, "rate": 1.0} in \
        report["notifications"]


async def test_two_workers_never_send_one_message_twice(demo, receiver):
    """Two workers, each with its own engine (as two server processes have), claim at once."""
    vault = demo.services.vault
    keys = [f"load:{i}" for i in range(120)]
    async with demo.services.db.write() as conn:
        for key in keys:
            await notify.enqueue(conn, kind="breach", branch_id="demo", contact=Contact(), language="en",
                                 data={"text": key}, key=key, vault=vault, now=demo.clock())
    await demo.client.app[NOTIFIER].stop()  # only the two below
    dbs = [open_database(demo.services.db.url) for _ in range(2)]
    workers = [Worker(db, vault, {"webhook": WebhookBackend(receiver.url, SECRET, timeout_s=5)},
                      policy=Policy(timeout_s=5), clock=demo.clock, rng=random.Random(i))
               for i, db in enumerate(dbs)]
    try:
        async def drain(worker: Worker) -> int:
            sent = 0
            for _ in range(40):
                done = await worker.run_once()
                sent += done.sent
                await asyncio.sleep(0)
            return sent

        split = await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for w, db in zip(workers, dbs, strict=True):
            await w.stop()
            await db.dispose()
    assert sorted(receiver.keys) == sorted(keys), "every message once, none twice"
    assert sum(split) == len(keys) and min(split) > 0, f"both workers took a share: {split}"
