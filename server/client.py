"""The Python websocket client of every device: kiosk agent, terminal counter, load tools.

    async with BranchClient(url, role="display", branch="demo", token="…") as client:
        event = await client.next_event("ticket.called")
        result = await client.command("counter/call_next", counter=3)

It reconnects by itself with backoff and jitter (``async for ws in connect(...)``),
resumes with ``since_seq`` and falls back to a fresh snapshot, asks for a new
snapshot when it sees a gap in ``seq``, parses every message with the models of
:mod:`server.protocol`, and matches command results to their futures by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Callable, Generator
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from server.protocol import ErrorDetail, EventMessage, Result, Snapshot, Welcome

log = logging.getLogger(__name__)


def backoff(
    initial: float = 0.25, factor: float = 1.8, cap: float = 10.0, *, rng: Callable[[], float] = random.random
) -> Generator[float, None, None]:
    """Reconnect delays: exponential up to ``cap``, each spread by ±50% so clients don't stampede."""
    delay = initial
    while True:
        yield delay * (0.5 + rng())
        delay = min(delay * factor, cap)


class CommandError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class Refused(Exception):
    """The server closed the connection during hello with a reason (bad token, branch, role)."""


class BranchClient:
    """A connection to ``/ws`` that stays connected and keeps a consistent view."""

    def __init__(
        self,
        url: str,
        *,
        role: str,
        branch: str,
        token: str | None = None,
        cookie: str | None = None,
        origin: str | None = None,
        on_event: Callable[[EventMessage], Any] | None = None,
        on_snapshot: Callable[[Snapshot], Any] | None = None,
        reconnect_delays: Callable[[], Generator[float, None, None]] = backoff,
    ) -> None:
        self.url = url.rstrip("/") + "/ws" if not url.rstrip("/").endswith("/ws") else url
        self.url = self.url.replace("http://", "ws://").replace("https://", "wss://")
        self.role, self.branch, self.token = role, branch, token
        self.headers = {"Cookie": cookie} if cookie else None
        self.origin = Origin(origin) if origin is not None else None
        self.on_event, self.on_snapshot = on_event, on_snapshot
        self.reconnect_delays = reconnect_delays
        self.seq: int | None = None
        self.state: dict[str, Any] | None = None
        """The latest snapshot; events after it come through ``on_event`` / ``next_event``."""
        self.welcome: Welcome | None = None
        self.connected = asyncio.Event()
        self.synced = asyncio.Event()
        self.connections = 0
        self.resyncs = 0
        self._events: asyncio.Queue[EventMessage] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> BranchClient:
        self.start()
        await self.wait_synced()
        return self

    async def wait_synced(self, timeout: float = 10.0) -> None:
        """Wait for the first snapshot; a refusal (bad token, branch, role) is raised here."""
        task = self._task
        if task is None:
            raise RuntimeError("start() the client before waiting for it")
        synced = asyncio.ensure_future(self.synced.wait())
        try:
            done, _ = await asyncio.wait({synced, task}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            synced.cancel()
        if task in done:
            task.result()  # raises Refused, or whatever ended the client
        if not self.synced.is_set():
            raise TimeoutError(f"no snapshot within {timeout} s")

    async def __aexit__(self, *_exc) -> None:
        await self.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"branch-client-{self.role}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        """Stay connected until cancelled; every (re)connection resyncs."""
        async for ws in connect(
            self.url,
            additional_headers=self.headers,
            origin=self.origin,
            compression=None,
            proxy=None,
            max_size=8 * 1024 * 1024,
            reconnect_delays=self.reconnect_delays,
        ):
            try:
                await self._session(ws)
            except ConnectionClosed as e:
                if self.welcome is None and e.rcvd and e.rcvd.code == 1008:
                    raise Refused(e.rcvd.reason) from None
                log.info("connection closed (%s); reconnecting", e)
            finally:
                self._lost()

    def _lost(self) -> None:
        self._ws = None
        self.connected.clear()
        self.synced.clear()
        self.welcome = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost before the result came"))
        self._pending.clear()

    async def _session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.connections += 1
        hello: dict[str, Any] = {"type": "hello", "role": self.role, "branch": self.branch}
        if self.token:
            hello["token"] = self.token
        if self.seq is not None:
            hello["since_seq"] = self.seq
        await ws.send(orjson.dumps(hello).decode())
        self.connected.set()
        async for raw in ws:
            await self._receive(orjson.loads(raw))

    async def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "welcome":
            self.welcome = Welcome.model_validate(message)
            if self.seq is not None:
                # Resuming: until a gap shows, the replayed events bring us up to date.
                self.synced.set()
        elif kind == "snapshot":
            self._apply_snapshot(Snapshot.model_validate(message))
        elif kind == "event":
            await self._apply_event(EventMessage.model_validate(message))
        elif kind == "result":
            result = Result.model_validate(message)
            future = self._pending.pop(result.id, None) if result.id is not None else None
            if future is not None and not future.done():
                future.set_result(result)
            elif not result.success:
                log.warning("server error: %s", result.error)

    def _apply_snapshot(self, snapshot: Snapshot) -> None:
        self.seq, self.state = snapshot.seq, snapshot.state
        self.synced.set()
        if self.on_snapshot:
            self.on_snapshot(snapshot)

    async def _apply_event(self, event: EventMessage) -> None:
        if self.seq is not None and event.seq <= self.seq:
            return  # already part of our state
        if self.seq is not None and event.seq != self.seq + 1:
            await self.resync()
            return
        self.seq = event.seq
        self._events.put_nowait(event)
        if self.on_event:
            self.on_event(event)

    async def resync(self) -> None:
        """A gap: ask for a fresh snapshot (without waiting on our own reader)."""
        self.resyncs += 1
        self.synced.clear()
        ws = self._ws
        if ws is None:
            return
        command_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future

        def done(f: asyncio.Future) -> None:
            if f.cancelled() or f.exception() is not None:
                return
            result: Result = f.result()
            if result.success and isinstance(result.result, dict):
                self._apply_snapshot(Snapshot(seq=result.result["seq"], state=result.result["state"]))

        future.add_done_callback(done)
        await ws.send(orjson.dumps({"id": command_id, "type": "snapshot"}).decode())

    async def command(self, type_: str, *, timeout: float = 10.0, **args: Any) -> Any:
        """Send a command and wait for its result.

        Raises:
            CommandError: the server refused it (``code``, ``message``).
            ConnectionError: not connected, or the connection dropped meanwhile.
        """
        await asyncio.wait_for(self.connected.wait(), timeout)
        ws = self._ws
        if ws is None:
            raise ConnectionError("not connected")
        command_id = next(self._ids)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        await ws.send(orjson.dumps({"id": command_id, "type": type_, **args}).decode())
        result = await asyncio.wait_for(future, timeout)
        if not result.success:
            error = result.error or ErrorDetail(code="error", message="the server gave no reason")
            raise CommandError(error.code, error.message)
        return result.result

    async def next_event(self, kind: str | None = None, *, timeout: float = 10.0) -> EventMessage:
        """The next event (of ``kind``, skipping others) received after the ones already taken."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self._events.get()
                if kind is None or event.kind == kind:
                    return event


__all__ = ["BranchClient", "CommandError", "Refused", "backoff", "InvalidStatus"]
