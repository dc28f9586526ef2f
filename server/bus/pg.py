"""PostgreSQL LISTEN: the doorbell between server processes.

A committing transaction sends ``NOTIFY branchq_events, 'branch:last_seq'`` (see
``repository.append_events``); PostgreSQL delivers it at commit, in commit order.
Every process listens on one dedicated connection and rings its :class:`Fanout`,
which reads the events themselves from the table. Every few seconds it also
compares each followed branch's ``event_seq`` with what it has delivered (a
sweep, and the liveness check of the connection). When the listening connection
drops, the listener reconnects with backoff and catches every followed branch up
from the table, so nothing committed meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import asyncpg
from sqlalchemy.engine import make_url

from .fanout import Fanout

log = logging.getLogger(__name__)

CHANNEL = "branchq_events"
ACCESS_CHANNEL = "branchq_access"  # see server.store.sessions
CHECK_EVERY_S = 2.0


def parse_doorbell(payload: str) -> tuple[str, int] | None:
    branch_id, _, seq = payload.rpartition(":")
    if not branch_id or not seq.isdigit():
        return None
    return branch_id, int(seq)


class PgListener:
    def __init__(self, url: str, fanout: Fanout, current_seqs, *, on_access=None, on_reconnect=None) -> None:
        """``current_seqs(branch_ids)`` → {branch: event_seq} read from the database.

        ``on_access(who)`` hears ``branchq_access``: another process's commit ended someone's
        access (``staff:12``, ``device:3``, ``session:<id>``). ``on_reconnect()`` runs after the
        connection came back, when such a notice may have been missed meanwhile.
        """
        u = make_url(url)
        self._connect_args = {
            "host": u.host or "localhost",
            "port": u.port or 5432,
            "user": u.username,
            "password": u.password,
            "database": u.database,
        }
        self._fanout = fanout
        self._current_seqs = current_seqs
        self._task: asyncio.Task | None = None
        self._on_access = on_access
        self._on_reconnect = on_reconnect
        self._connected_before = False
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pg-listener")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        parsed = parse_doorbell(payload)
        if parsed:
            asyncio.get_running_loop().create_task(self._fanout.ring(*parsed))

    def _on_access_notify(self, _conn, _pid, _channel, payload: str) -> None:
        if self._on_access is not None:
            self._on_access(payload)

    async def _catch_up(self) -> None:
        branches = self._fanout.tracked()
        if branches:
            for branch_id, seq in (await self._current_seqs(branches)).items():
                await self._fanout.ring(branch_id, seq)

    async def _run(self) -> None:
        delay = 0.2
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(**self._connect_args, timeout=5)
                await conn.add_listener(CHANNEL, self._on_notify)
                await conn.add_listener(ACCESS_CHANNEL, self._on_access_notify)
                self.connected.set()
                delay = 0.2
                await self._catch_up()  # whatever was committed while we were away
                if self._connected_before and self._on_reconnect is not None:
                    await self._on_reconnect()
                self._connected_before = True
                while not conn.is_closed():
                    await asyncio.sleep(CHECK_EVERY_S)
                    # Doubles as the liveness check of this connection, and as a sweep
                    # in case a doorbell was ever lost.
                    # Generous: a saturated event loop is slow, not disconnected.
                    await asyncio.wait_for(self._catch_up(), timeout=30)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("event listener lost its connection (%s); reconnecting", e)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)
