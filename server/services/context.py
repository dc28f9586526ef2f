"""What every use case works with: the actor, the units of work, the clock, the caches.

A use case opens one unit of work on a branch (:meth:`Services.unit_of_work`), does
its work through the store, records events with
:meth:`~server.store.uow.UnitOfWork.emit` (and audit entries with ``audit``), and
returns. The unit of work alone commits; the events are handed to the subscribers
after the commit, never before. Reads go through :meth:`Services.reading`.

Two small caches live beside the units of work, each with one invalidation rule:
:class:`ConfigCache` (a branch's services and counters, reloaded when the branch's
``config_version`` moves) and :class:`EstimateInputs` (what the wait estimate reads,
kept a moment and dropped by the events that change it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, overload

from server.clock import Clock, system_clock
from server.domain.access import PUBLIC, STAFF_ROLES, Actor
from server.domain.errors import NotFound
from server.domain.events import COUNTER_KINDS, TICKET_FINISHED
from server.domain.numbering import business_date
from server.store import repository as repo
from server.store.engine import Database
from server.store.repository import BranchConfig, BranchRow
from server.store.uow import BranchUnitOfWork, Event, UnitOfWork
from server.store.vault import Vault

__all__ = ["PUBLIC", "STAFF_ROLES", "Actor", "BranchTx", "Services", "Tx", "UnitOfWork"]

#: The name the use cases know their unit of work by.
Tx = UnitOfWork
#: The same on a branch, as the type checker sees it: its branch and configuration are loaded.
BranchTx = BranchUnitOfWork
Subscriber = Callable[[str, list[Event]], Coroutine[Any, Any, None]]  # run as a task
AccessListener = Callable[[str], None]
"""Told ``staff:12``, ``device:3`` or ``session:<id>`` after a commit that ended that access."""


class ConfigCache:
    """Each branch's services and counters, reloaded when its ``config_version`` moves.

    The branch row is read in every transaction anyway, so the version check costs
    nothing; a change made on any process bumps the version in the database.
    """

    def __init__(self) -> None:
        self._configs: dict[str, BranchConfig] = {}

    async def get(self, conn: Any, branch: BranchRow) -> BranchConfig:
        cached = self._configs.get(branch.id)
        if cached is None or cached.version != branch.config_version:
            cached = await repo.load_config(conn, branch)
            self._configs[branch.id] = cached
        return cached

    def forget(self, branch_id: str) -> None:
        self._configs.pop(branch_id, None)


class EstimateInputs:
    """What the wait estimate reads (open counters, recent service times), kept ``ttl_s``.

    The rule: an entry is dropped at once by this process's events that change it
    (:data:`STALE_AFTER`) and by a configuration change; other processes' changes
    show within ``ttl_s``, which is harmless for an estimate.
    """

    #: The input each event kind makes stale.
    STALE_AFTER: dict[str, str] = {
        **dict.fromkeys(COUNTER_KINDS, "open_counters"),
        TICKET_FINISHED.name: "service_times",
    }

    def __init__(self, ttl_s: float = 2.0) -> None:
        self.ttl_s = ttl_s
        self._kept: dict[tuple[Any, ...], tuple[float, Any]] = {}

    async def get(self, key: tuple[Any, ...], load: Callable[[], Awaitable[Any]]) -> Any:
        """``load()``'s value for ``key`` = (input, branch, …), at most ``ttl_s`` old."""
        now = time.monotonic()
        hit = self._kept.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        value = await load()
        self._kept[key] = (now, value)
        return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        """Keep ``value`` for ``key`` from now (a value its reader found out of date and reloaded)."""
        self._kept[key] = (time.monotonic(), value)

    def saw(self, branch_id: str, kinds: Iterable[str]) -> None:
        """Drop what events of ``kinds`` on ``branch_id`` have made stale."""
        stale = {self.STALE_AFTER[k] for k in kinds if k in self.STALE_AFTER}
        if stale:
            self._drop(lambda key: key[0] in stale and key[1] == branch_id)

    def forget(self, branch_id: str) -> None:
        self._drop(lambda key: key[1] == branch_id)

    def _drop(self, matches: Callable[[tuple[Any, ...]], bool]) -> None:
        for key in [k for k in self._kept if matches(k)]:
            del self._kept[key]


@dataclass
class Services:
    """The application: database, clock, the two caches and the event subscribers."""

    db: Database
    clock: Clock = system_clock
    subscribers: list[Subscriber] = field(default_factory=list)
    access_listeners: list[AccessListener] = field(default_factory=list)
    configs: ConfigCache = field(default_factory=ConfigCache)
    estimates: EstimateInputs = field(default_factory=EstimateInputs)
    vault: Vault = field(default_factory=Vault.ephemeral)
    """Encrypts complainants' contacts: ``create_app`` and the CLI build it from the settings."""
    notify_channels: frozenset[str] = frozenset()
    """The notification channels this server has configured (email, webhook)."""
    outbox_listeners: list[Callable[[], None]] = field(default_factory=list)
    """Told after a commit that wrote notifications (the worker looks at once)."""
    demo: bool = False
    """Running as ``serve --demo``: only then are the demo credentials accepted."""
    estimator: str = "projected"
    """How waits are estimated: ``projected`` (the branch's call-next played forward), or
    ``simple`` (ahead × typical service time ÷ open counters, kept to measure against)."""
    _publishing: set[asyncio.Task[None]] = field(default_factory=set)
    _days: dict[str, BranchRow] = field(default_factory=dict)
    """The last branch row this process read, per branch: whose business day it was."""

    def last_branch_row(self, branch_id: str) -> BranchRow | None:
        """The branch's row as this process's last unit of work on it read it (None: not yet)."""
        return self._days.get(branch_id)

    def forget_config(self, branch_id: str) -> None:
        """Drop what this process keeps of a branch's configuration (it has just changed)."""
        self.configs.forget(branch_id)
        self.estimates.forget(branch_id)

    async def config(self, conn: Any, branch: BranchRow) -> BranchConfig:
        """The branch's services and counters, as of its config_version."""
        return await self.configs.get(conn, branch)

    # On a branch, the unit of work has the branch's row and configuration loaded (or raises NotFound).
    # The overloads say so; the implementation yields Any as it cannot name both at once.
    @overload
    def unit_of_work(self, branch_id: str) -> AbstractAsyncContextManager[BranchUnitOfWork]: ...
    @overload
    def unit_of_work(self, branch_id: str | None) -> AbstractAsyncContextManager[UnitOfWork]: ...

    @asynccontextmanager
    async def unit_of_work(self, branch_id: str | None) -> AsyncIterator[Any]:
        """A unit of work on ``branch_id`` (None: on no branch); events published after commit.

        When the branch's business day has turned since its last write, the
        roll-over (:func:`server.services.days.roll_over`) runs first, as a unit of
        work of its own; this one then begins on the new day.
        """
        known = self._days.get(branch_id) if branch_id is not None else None
        if branch_id is not None and (known is None or day_turned(self, known)):
            from .days import roll_over

            await roll_over(self, branch_id)
        async with self._unit(branch_id) as uow:
            yield uow

    @asynccontextmanager
    async def _unit(self, branch_id: str | None) -> AsyncIterator[UnitOfWork]:
        """The unit of work itself, without the roll-over check (the roll-over uses this)."""
        async with self.db.write() as conn:
            uow = UnitOfWork(conn, self.clock(), vault=self.vault)
            if branch_id is not None:
                branch = await repo.load_branch(conn, branch_id)
                if branch is None:
                    raise NotFound(f"no branch {branch_id!r}")
                uow.branch, uow.config = branch, await self.configs.get(conn, branch)
                self._days[branch_id] = branch
            yield uow
            await uow.flush()
        for who in uow.access_ended:
            for listener in self.access_listeners:
                listener(who)
        if uow.outbox_written:
            for wake in self.outbox_listeners:
                wake()
        if uow.branch is None:
            return
        if uow.config_changed:
            self.forget_config(uow.branch.id)
        if uow.events:
            self.estimates.saw(uow.branch.id, {e["kind"] for e in uow.events})
            await self.publish(uow.branch.id, uow.events)

    @asynccontextmanager
    async def reading(self, branch_id: str) -> AsyncIterator[tuple[Any, BranchRow, BranchConfig]]:
        """A read-only view of ``branch_id``."""
        async with self.db.read() as conn:
            branch = await repo.load_branch(conn, branch_id)
            if branch is None:
                raise NotFound(f"no branch {branch_id!r}")
            yield conn, branch, await self.configs.get(conn, branch)

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


def day_turned(app: Services, branch: BranchRow) -> bool:
    """Whether the branch's business day has turned since its last write."""
    return business_date(app.clock(), branch.timezone) > branch.business_date
