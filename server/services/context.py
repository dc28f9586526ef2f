"""What every service function works with: the actor, the database, the clock.

A service function opens one :func:`transaction` on a branch, does its work
through the store, records events with :meth:`Tx.emit`, and returns. The
transaction assigns the events their per-branch ``seq`` just before commit and
hands them to the subscribers after commit, never before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from server.clock import Clock, system_clock
from server.domain.errors import Forbidden, NotFound, Unauthenticated
from server.domain.numbering import business_date
from server.store import repository as repo
from server.store.engine import Database
from server.store.repository import BranchConfig, BranchRow

STAFF_ROLES = ("teller", "manager", "admin")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: signed-in staff, an enrolled device, or the public."""

    kind: str  # "staff" | "device" | "public"
    id: int | None = None
    role: str | None = None  # staff role, or device kind
    branch_id: str | None = None
    counters: tuple[int, ...] = ()
    name: str = ""
    branches: tuple[str, ...] = ()
    """Further branches a regional manager oversees, besides ``branch_id``."""

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def may_see_branch(self, branch_id: str) -> bool:
        if self.kind == "staff" and self.role == "admin":
            return True
        regional = self.kind == "staff" and self.role == "manager" and branch_id in self.branches
        return self.branch_id == branch_id or regional


PUBLIC = Actor("public")

Event = dict[str, Any]
Subscriber = Callable[[str, list[Event]], Awaitable[None]]


def require_staff(actor: Actor, branch_id: str, *roles: str) -> None:
    """Raise unless ``actor`` is staff of ``branch_id`` with one of ``roles`` (admin always)."""
    if actor.kind == "public":
        raise Unauthenticated("sign in first")
    if actor.kind != "staff" or not actor.may_see_branch(branch_id):
        raise Forbidden("not allowed for this branch")
    if actor.role != "admin" and actor.role not in roles:
        raise Forbidden(f"needs the role {' or '.join(roles)}")


@dataclass
class Tx:
    """One write transaction on one branch."""

    conn: AsyncConnection
    branch: BranchRow
    config: BranchConfig
    now: datetime
    events: list[Event] = field(default_factory=list)

    @property
    def today(self):
        """The branch's business date now."""
        return business_date(self.now, self.branch.timezone)

    @property
    def local_now(self) -> datetime:
        """Now on the branch's wall clock."""
        return self.now.astimezone(ZoneInfo(self.branch.timezone))

    def emit(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        ticket_id: int | None = None,
        counter_id: int | None = None,
        staff_id: int | None = None,
    ) -> None:
        self.events.append(
            {
                "kind": kind,
                "at": self.now,
                "ticket_id": ticket_id,
                "counter_id": counter_id,
                "staff_id": staff_id,
                "data": data,
            }
        )


@dataclass
class Services:
    """The application: database, clock, configuration cache and event subscribers."""

    db: Database
    clock: Clock = system_clock
    subscribers: list[Subscriber] = field(default_factory=list)
    _configs: dict[str, BranchConfig] = field(default_factory=dict)
    _memo: dict[tuple, tuple[float, Any]] = field(default_factory=dict)
    _publishing: set = field(default_factory=set)

    async def memo(self, key: tuple, ttl_s: float, load: Callable[[], Awaitable[Any]]) -> Any:
        """``load()``'s value, kept ``ttl_s`` seconds (for inputs where a moment's age is harmless).

        Changes made through this process drop the affected entries at once
        (see :meth:`_forget`); other processes' changes show within ``ttl_s``.
        """
        now = time.monotonic()
        hit = self._memo.get(key)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[1]
        value = await load()
        self._memo[key] = (now, value)
        return value

    def _forget(self, branch_id: str, events: list[Event]) -> None:
        kinds = {e["kind"] for e in events}
        if any(k.startswith("counter.") for k in kinds):
            for key in [k for k in self._memo if k[:2] == ("open_counters", branch_id)]:
                del self._memo[key]
        if "ticket.finished" in kinds:
            for key in [k for k in self._memo if k[:2] == ("service_times", branch_id)]:
                del self._memo[key]

    def forget_config(self, branch_id: str) -> None:
        """Drop what this process keeps of a branch's configuration (it has just changed)."""
        self._configs.pop(branch_id, None)
        for key in [k for k in self._memo if len(k) > 1 and k[1] == branch_id]:
            del self._memo[key]

    async def config(self, conn: AsyncConnection, branch: BranchRow) -> BranchConfig:
        """The branch's services and counters, reloaded when its config_version moves."""
        cached = self._configs.get(branch.id)
        if cached is None or cached.version != branch.config_version:
            cached = await repo.load_config(conn, branch)
            self._configs[branch.id] = cached
        return cached

    @asynccontextmanager
    async def transaction(self, branch_id: str) -> AsyncIterator[Tx]:
        """A write transaction on ``branch_id``; events published after commit."""
        async with self.db.write() as conn:
            branch = await repo.load_branch(conn, branch_id)
            if branch is None:
                raise NotFound(f"no branch {branch_id!r}")
            tx = Tx(conn, branch, await self.config(conn, branch), self.clock())
            await roll_over_day(tx)
            yield tx
            if tx.events:
                await repo.append_events(conn, branch_id, tx.events)
        if tx.events:
            self._forget(branch_id, tx.events)
            await self.publish(branch_id, tx.events)

    @asynccontextmanager
    async def reading(self, branch_id: str) -> AsyncIterator[tuple[AsyncConnection, BranchRow, BranchConfig]]:
        """A read-only view of ``branch_id``."""
        async with self.db.read() as conn:
            branch = await repo.load_branch(conn, branch_id)
            if branch is None:
                raise NotFound(f"no branch {branch_id!r}")
            yield conn, branch, await self.config(conn, branch)

    async def publish(self, branch_id: str, events: list[Event]) -> None:
        """Hand committed events to the subscribers without making the caller wait for them.

        Tasks start in the order they are created and the fan-out keeps each branch
        in seq order, so a teller's call-next answers at once however many screens
        there are.
        """
        for subscriber in self.subscribers:
            task = asyncio.get_running_loop().create_task(subscriber(branch_id, events))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)


async def roll_over_day(tx: Tx) -> None:
    """Close yesterday when the branch's day has turned: its waiting and called tickets expire.

    Numbering restarts by itself, as sequences are kept per business day.
    """
    today = business_date(tx.now, tx.branch.timezone)
    if today <= tx.branch.business_date:
        return
    expired = await repo.expire_before(tx.conn, tx.branch.id, today, tx.now)
    await repo.clear_counters_holding(tx.conn, [row.id for row in expired])
    await repo.set_business_date(tx.conn, tx.branch.id, today)
    for row in expired:
        tx.emit(
            "ticket.expired",
            {
                "id": row.id,
                "number": row.number,
                "service": tx.config.service_by_id(row.service_id).code,
                "state": "expired",
            },
            ticket_id=row.id,
            counter_id=row.counter_id,
        )
