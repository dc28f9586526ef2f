"""Use cases of a ticket outside the counter: issue, follow, cancel, rate, requeue."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server.domain.access import Action, may, require
from server.domain.errors import (
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    NotFound,
    Unauthenticated,
)
from server.domain.estimation import (
    RECENT_FOR_MEAN,
    RECENT_SERVICES,
    OpenCounter,
    ahead_of_new_ticket,
    estimate_wait_seconds,
    expected_service_seconds,
    people_ahead,
    projected_calls,
    projected_wait,
    remaining_seconds,
    typical_service_seconds,
)
from server.domain.events import (
    FEEDBACK_GIVEN,
    TICKET_CANCELLED,
    TICKET_ISSUED,
    TICKET_REQUEUED,
    TICKET_SERVICE_CHANGED,
)
from server.domain.hours import is_open
from server.domain.model import (
    CounterState,
    Priority,
    TicketAction,
    TicketState,
    TransferPosition,
    ticket_move,
)
from server.domain.numbering import business_date, format_number, series_for
from server.domain.policy import Candidate, ServiceRule
from server.domain.slots import come_now
from server.protocol import (
    ChangeService,
    FeedbackAnswer,
    FeedbackIn,
    IssueTicket,
    PublicTicket,
    Requeue,
    TicketAnswer,
    TicketIssued,
)
from server.store import bookings as booking_store
from server.store import repository as repo
from server.store.repository import BranchConfig, BranchRow, ServiceConf

from . import emergency
from .context import Actor, BranchTx, Services
from .views import ticket_answer, ticket_event_data

#: The id a ticket about to be issued has in the projection (no stored ticket has it).
NEW_TICKET = 2**62


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


def _request_hash(cmd: IssueTicket) -> str:
    return hashlib.sha256(cmd.model_dump_json().encode()).hexdigest()


def _scope(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def service_open(branch: BranchRow, service: ServiceConf, now: datetime) -> bool:
    """Within the branch's hours (not on a holiday) and the service's own hours, if it has any."""
    if not is_open(branch.hours, now, branch.timezone, branch.holidays):
        return False
    return service.hours is None or is_open(service.hours, now, branch.timezone)


def unavailable_reason(
    service: ServiceConf, *, hours_open: bool, issued: int | None = None, by_staff: bool = False
) -> str | None:
    """Why a service cannot be taken now, or None.

    Of a daily cap, the service's ``staff_reserve`` is kept for the lobby staff: a kiosk
    (or anyone but staff) stops at ``daily_cap - staff_reserve``, staff at ``daily_cap``,
    so that one person at a kiosk can never take every ticket of the day.
    """
    if not service.active:
        return "suspended"
    if not hours_open:
        return "closed"
    if service.daily_cap is not None and issued is not None:
        limit = service.daily_cap if by_staff else service.daily_cap - service.staff_reserve
        if issued >= limit:
            return "daily_cap_reached"
    return None


UNAVAILABLE_MESSAGES = {
    "suspended": "service {code} is suspended",
    "closed": "the branch is closed now",
    "daily_cap_reached": "service {code} has reached its daily limit of tickets",
}


async def open_counters_for(
    app: Services, conn: Any, branch_id: str, config: BranchConfig
) -> dict[str, int]:
    """Service code → number of open counters whose profile takes it."""

    async def load() -> dict[str, int]:
        counts = dict.fromkeys(config.services, 0)
        for row in await repo.counter_rows(conn, branch_id):
            if row.state == CounterState.OPEN:
                conf = config.counters.get(row.number)
                for code in conf.services if conf else ():
                    counts[code] = counts.get(code, 0) + 1
        return counts

    # Keyed by the configuration too: a changed profile counts at once.
    counts: dict[str, int] = await app.estimates.get(("open_counters", branch_id, config.version), load)
    return counts


async def estimate(
    app: Services, conn: Any, branch_id: str, service: ServiceConf, ahead: int, open_n: int
) -> int | None:
    """Estimated wait in seconds for a ticket with ``ahead`` people before it.

    None when ``open_n`` is 0: with no counter open for the service there is no
    honest estimate, and the screens say "no counter open" instead.
    """
    if open_n <= 0:
        return None
    recent = await app.estimates.get(
        ("service_times", branch_id, service.id),
        lambda: repo.recent_service_seconds(conn, branch_id, service.id, limit=RECENT_SERVICES),
    )
    typical = typical_service_seconds(recent, float(service.target_service_s))
    return estimate_wait_seconds(ahead, typical_service_s=typical, open_counters=open_n)


#: Expected arrivals are the rate of the last hour (or of the day so far, if shorter, but ten minutes at least).
RATE_WINDOW_S, MIN_RATE_SPAN_S = 3600.0, 600.0


async def expected_service_times(
    app: Services, conn: Any, branch_id: str, config: BranchConfig
) -> dict[str, float]:
    """Service code → expected service seconds (recent mean, clipped; the target with no history)."""
    recent: dict[int, list[float]] = await app.estimates.get(
        ("service_times", branch_id, "all"),
        lambda: repo.recent_service_seconds_by_service(
            conn, branch_id, limit=RECENT_FOR_MEAN * max(1, len(config.services))
        ),
    )
    return {
        code: expected_service_seconds(recent.get(s.id, []), float(s.target_service_s))
        for code, s in config.services.items()
    }


async def arrival_rates(
    conn: Any, branch_id: str, config: BranchConfig, now: datetime
) -> dict[tuple[str, Priority], float]:
    """(service code, class) → tickets issued per second lately."""
    counts, first = await repo.issued_since(conn, branch_id, now - timedelta(seconds=RATE_WINDOW_S))
    if first is None:
        return {}
    span = max(MIN_RATE_SPAN_S, (now - first).total_seconds())
    out: dict[tuple[str, Priority], float] = {}
    for (sid, prio), n in counts.items():
        out[(config.service_by_id(sid).code, Priority(prio))] = n / span
    return out


#: The most waiting tickets of a branch whose call-next is played forward for an estimate. Each
#: projected call runs the policy over the whole queue, so a projection grows with the square of
#: the queue (measured on the demo with six counters open, after a burst: the kiosk's five
#: projections 29 ms at 100 waiting, 72 ms at 200, 138 ms at 300; one phone read 17, 27, 46 ms);
#: past this the estimate is the simple one (people ahead × typical service ÷ open counters).
PROJECTION_MAX_WAITING = 200


def projects(app: Services, counts: Mapping[Any, int]) -> bool:
    """Whether estimates play the queue forward now: the projecting estimator, and a queue of at
    most :data:`PROJECTION_MAX_WAITING` (``counts``: :func:`repo.waiting_counts` of the branch)."""
    return app.estimator != "simple" and sum(counts.values()) <= PROJECTION_MAX_WAITING


@dataclass(frozen=True, slots=True)
class Projection:
    """What the projected estimate reads, loaded once (for one ticket, or every service of a kiosk)."""

    waiting: list[Candidate]
    counters: list[OpenCounter]
    service_s: dict[str, float]
    rates: dict[tuple[str, Priority], float]
    rules: dict[str, ServiceRule]
    now: datetime

    def wait(self, me: Candidate) -> int | None:
        return projected_wait(me, self.waiting, self.counters, self.service_s, rules=self.rules,
                              arrivals_per_s=self.rates, now=self.now)

    def every_wait(self) -> dict[int, int]:
        """Ticket id → seconds until called, for every waiting ticket, in one play forward."""
        return projected_calls(self.waiting, self.counters, self.service_s, rules=self.rules,
                               arrivals_per_s=self.rates, now=self.now)


async def projection(app: Services, conn: Any, branch_id: str, config: BranchConfig, now: datetime) -> Projection:
    """Who waits, the open counters and how long they stay busy, the expected service times and
    the customers expected meanwhile (:func:`server.domain.estimation.projected_wait`)."""
    waiting = [repo.to_candidate(w, config) for w in await repo.waiting_candidates(conn, branch_id)]
    service_s = await expected_service_times(app, conn, branch_id, config)
    counters = []
    for r in await repo.open_counters_at_work(conn, branch_id):
        if r.number not in config.counters:
            continue
        busy = 0.0
        if r.called_at is not None:
            code = config.service_by_id(r.service_id).code
            busy = remaining_seconds(service_s.get(code, 300.0), (now - repo.aware(r.called_at)).total_seconds())
        recent = tuple(Priority.GREEN if c == "g" else Priority.NORMAL for c in r.recent_calls or "")
        counters.append(OpenCounter(config.counters[r.number].profile(), busy, recent))
    rates = await arrival_rates(conn, branch_id, config, now)
    return Projection(waiting, counters, service_s, rates, config.rules(), now)


async def queue_estimate(
    app: Services, conn: Any, branch: BranchRow, config: BranchConfig, me: Candidate, now: datetime
) -> int | None:
    """A waiting ticket's estimate for its phone page, from one projection of the whole queue per
    state of the branch (its last event): a thousand phones reading again after an event cost one
    projection, not a thousand."""

    async def load() -> tuple[tuple[int, int], datetime, dict[int, int]]:
        projected = await projection(app, conn, branch.id, config, now)
        return (branch.event_seq, config.version), now, projected.every_wait()

    key = ("queue_projection", branch.id)
    state, at, waits = await app.estimates.get(key, load)
    if state != (branch.event_seq, config.version) or now < at:
        state, at, waits = found = await load()
        app.estimates.put(key, found)
    wait = waits.get(me.id)
    return None if wait is None else max(0, round(wait - (now - at).total_seconds()))


async def projected_estimate(
    app: Services, conn: Any, branch_id: str, config: BranchConfig, me: Candidate, now: datetime
) -> int | None:
    """Estimated wait of ``me`` (waiting, or about to be issued): the branch's call-next played forward."""
    return (await projection(app, conn, branch_id, config, now)).wait(me)


def served_by_a_counter(config: BranchConfig, code: str) -> bool:
    """Whether any counter's profile (open or not) takes service ``code``.

    A service no counter takes would never be called: it is not offered, and
    issuing it is refused (``no_counter_serves``).
    """
    return any(code in c.services for c in config.counters.values())


async def issue_ticket(
    app: Services,
    actor: Actor,
    branch_id: str,
    cmd: IssueTicket,
    *,
    idempotency_key: str | None = None,
) -> TicketIssued:
    """Issue a ticket at a kiosk or by staff; a repeated Idempotency-Key returns the first answer.

    Raises:
        Forbidden: not a kiosk or staff of this branch.
        NotFound: unknown service.
        Conflict: the service cannot be taken now (suspended, closed, daily cap).
        IdempotencyMismatch: the key was used for a different request.
    """
    _may_issue(actor, branch_id)
    try:
        async with app.unit_of_work(branch_id) as tx:
            if idempotency_key is not None:
                earlier = await repo.idempotent_ticket(tx.conn, branch_id, _scope(actor), idempotency_key)
                if earlier is not None:
                    return await _replay(tx, earlier, cmd)
            issued = await issue_in(app, tx, actor, cmd)
            if idempotency_key is not None:
                claimed = await repo.claim_idempotency_key(
                    tx.conn,
                    {
                        "branch_id": branch_id,
                        "scope": _scope(actor),
                        "key": idempotency_key,
                        "request_hash": _request_hash(cmd),
                        "ticket_id": issued.id,
                        "created_at": tx.now,
                    },
                )
                if not claimed:
                    raise _KeyTaken
            return issued
    except _KeyTaken:
        # Rolled back, number included: answer with the winner's ticket.
        async with app.unit_of_work(branch_id) as tx:
            # _KeyTaken is raised only when an idempotency_key was given.
            earlier = await repo.idempotent_ticket(
                tx.conn, branch_id, _scope(actor), idempotency_key  # type: ignore[arg-type]
            )
            return await _replay(tx, earlier, cmd)


def _may_issue(actor: Actor, branch_id: str) -> None:
    require(actor, Action.ISSUE, branch_id)


async def _replay(tx: BranchTx, earlier: Any, cmd: IssueTicket) -> TicketIssued:
    if earlier.request_hash != _request_hash(cmd):
        raise IdempotencyMismatch("this Idempotency-Key was used for a different ticket request")
    row = await repo.ticket_by_id(tx.conn, earlier.ticket_id)
    return TicketIssued(
        id=row.id,
        token=row.token,
        number=row.number,
        service=tx.config.service_by_id(row.service_id).code,
        priority=row.priority,
        state=TicketState.WAITING,  # the state it was issued in: the same answer as the first time
        issued_at=repo.aware(row.issued_at),
        ahead=row.ahead_at_issue,
        estimated_wait_s=row.estimated_wait_s,
        no_counter_open=row.estimated_wait_s is None,
    )


async def issue_in(
    app: Services, tx: BranchTx, actor: Actor, cmd: IssueTicket, *,
    series: str | None = None, queued_at: datetime | None = None, appointment: datetime | None = None,
) -> TicketIssued:
    """Issue in ``tx``: the one path of every ticket (kiosk, staff, a booking's check-in, the phone).

    ``series`` and ``queued_at`` override the service's series and the issue time as the
    queue position: a checked-in appointment draws from ``Y`` and is queued at its slot's
    start (``appointment``).
    """
    service = tx.config.service(cmd.service)
    if service is None:
        raise NotFound(f"no service {cmd.service!r} in branch {tx.branch.id!r}")
    if cmd.priority is Priority.GREEN and not service.green_allowed:
        raise Conflict(f"service {service.code} has no green channel", code="green_not_allowed")
    if cmd.priority is Priority.GREEN and cmd.green_reason in tx.branch.green_confirm and not actor.is_staff:
        raise Conflict("this green-channel reason is confirmed by staff: please ask the lobby manager",
                       code="needs_confirmation")
    today = tx.today
    issued = (
        await repo.issued_today(tx.conn, tx.branch.id, today, service.id)
        if service.daily_cap is not None
        else None
    )
    reason = unavailable_reason(
        service, hours_open=service_open(tx.branch, service, tx.now), issued=issued, by_staff=actor.is_staff
    )
    if reason:
        raise Conflict(UNAVAILABLE_MESSAGES[reason].format(code=service.code), code=reason)
    incident, stopped = await emergency.stopped_in(tx)
    if service.code in stopped:
        # Emergency mode stops issuing for its scope on every kiosk, and for staff too: a
        # branch that is evacuating, or whose systems are down, hands out no numbers at all.
        message = emergency.DRILL_REFUSAL if incident is not None and incident.drill else emergency.REFUSAL
        raise Conflict(message.format(code=service.code), code="emergency")
    if not served_by_a_counter(tx.config, service.code):
        raise Conflict(f"no counter of this branch serves service {service.code}", code="no_counter_serves")

    counts = await repo.waiting_counts(tx.conn, tx.branch.id)  # the branch's: the service's and the total
    ahead = ahead_of_new_ticket(
        cmd.priority,
        waiting_green=counts.get((service.id, Priority.GREEN), 0),
        waiting_normal=counts.get((service.id, Priority.NORMAL), 0),
    )
    if not projects(app, counts):
        open_n = (await open_counters_for(app, tx.conn, tx.branch.id, tx.config)).get(service.code, 0)
        wait_s = await estimate(app, tx.conn, tx.branch.id, service, ahead, open_n)
    else:
        me = Candidate(NEW_TICKET, service.code, cmd.priority, tx.now)
        wait_s = await projected_estimate(app, tx.conn, tx.branch.id, tx.config, me, tx.now)

    series = series or series_for(service.code, cmd.priority)
    sequence = await repo.next_sequence(tx.conn, tx.branch.id, today, series)
    number = format_number(series, sequence)
    token = secrets.token_urlsafe(16)
    ticket_id = await repo.insert_ticket(
        tx.conn,
        {
            "branch_id": tx.branch.id,
            "business_date": today,
            "service_id": service.id,
            "series": series,
            "sequence": sequence,
            "number": number,
            "priority": cmd.priority,
            "green_reason": cmd.green_reason,
            # Staff issuing a green ticket saw the customer: the reason counts as confirmed by them.
            "green_confirmed_by": actor.id if actor.is_staff and cmd.priority is Priority.GREEN else None,
            "state": TicketState.WAITING,
            "token": token,
            "issued_at": tx.now,
            "queued_at": queued_at or tx.now,
            "head": False,
            # staff_id is whoever calls it; an issuing staff member is in the event.
            "staff_id": None,
            "device_id": actor.id if actor.kind == "device" else None,
            "ahead_at_issue": ahead,
            "estimated_wait_s": wait_s,
            # Reports judge the wait by the target in force now, whatever it becomes later.
            "target_wait_s": service.target_wait_s,
            "issued_hour": tx.local_now.hour,
        },
    )
    tx.emit(
        TICKET_ISSUED,
        {
            "id": ticket_id,
            "number": number,
            "service": service.code,
            "priority": cmd.priority.value,
            "state": "waiting",
            "counter": None,
            "ahead": ahead,
            "estimated_wait_s": wait_s,
            "device": actor.id if actor.kind == "device" else None,
            **({"language": cmd.language} if cmd.language else {}),
            **({"appointment": appointment.isoformat()} if appointment is not None else {}),
        },
        ticket_id=ticket_id,
        staff_id=actor.id if actor.is_staff else None,
    )
    return TicketIssued(
        id=ticket_id,
        token=token,
        number=number,
        service=service.code,
        priority=cmd.priority,
        state=TicketState.WAITING,
        issued_at=tx.now,
        ahead=ahead,
        estimated_wait_s=wait_s,
        no_counter_open=wait_s is None,
    )


TOKEN_EXPIRED = (
    "this ticket was for an earlier business day; its page ends with the day it was taken "
    "(take a new ticket at the branch)"
)


def _refuse_expired(row: Any, today: date) -> None:
    """A ticket's token works for its own business day only: the phone page says so.

    Raises:
        NotFound: the ticket belongs to an earlier business day (``ticket_expired``).
    """
    if row.business_date < today:
        raise NotFound(TOKEN_EXPIRED, code="ticket_expired")


async def _ticket_branch(app: Services, token: str) -> str:
    async with app.db.read() as conn:
        row = await repo.ticket_by_token(conn, token)
        if row is None:
            raise NotFound("no such ticket")
        branch = await repo.load_branch(conn, row.branch_id)
    _refuse_expired(row, business_date(app.clock(), branch.timezone) if branch else row.business_date)
    branch_id: str = row.branch_id
    return branch_id


async def public_ticket(app: Services, token: str) -> PublicTicket:
    """What the ticket's holder sees on the phone: position, estimate, counter when called."""
    branch_id = await _ticket_branch(app, token)
    async with app.reading(branch_id) as (conn, branch, config):
        row = await repo.ticket_by_token(conn, token)
        _refuse_expired(row, business_date(app.clock(), branch.timezone))
        service = config.service_by_id(row.service_id)
        ahead = 0
        wait_s: int | None = 0
        no_counter_open = False
        if row.state == TicketState.WAITING:
            waiting = await repo.waiting_tickets(conn, branch_id, service_ids=[service.id])
            me = repo.to_candidate(row, config)
            ahead = people_ahead(
                me, [repo.to_candidate(w, config) for w in waiting], rules=config.rules(), now=app.clock()
            )
            if not projects(app, await repo.waiting_counts(conn, branch_id)):
                open_n = await _open_for(app, conn, branch_id, config, service.code, row.target_counter_id)
                wait_s = await estimate(app, conn, branch_id, service, ahead, open_n)
            else:
                wait_s = await queue_estimate(app, conn, branch, config, me, app.clock())
            no_counter_open = wait_s is None
        counter = config.counter_by_id(row.counter_id)
        rated = await repo.feedback_for(conn, row.id) is not None
        travel_min = await booking_store.travel_min(conn, row.id)
    return PublicTicket(
        number=row.number,
        service=service.code,
        service_names=service.names,
        branch=branch.id,
        branch_names=branch.names,
        priority=row.priority,
        state=row.state,
        issued_at=repo.aware(row.issued_at),
        ahead=ahead,
        estimated_wait_s=wait_s,
        no_counter_open=no_counter_open,
        counter=counter.number if counter and row.state in ("called", "serving", "done") else None,
        feedback_given=rated,
        travel_min=travel_min,
        come_now=row.state == TicketState.WAITING and come_now(wait_s, travel_min),
    )


async def _open_for(
    app: Services, conn: Any, branch_id: str, config: BranchConfig, code: str, target_counter_id: int | None
) -> int:
    """Open counters that may call a waiting ticket: the one it was sent to, if any, else its service's."""
    if target_counter_id is None:
        return (await open_counters_for(app, conn, branch_id, config)).get(code, 0)
    row = await repo.counter_row(conn, target_counter_id)
    return 1 if row is not None and row.state == CounterState.OPEN else 0


async def cancel_ticket(app: Services, token: str) -> PublicTicket:
    """The customer gives up a waiting ticket."""
    branch_id = await _ticket_branch(app, token)
    async with app.unit_of_work(branch_id) as tx:
        row = await repo.ticket_by_token(tx.conn, token, lock=True)
        _refuse_expired(row, tx.today)
        state = ticket_move(row.state, TicketAction.CANCEL)
        await repo.update_ticket(tx.conn, row.id, state=state, finished_at=tx.now)
        tx.emit(
            TICKET_CANCELLED,
            ticket_event_data(row, tx.config, state=state.value),
            ticket_id=row.id,
        )
    return await public_ticket(app, token)


async def give_feedback(app: Services, token: str, body: FeedbackIn) -> FeedbackAnswer:
    """One rating per ticket, after it was served."""
    branch_id = await _ticket_branch(app, token)
    async with app.unit_of_work(branch_id) as tx:
        row = await repo.ticket_by_token(tx.conn, token, lock=True)
        _refuse_expired(row, tx.today)
        if row.state != TicketState.DONE:
            raise Conflict("a ticket can be rated once it has been served", code="not_served")
        if await repo.feedback_for(tx.conn, row.id) is not None:
            raise Conflict("this ticket has already been rated", code="already_rated")
        await repo.insert_feedback(
            tx.conn,
            {
                "ticket_id": row.id,
                "branch_id": branch_id,
                "counter_id": row.counter_id,
                "staff_id": row.staff_id,
                "score": body.score,
                "tags": body.tags,
                "comment": body.comment,
                "at": tx.now,
            },
        )
        tx.emit(
            FEEDBACK_GIVEN,
            ticket_event_data(row, tx.config, score=body.score),
            ticket_id=row.id,
            counter_id=row.counter_id,
            staff_id=row.staff_id,
        )
    return FeedbackAnswer(score=body.score, tags=body.tags, comment=body.comment, at=tx.now)


def queue_position(position: TransferPosition, *, now: datetime, issued_at: datetime) -> dict[str, Any]:
    """Where a ticket re-enters a queue: the head, the back, or its first issue time."""
    if position is TransferPosition.FIRST:
        return {"head": True, "queued_at": now}
    if position is TransferPosition.ORIGINAL:
        return {"head": False, "queued_at": issued_at}
    return {"head": False, "queued_at": now}


async def requeue_ticket(
    app: Services, actor: Actor, branch_id: str, ticket_id: int, body: Requeue
) -> TicketAnswer:
    """A customer who missed the call, or gave the ticket up, is back in the queue.

    A teller may requeue a no-show within the branch's grace time; the lobby manager
    (``manage_branch``) any no-show or cancelled ticket of today, however long ago: the
    board tells a late customer to see the front desk. Repeating it changes nothing
    (the ticket is waiting by then: ``invalid_transition``).
    """
    require(actor, Action.OPERATE_COUNTER, branch_id)
    lobby = may(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await _branch_ticket(tx, ticket_id)
        if lobby and row.state == TicketState.CANCELLED:
            state = TicketState.WAITING
        else:
            state = ticket_move(row.state, TicketAction.REQUEUE)
        if row.business_date != tx.today:
            raise Conflict(f"ticket {row.number} was for an earlier business day", code="ticket_expired")
        grace = timedelta(seconds=tx.branch.no_show_grace_s)
        if not lobby and tx.now - repo.aware(row.finished_at) > grace:
            raise Conflict(
                f"ticket {row.number} missed its call more than {tx.branch.no_show_grace_s // 60} min ago",
                code="grace_expired",
            )
        if row.service_id in tx.config.retired_services:
            raise Conflict(
                f"ticket {row.number}'s service has been removed; issue a new ticket", code="service_removed"
            )
        before = row.state
        values = {
            "state": state,
            "finished_at": None,
            "called_at": None,
            "started_at": None,
            **queue_position(body.position, now=tx.now, issued_at=repo.aware(row.issued_at)),
        }
        await repo.update_ticket(tx.conn, row.id, **values)
        row = await repo.ticket_by_id(tx.conn, row.id)
        tx.emit(
            TICKET_REQUEUED,
            ticket_event_data(
                row, tx.config, position=body.position.value,
                issued_at=repo.aware(row.issued_at).isoformat(), queued_at=repo.aware(row.queued_at).isoformat(),
                head=bool(row.head), recalls=row.recalls, transfers=row.transfers,
                target_counter=target.number if (target := tx.config.counter_by_id(row.target_counter_id)) else None,
            ),
            ticket_id=row.id,
            staff_id=actor.id,
        )
        if lobby:
            await tx.audit(actor, "ticket.requeue", f"ticket {row.number}", {"state": before},
                           {"state": state.value, "position": body.position.value})
        return ticket_answer(row, tx.config)


async def _branch_ticket(tx: BranchTx, ticket_id: int) -> Any:
    """The ticket ``ticket_id`` of the unit of work's branch, locked.

    Raises:
        NotFound: no such ticket in this branch.
    """
    row = await repo.ticket_by_id(tx.conn, ticket_id, lock=True)
    if row is None or row.branch_id != tx.branch.id:
        raise NotFound(f"no ticket {ticket_id} in branch {tx.branch.id!r}")
    return row


async def find_ticket(app: Services, actor: Actor, branch_id: str, number: str) -> TicketAnswer:
    """Today's ticket with this number, as staff see it (the lobby manager's search).

    Raises:
        NotFound: no ticket of today has that number.
    """
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.reading(branch_id) as (conn, branch, config):
        row = await repo.ticket_by_number(conn, branch_id, business_date(app.clock(), branch.timezone), number)
        if row is None:
            raise NotFound(f"no ticket {number} today", code="no_such_ticket")
        return ticket_answer(row, config)


async def cancel_for_customer(app: Services, actor: Actor, branch_id: str, ticket_id: int) -> TicketAnswer:
    """The lobby manager cancels a waiting ticket on its customer's behalf (they left, or asked).

    Raises:
        InvalidTransition: the ticket is not waiting (a second press finds it cancelled).
    """
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await _branch_ticket(tx, ticket_id)
        state = ticket_move(row.state, TicketAction.CANCEL)
        await repo.update_ticket(tx.conn, row.id, state=state, finished_at=tx.now)
        row = await repo.ticket_by_id(tx.conn, row.id)
        tx.emit(TICKET_CANCELLED, ticket_event_data(row, tx.config), ticket_id=row.id, staff_id=actor.id)
        await tx.audit(actor, "ticket.cancel", f"ticket {row.number}", {"state": "waiting"}, {"state": state.value})
        return ticket_answer(row, tx.config)


async def change_service(
    app: Services, actor: Actor, branch_id: str, ticket_id: int, body: ChangeService
) -> TicketAnswer:
    """Move a waiting ticket to another service (the customer took the wrong one).

    It keeps its number, as a transferred ticket does (the customer holds the paper),
    and its place by issue time in the new service's queue: the customer loses no time
    for the kiosk's mistake. Refused as an issue of the new service would be
    (``suspended``, ``no_counter_serves``, ``green_not_allowed``), and for the same
    service (``unchanged``: a second press changes nothing).
    """
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await _branch_ticket(tx, ticket_id)
        if row.state != TicketState.WAITING:
            raise Conflict(f"ticket {row.number} is {row.state}: only a waiting ticket changes service",
                           code="not_waiting")
        old = tx.config.service_by_id(row.service_id)
        new = tx.config.service(body.service)
        if new is None:
            raise NotFound(f"no service {body.service!r} in branch {branch_id!r}")
        if new.id == old.id:
            raise Conflict(f"ticket {row.number} is for service {new.code} already", code="unchanged")
        if not new.active:
            raise Conflict(UNAVAILABLE_MESSAGES["suspended"].format(code=new.code), code="suspended")
        if not served_by_a_counter(tx.config, new.code):
            raise Conflict(f"no counter of this branch serves service {new.code}", code="no_counter_serves")
        if row.priority == Priority.GREEN and not new.green_allowed:
            raise Conflict(f"service {new.code} has no green channel", code="green_not_allowed")
        issued_at = repo.aware(row.issued_at)
        await repo.update_ticket(tx.conn, row.id, service_id=new.id, target_counter_id=None,
                                 head=False, queued_at=issued_at)
        row = await repo.ticket_by_id(tx.conn, row.id)
        tx.emit(
            TICKET_SERVICE_CHANGED,
            ticket_event_data(row, tx.config, from_service=old.code, issued_at=issued_at.isoformat(),
                              queued_at=repo.aware(row.queued_at).isoformat(), head=False),
            ticket_id=row.id,
            staff_id=actor.id,
        )
        await tx.audit(actor, "ticket.change_service", f"ticket {row.number}", {"service": old.code},
                       {"service": new.code})
        return ticket_answer(row, tx.config)


#: How long after finishing the customer may still rate at the counter's evaluator.
EVALUATOR_WINDOW = timedelta(minutes=10)


async def rate_at_counter(
    app: Services, actor: Actor, branch_id: str, number: int, body: FeedbackIn
) -> FeedbackAnswer:
    """The evaluator facing the customer rates the ticket just finished at its counter."""
    return await give_feedback(app, await just_finished_at(app, actor, branch_id, number), body)


async def just_finished_at(app: Services, actor: Actor, branch_id: str, number: int) -> str:
    """The token of the ticket finished just now at the evaluator's own counter (to rate it, or
    to complain about it from the customer's phone)."""
    if actor.kind == "public":
        raise Unauthenticated("an evaluator device token is needed")
    if actor.kind != "device" or actor.role != "evaluator" or actor.branch_id != branch_id:
        raise Forbidden("only an evaluator of this branch rates at a counter")
    if number not in actor.counters:
        where = f"counter {actor.counters[0]}" if actor.counters else "no counter (enroll it again for its counter)"
        raise Forbidden(f"this evaluator faces {where}, not counter {number}", code="not_this_counter")
    async with app.unit_of_work(branch_id) as tx:
        conf = tx.config.counters.get(number)
        if conf is None:
            raise NotFound(f"no counter {number} in branch {branch_id!r}")
        row = await repo.last_finished_at_counter(tx.conn, conf.id, tx.now - EVALUATOR_WINDOW)
        if row is None:
            raise Conflict(f"no customer was served at counter {number} just now", code="nothing_to_rate")
        token: str = row.token
    return token
