"""The unit of work: one write transaction, the only place that commits.

A use case opens one unit of work (``async with app.unit_of_work(branch_id) as uow``),
reads and writes through the repository functions on ``uow.conn``, records what
happened with :meth:`UnitOfWork.emit` and :meth:`UnitOfWork.audit`, and returns. On a
normal exit the unit of work gives the events the branch's next ``seq`` numbers and
appends them, then commits — change, events and audit entry in one transaction, or
none of them. Only after the commit are the events published (see
:class:`server.services.context.Services`). Any exception rolls everything back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.access import Actor
from server.domain.events import EventKind
from server.domain.numbering import business_date

from . import repository as repo
from . import sessions
from .repository import BranchConfig, BranchRow
from .vault import Vault

Event = dict[str, Any]


@dataclass
class UnitOfWork:
    """One write transaction, on one branch (or on none, for accounts of no branch)."""

    conn: AsyncConnection
    now: datetime
    branch: BranchRow | None = None
    config: BranchConfig | None = None
    events: list[Event] = field(default_factory=list)
    config_changed: bool = False
    """Set by a use case that changed the branch's configuration: caches drop it after commit."""
    vault: Vault | None = None
    """Seals customer contacts written in this transaction (complaints, notifications)."""
    outbox_written: bool = False
    """A notification was enqueued: the worker is woken once this commits."""
    access_ended: list[str] = field(default_factory=list)
    """Whose access this transaction ended (``staff:12``, ``device:3``, ``session:<id>``): every
    process closes their sockets once it commits."""

    @property
    def today(self) -> date:
        """The branch's business date now."""
        assert self.branch is not None
        return business_date(self.now, self.branch.timezone)

    @property
    def local_now(self) -> datetime:
        """Now on the branch's wall clock."""
        assert self.branch is not None
        return self.now.astimezone(ZoneInfo(self.branch.timezone))

    def emit(
        self,
        kind: EventKind,
        data: dict[str, Any],
        *,
        ticket_id: int | None = None,
        counter_id: int | None = None,
        staff_id: int | None = None,
    ) -> None:
        """Record an event of ``kind`` (checked against its definition); appended at commit."""
        if self.branch is None:
            raise RuntimeError("events belong to a branch: open the unit of work on one")
        kind.check(data)
        self.events.append(
            {
                "kind": kind.name,
                "at": self.now,
                "ticket_id": ticket_id,
                "counter_id": counter_id,
                "staff_id": staff_id,
                "data": data,
            }
        )

    def end_access(self, who: str) -> None:
        """Close ``who``'s open sockets on every process once this commits (never if it rolls back)."""
        self.access_ended.append(who)

    async def audit(
        self,
        actor: Actor | None,
        action: str,
        target: str,
        before: Any,
        after: Any,
        *,
        branch_id: str | None = None,
    ) -> None:
        """Write an audit entry in this transaction: it commits with the change or not at all."""
        await repo.insert_audit(
            self.conn,
            at=self.now,
            branch_id=branch_id if branch_id is not None else (self.branch.id if self.branch else None),
            staff_id=actor.id if actor is not None and actor.is_staff else None,
            actor=actor.label() if actor is not None else "command line",
            action=action,
            target=target,
            before=before,
            after=after,
        )

    async def flush(self) -> None:
        """Append the recorded events with their seqs (the last step before commit)."""
        if self.events:
            assert self.branch is not None
            await repo.append_events(self.conn, self.branch.id, self.events)
        for who in self.access_ended:
            await sessions.notify_access_ended(self.conn, who)


class BranchUnitOfWork(UnitOfWork):
    """For the type checker only: a unit of work opened on a branch, whose row and configuration are loaded.

    Never instantiated: ``Services.unit_of_work(branch_id)`` with a branch id hands out a plain
    :class:`UnitOfWork` whose ``branch`` and ``config`` are set (or raises ``NotFound``), and is
    typed as returning this.
    """

    branch: BranchRow
    config: BranchConfig
