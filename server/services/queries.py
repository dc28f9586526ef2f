"""Read-side use cases: what a kiosk lists, and the queue staff see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.domain.access import Action, require
from server.domain.errors import Forbidden, InvalidInput, NotFound
from server.domain.estimation import ahead_of_new_ticket
from server.domain.hours import Schedule, next_opening
from server.domain.model import Priority
from server.domain.numbering import GREEN_SERIES, business_date
from server.domain.policy import Candidate, Policy, ServiceRule, call_order
from server.protocol import QueueAnswer, QueueEntry, ServiceAnswer
from server.store import repository as repo
from server.store.repository import BranchConfig, BranchRow, ServiceConf

from .context import Actor, Services
from .tickets import (
    NEW_TICKET,
    estimate,
    open_counters_for,
    projection,
    projects,
    served_by_a_counter,
    service_open,
    unavailable_reason,
)


async def list_services(app: Services, actor: Actor, branch_id: str) -> list[ServiceAnswer]:
    """Services with their waiting count and the estimate a ticket taken now would get.

    A service with no counter open has no estimate (``no_counter_open``) and may
    still be taken; one that no counter serves at all is unavailable (``no_counter_serves``).
    """
    if actor.kind == "device" and actor.branch_id != branch_id:
        raise Forbidden("this device belongs to another branch")
    now = app.clock()
    async with app.reading(branch_id) as (conn, branch, config):
        counts = await repo.waiting_counts(conn, branch_id)
        open_n = await open_counters_for(app, conn, branch_id, config)
        # The same estimate the ticket would be given (a normal ticket taken now).
        projected = await projection(app, conn, branch_id, config, now) if projects(app, counts) else None
        today = business_date(now, branch.timezone)
        answers = []
        for code, service in config.services.items():
            green = counts.get((service.id, Priority.GREEN), 0)
            normal = counts.get((service.id, Priority.NORMAL), 0)
            ahead = ahead_of_new_ticket(Priority.NORMAL, waiting_green=green, waiting_normal=normal)
            issued = (
                await repo.issued_today(conn, branch_id, today, service.id)
                if service.daily_cap is not None
                else None
            )
            reason = unavailable_reason(
                service, hours_open=service_open(branch, service, now), issued=issued, by_staff=actor.is_staff
            )
            if reason is None and not served_by_a_counter(config, code):
                reason = "no_counter_serves"
            if projected is not None:
                wait_s = projected.wait(Candidate(NEW_TICKET, code, Priority.NORMAL, now))
            else:
                wait_s = await estimate(app, conn, branch_id, service, ahead, open_n.get(code, 0))
            opens_at = opens_next(branch, service, now) if reason == "closed" else None
            answers.append(
                ServiceAnswer(
                    code=code,
                    names=service.names,
                    waiting=green + normal,
                    estimated_wait_s=wait_s,
                    no_counter_open=wait_s is None,
                    open_counters=open_n.get(code, 0),
                    target_wait_s=service.target_wait_s,
                    green_allowed=service.green_allowed,
                    available=reason is None,
                    unavailable_reason=reason,
                    opens_at=opens_at,
                )
            )
        return answers


def opens_next(branch: BranchRow, service: ServiceConf, now: datetime) -> datetime | None:
    """When a ticket for ``service`` can next be taken: the branch's hours and the service's own both open."""
    schedules: list[Schedule] = [(branch.hours, branch.holidays)]
    if service.hours is not None:
        schedules.append((service.hours, ()))
    return next_opening(schedules, now, branch.timezone)


async def queue(
    app: Services, actor: Actor, branch_id: str, *, counter: int | None = None
) -> QueueAnswer:
    """Waiting tickets in call order: a counter's own order, or the branch's by default.

    The branch order is the order a counter taking every service, green channel
    first, would call them in.
    """
    require(actor, Action.READ_QUEUE, branch_id)
    async with app.reading(branch_id) as (conn, _branch, config):
        return await read_queue(conn, config, branch_id, counter=counter, now=app.clock())


async def read_queue(
    conn: Any, config: BranchConfig, branch_id: str, *, counter: int | None = None, now: datetime
) -> QueueAnswer:
    """The queue as :func:`queue` describes it, read on an open connection."""
    rows = {r.id: r for r in await repo.waiting_tickets(conn, branch_id)}
    pool = [repo.to_candidate(r, config) for r in rows.values()]
    if counter is not None:
        conf = config.counters.get(counter)
        if conf is None:
            raise NotFound(f"no counter {counter} in branch {branch_id!r}")
        crow = await repo.counter_row(conn, conf.id)
        recent = [Priority.GREEN if c == "g" else Priority.NORMAL for c in crow.recent_calls]
        ordered = call_order(pool, Policy(conf.profile(), config.rules()), recent=recent, now=now)
    else:
        ordered = sorted(pool, key=_branch_key(config.rules(), now))
    return QueueAnswer(
        branch=branch_id,
        counter=counter,
        tickets=[_entry(rows[c.id], c, config, now) for c in ordered],
    )


def _branch_key(
    rules: dict[str, ServiceRule], now: datetime
) -> Callable[[Candidate], tuple[bool, bool, bool, datetime, int]]:
    def key(c: Candidate) -> tuple[bool, bool, bool, datetime, int]:
        rule = rules.get(c.service)
        overdue = bool(rule and rule.max_wait is not None and now - c.queued_at > rule.max_wait)
        return (not overdue, c.priority is not Priority.GREEN, not c.head, c.queued_at, c.id)

    return key


def _entry(row: Any, c: Candidate, config: BranchConfig, now: datetime) -> QueueEntry:
    return QueueEntry(
        id=row.id,
        number=row.number,
        service=c.service,
        priority=row.priority,
        green_reason=row.green_reason,
        queued_at=repo.aware(row.queued_at),
        issued_at=repo.aware(row.issued_at),
        waited_s=int((now - repo.aware(row.issued_at)).total_seconds()),
        target_counter=c.counter,
        head=bool(row.head),
        recalls=row.recalls,
        transfers=row.transfers,
        appointment=c.appointment,
    )


async def check_call(app: Services, branch_id: str, number: str, counter: int) -> None:
    """Raise unless ``number`` is of a series of the branch and ``counter`` one of its counters."""
    async with app.reading(branch_id) as (_conn, _branch, config):
        if counter not in config.counters:
            raise NotFound(f"no counter {counter} in branch {branch_id!r}")
        if number[0] not in config.services and number[0] != GREEN_SERIES:
            raise InvalidInput(f"{number!r} is not a series of this branch")


async def database_reachable(app: Services) -> str:
    """The database's dialect, after a round trip to it (the health check)."""
    async with app.db.read() as conn:
        await repo.ping(conn)
    return app.db.dialect
