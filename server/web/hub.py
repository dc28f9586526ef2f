"""The websocket hub: who is connected to which branch, and getting events to them.

Each connection has a bounded queue and one writer task (the pattern of Home
Assistant's websocket API): broadcasting only ever puts into queues, so a client
that cannot keep up fills its own queue and is closed with 1013, and never
stalls anyone else. Each event is serialised once per view, not once per client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSCloseCode, web

from server.domain.events import CATALOGUE, STAFF_VIEWS, EventKind, project
from server.services.context import Actor

log = logging.getLogger(__name__)

QUEUE_SIZE = 512
CLOSE_TIMEOUT_S = 2.0
REPLY_ROOM_S = 30.0
#: Close code of a socket whose session, account or device token no longer holds (4000–4999
#: are the application's): the page signs in again instead of reconnecting blindly.
ACCESS_ENDED = 4401


def _holds(conn: Conn, kind: str, key: str) -> bool:
    if kind == "session":
        return conn.credential == ("session", key)
    return conn.actor.kind == kind and str(conn.actor.id) == key

def event_view(event: dict[str, Any], role: str, device_id: int | None = None) -> dict | None:
    """The event as ``role`` may see it (the catalogue decides), or None when it may not see it."""
    kind = CATALOGUE.get(event["kind"])
    if kind is None:  # a kind this version does not know (an older log): staff only
        shown = event["data"] if role in STAFF_VIEWS else None
    else:
        shown = project(kind, event["data"], role, own=_is_own(kind, event, device_id))
    if shown is None:
        return None
    return {"type": "event", "seq": event["seq"], "kind": event["kind"], "at": event["at"], "data": shown}


def _is_own(kind: EventKind, event: dict[str, Any], device_id: int | None) -> bool:
    return device_id is not None and kind.has_own_view and event["data"].get("device") == device_id


def placeholder(event: dict[str, Any]) -> dict[str, Any]:
    """What a client gets for an event it may not see: the seq only, so it sees no gap."""
    return {"type": "event", "seq": event["seq"], "kind": "other", "at": event["at"], "data": {}}


def _view_key(event: dict[str, Any], conn: Conn) -> tuple:
    kind = CATALOGUE.get(event["kind"])
    own = conn.role == "kiosk" and kind is not None and _is_own(kind, event, conn.actor.id)
    return (conn.role, conn.actor.id if own else None)


class Conn:
    """One websocket client: its identity, its queue and its writer."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, actor: Actor, role: str,
                 branch_id: str, *, queue_size: int | None = None,
                 credential: tuple[str, str] = ("none", "")) -> None:
        self.request, self.ws, self.actor, self.role, self.branch_id = (
            request, ws, actor, role, branch_id,
        )
        self.credential = credential
        """What the socket signed in with: (``session``, session id) or (``device``, token hash)."""
        self.queue: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue(queue_size or QUEUE_SIZE)
        self.min_seq: int | None = None
        self.closed = False
        self._writer: asyncio.Task | None = None

    def start(self, min_seq: int) -> None:
        """Begin writing; queued events up to ``min_seq`` are already known to the client."""
        self.min_seq = min_seq
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{id(self)}")

    def push(self, seq: int | None, message: str) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait((seq, message))
        except asyncio.QueueFull:
            self.drop(WSCloseCode.TRY_AGAIN_LATER, "too slow to keep up; reconnect and resync")

    def send(self, message: dict[str, Any]) -> None:
        self.push(None, orjson.dumps(message).decode())

    async def reply(self, message: dict[str, Any]) -> None:
        """A command's answer. Unlike events, answers wait for room in the queue: a client
        that pipelines commands faster than it reads is slowed down, not dropped. Only one
        that stops reading altogether is closed (1013) once the wait runs out."""
        if self.closed:
            return
        try:
            await asyncio.wait_for(self.queue.put((None, orjson.dumps(message).decode())), REPLY_ROOM_S)
        except TimeoutError:
            self.drop(WSCloseCode.TRY_AGAIN_LATER, "not reading the answers; reconnect and resync")
        # Let the writer run: a burst of ready commands would otherwise be answered into the
        # queue without a single one being sent.
        await asyncio.sleep(0)

    async def _write(self) -> None:
        try:
            while True:
                seq, message = await self.queue.get()
                if seq is not None and self.min_seq is not None and seq <= self.min_seq:
                    continue
                if seq is not None:
                    self.min_seq = seq
                await self.ws.send_str(message)
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass

    def drop(self, code: int, reason: str) -> None:
        """Close this client without waiting for it (it may not be reading at all)."""
        if self.closed:
            return
        self.closed = True
        asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        if self._writer is not None:
            self._writer.cancel()
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), CLOSE_TIMEOUT_S)
        except (TimeoutError, ConnectionResetError, RuntimeError):
            transport = self.request.transport
            if transport is not None:
                transport.abort()

    async def stop(self) -> None:
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


class Hub:
    def __init__(self) -> None:
        self.by_branch: dict[str, set[Conn]] = defaultdict(set)

    def add(self, conn: Conn) -> None:
        self.by_branch[conn.branch_id].add(conn)

    def remove(self, conn: Conn) -> None:
        conns = self.by_branch.get(conn.branch_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_branch[conn.branch_id]

    def count(self) -> int:
        return sum(len(c) for c in self.by_branch.values())

    def sink(self, branch_id: str, events: list[dict[str, Any]]) -> None:
        """Fan ``events`` out to every client of the branch (called by the Fanout, in seq order)."""
        conns = self.by_branch.get(branch_id)
        if not conns:
            return
        for event in events:
            encoded: dict[tuple[Any, ...], str] = {}
            for conn in list(conns):
                key = _view_key(event, conn)
                if key not in encoded:
                    view = event_view(event, conn.role, conn.actor.id) or placeholder(event)
                    encoded[key] = orjson.dumps(view).decode()
                conn.push(event["seq"], encoded[key])

    def all(self) -> list[Conn]:
        return [c for cs in self.by_branch.values() for c in cs]

    def end_access(self, who: str) -> None:
        """``who`` (``staff:12``, ``device:3``, ``session:<id>``) lost its access: close its sockets,
        whatever branch they follow. Told by this process's commits and, on PostgreSQL, by
        every other process's over ``branchq_access``."""
        kind, _, key = who.partition(":")
        for conn in self.all():
            if _holds(conn, kind, key):
                conn.drop(ACCESS_ENDED, "signed out or account changed; sign in again"
                          if kind != "device" else "device revoked")

    async def revalidate(self, actor_now: Callable[[tuple[str, str]], Awaitable[Actor | None]]) -> int:
        """Check every socket's credential against the database now; close those whose actor
        is gone or changed (a sweep for an access notice this process may have missed)."""
        closed = 0
        for conn in self.all():
            if conn.closed or conn.credential[0] in ("none", "phone"):
                continue
            now = await actor_now(conn.credential)
            if now != conn.actor:
                conn.drop(ACCESS_ENDED, "signed out or account changed; sign in again")
                closed += 1
        return closed

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY, reason: str = "server shutting down") -> None:
        conns = [c for cs in self.by_branch.values() for c in cs]
        for conn in conns:
            conn.drop(code, reason)
        await asyncio.sleep(0)  # let the close tasks start
