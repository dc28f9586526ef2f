"""Each branch's events to this process's sockets: exactly once, in ``seq`` order.

Events reach a process two ways: directly from its own transactions, right after
commit, and as a doorbell from PostgreSQL ``NOTIFY`` for other processes' commits.
Either way :class:`Fanout` delivers a branch's events strictly in ``seq`` order;
when it sees a gap it reads the missing events from the ticket-events table, the
one source of truth, before going on. So nothing is lost or reordered even when a
doorbell is late, duplicated or missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]
LoadEvents = Callable[[str, int, int], Awaitable[list[Event]]]
"""(branch, after_seq, up_to_seq) → events with after_seq < seq ≤ up_to_seq, in order."""
Sink = Callable[[str, list[Event]], None]

#: Recent events kept per branch for clients that reconnect with ``since_seq``.
BUFFER = 1000


class Fanout:
    def __init__(self, load: LoadEvents) -> None:
        self._load = load
        self._delivered: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._buffers: dict[str, deque[Event]] = {}
        self.sinks: list[Sink] = []

    def delivered(self, branch_id: str) -> int | None:
        return self._delivered.get(branch_id)

    def track(self, branch_id: str, seq: int) -> None:
        """Start following a branch from ``seq`` (its state as of a snapshot) if not yet followed."""
        self._delivered.setdefault(branch_id, seq)

    def tracked(self) -> list[str]:
        return list(self._delivered)

    def buffered_since(self, branch_id: str, since_seq: int) -> list[Event] | None:
        """The events after ``since_seq`` if all are still buffered, else None."""
        last = self._delivered.get(branch_id)
        if last is None or since_seq > last:
            return None
        if since_seq == last:
            return []
        buffer = self._buffers.get(branch_id)
        if not buffer or buffer[0]["seq"] > since_seq + 1:
            return None
        return [e for e in buffer if e["seq"] > since_seq]

    async def offer(self, branch_id: str, events: list[Event]) -> None:
        """Events just committed by this process."""
        if events:
            await self._advance(branch_id, events[-1]["seq"], events)

    async def ring(self, branch_id: str, up_to_seq: int) -> None:
        """A doorbell: the branch has events up to ``up_to_seq`` somewhere."""
        await self._advance(branch_id, up_to_seq, [])

    async def _advance(self, branch_id: str, up_to: int, known: list[Event]) -> None:
        if branch_id not in self._delivered:
            return  # nobody here follows this branch
        lock = self._locks.setdefault(branch_id, asyncio.Lock())
        async with lock:
            last = self._delivered[branch_id]
            if up_to <= last:
                return
            fresh = [e for e in known if e["seq"] > last]
            if not fresh or fresh[0]["seq"] != last + 1 or fresh[-1]["seq"] != up_to:
                fresh = await self._load(branch_id, last, up_to)
            fresh = [e for e in fresh if e["seq"] > last]
            expected = list(range(last + 1, last + 1 + len(fresh)))
            if [e["seq"] for e in fresh] != expected:
                log.error("events of %s out of order: %s", branch_id, [e["seq"] for e in fresh])
                return
            if not fresh:
                return
            self._delivered[branch_id] = fresh[-1]["seq"]
            buffer = self._buffers.setdefault(branch_id, deque(maxlen=BUFFER))
            buffer.extend(fresh)
            for sink in self.sinks:
                try:
                    sink(branch_id, fresh)
                except Exception:  # one broken sink must not starve the others
                    log.exception("event sink failed")
