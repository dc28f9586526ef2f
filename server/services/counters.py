"""Use cases at a counter: open, pause, close, and the ticket actions of a teller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from server.domain import attendance
from server.domain.access import Action, Actor, require
from server.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    JustCalled,
    NotFound,
    Stale,
)
from server.domain.events import (
    COUNTER_CLOSED,
    COUNTER_OPENED,
    COUNTER_PAUSED,
    TICKET_CALLED,
    TICKET_FINISHED,
    TICKET_NO_SHOW,
    TICKET_RECALLED,
    TICKET_STARTED,
    TICKET_TRANSFERRED,
    EventKind,
)
from server.domain.model import (
    CounterAction,
    CounterState,
    Priority,
    TicketAction,
    TicketState,
    counter_move,
    ticket_move,
)
from server.domain.numbering import business_date
from server.domain.policy import Policy, candidates, choose
from server.protocol import (
    UNSAID,
    CallTicket,
    CounterAnswer,
    CounterListEntry,
    CounterResult,
    PauseCounter,
    TellerToday,
    Transfer,
    Unsaid,
)
from server.store import attendance as held
from server.store import repository as repo
from server.store.repository import CounterConf

from . import emergency, notifications
from .context import BranchTx, Services
from .tickets import queue_position
from .views import counter_answer, ticket_answer, ticket_event_data

RECENT_CALLS_KEPT = 12


class At:
    """A counter inside a transaction: its configuration, locked row and actor."""

    def __init__(
        self, tx: BranchTx, actor: Actor, conf: CounterConf, row: Any, expect: int | None | Unsaid = UNSAID
    ) -> None:
        self.tx, self.actor, self.conf, self.row = tx, actor, conf, row
        self.expect = expect
        """The ticket the sender believes is current (None: a free counter), or UNSAID."""

    async def current(self) -> Any | None:
        if self.row.current_ticket_id is None:
            return None
        return await repo.ticket_by_id(self.tx.conn, self.row.current_ticket_id, lock=True)

    async def set(self, **values: Any) -> None:
        await repo.update_counter(self.tx.conn, self.row.id, **values)
        self.row = await repo.counter_row(self.tx.conn, self.row.id)

    def emit_ticket(self, kind: EventKind, row: Any, **extra: Any) -> None:
        self.tx.emit(
            kind,
            ticket_event_data(row, self.tx.config, **extra),
            ticket_id=row.id,
            counter_id=self.row.id,
            staff_id=self.actor.id if self.actor.is_staff else None,
        )

    def emit_counter(self, kind: EventKind, **extra: Any) -> None:
        self.tx.emit(
            kind,
            {"counter": self.conf.number, "state": self.row.state, **extra},
            counter_id=self.row.id,
            staff_id=self.actor.id,
        )


Step = Callable[["At"], Awaitable[Any]]


async def _at_counter(
    app: Services, actor: Actor, branch_id: str, number: int, step: Step,
    expect: int | None | Unsaid = UNSAID,
) -> CounterResult:
    """Run ``step`` at counter ``number`` in one unit of work, as ``actor``.

    With ``expect`` (the ticket the sender believes is current, None for a free counter),
    a counter whose current ticket is another one changes nothing: :class:`Stale`, with
    the counter as it is, so that a repeated command never acts twice.

    Raises:
        NotFound: unknown branch or counter.
        Unauthenticated / Forbidden: not staff, or not this teller's counter.
        Stale: ``expect`` does not match; nothing changed.
        InvalidTransition: the action is not legal now; nothing changed.
    """
    require(actor, Action.OPERATE_COUNTER, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        conf = tx.config.counters.get(number)
        if conf is None:
            raise NotFound(f"no counter {number} in branch {branch_id!r}")
        row = await repo.counter_row(tx.conn, conf.id, lock=True)
        at = At(tx, actor, conf, row, expect)
        if expect is not UNSAID and row.current_ticket_id != expect:
            current = await at.current()
            now = f"ticket {current.number} is current" if current is not None else "no ticket is current"
            raise Stale(f"counter {number} has moved on: {now}; nothing was changed",
                        counter=(await _answer(at)).model_dump(mode="json"))
        ticket = await step(at)
        return CounterResult(
            counter=await _answer(at),
            ticket=ticket_answer(ticket, tx.config) if ticket is not None else None,
        )


async def _answer(at: At) -> CounterAnswer:
    """The counter as it is now in this unit of work."""
    staff = await repo.staff_names(at.tx.conn, [at.row.staff_id])
    return counter_answer(at.row, at.tx.config, staff=staff.get(at.row.staff_id), current=await at.current())


# --- the counter use cases: one typed handler each ---------------------------------------


async def open_counter(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """Open the counter under ``actor`` (a manager takes an open one over)."""
    return await _at_counter(app, actor, branch_id, number, _open, expect)


async def pause_counter(
    app: Services, actor: Actor, branch_id: str, number: int, cmd: PauseCounter | None = None
) -> CounterResult:
    """Pause the counter, with an optional reason."""
    expect = cmd.expected if cmd is not None else UNSAID
    return await _at_counter(app, actor, branch_id, number, lambda at: _pause(at, cmd), expect)


async def close_counter(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """Close the counter (nothing may be called or serving)."""
    return await _at_counter(app, actor, branch_id, number, _close, expect)


async def call_next(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """Finish the current ticket, then call the next by the counter's policy (ticket None: nobody)."""
    return await _at_counter(app, actor, branch_id, number, _call_next, expect)


async def call_ticket(
    app: Services, actor: Actor, branch_id: str, number: int, cmd: CallTicket
) -> CounterResult:
    """Call a chosen waiting ticket (its id or today's number)."""
    return await _at_counter(app, actor, branch_id, number, lambda at: _call(at, cmd), cmd.expected)


async def recall(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """Call the current ticket again."""
    return await _at_counter(app, actor, branch_id, number, _recall, expect)


async def no_show(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """The called customer did not come."""
    return await _at_counter(app, actor, branch_id, number, _no_show, expect)


async def start(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """Service of the current ticket has started."""
    return await _at_counter(app, actor, branch_id, number, _start, expect)


async def finish(
    app: Services, actor: Actor, branch_id: str, number: int, *, expect: int | None | Unsaid = UNSAID
) -> CounterResult:
    """Service of the current ticket is done."""
    return await _at_counter(app, actor, branch_id, number, _finish, expect)


async def transfer(
    app: Services, actor: Actor, branch_id: str, number: int, cmd: Transfer
) -> CounterResult:
    """Send the current ticket to a service or counter, first, last or at its original place."""
    return await _at_counter(app, actor, branch_id, number, lambda at: _transfer(at, cmd), cmd.expected)


def _require_holder(at: At) -> None:
    """A teller acts only at the counter they opened; managers anywhere in their branch."""
    if at.actor.role == "teller" and at.row.staff_id != at.actor.id:
        raise Forbidden(f"counter {at.conf.number} is not open under your name")


#: What to say when a counter cannot make a move from its state: (code, what to do).
_COUNTER_REFUSALS: dict[tuple[CounterState, CounterAction], tuple[str, str]] = {
    (CounterState.OPEN, CounterAction.OPEN): ("counter_already_open", "it is open already"),
    (CounterState.PAUSED, CounterAction.PAUSE): ("counter_paused", "it is paused already; resume it to go on"),
    (CounterState.CLOSED, CounterAction.PAUSE): ("counter_closed", "open it first"),
    (CounterState.CLOSED, CounterAction.CLOSE): ("counter_closed", "it is closed already"),
}


def _counter_move(at: At, action: CounterAction) -> CounterState:
    """The state ``action`` leads to, or a refusal naming the counter's state and what to do."""
    try:
        return counter_move(at.row.state, action)
    except InvalidTransition:
        state = CounterState(at.row.state)
        code, todo = _COUNTER_REFUSALS.get((state, action), ("invalid_transition", "not possible now"))
        raise InvalidTransition(f"counter {at.conf.number} is {state.value}: {todo}", code=code) from None


def _require_open(at: At) -> None:
    if at.row.state == CounterState.PAUSED:
        raise InvalidTransition(f"counter {at.conf.number} is paused: resume it first", code="counter_paused")
    if at.row.state != CounterState.OPEN:
        raise InvalidTransition(f"counter {at.conf.number} is closed: open it first", code="counter_closed")


async def _open(at: At) -> None:
    actor, row = at.actor, at.row
    if actor.role == "teller" and at.conf.number not in actor.counters:
        # An empty list means no counter, not every counter.
        raise Forbidden(f"you do not work at counter {at.conf.number}", code="not_your_counter")
    held_by_other = row.staff_id is not None and row.staff_id != actor.id
    if held_by_other and actor.role == "teller":
        holder = (await repo.staff_names(at.tx.conn, [row.staff_id])).get(row.staff_id)
        raise Conflict(f"counter {at.conf.number} is held by {holder}", code="counter_held")
    takeover = held_by_other and row.state != CounterState.CLOSED
    state = CounterState.OPEN if takeover else _counter_move(at, CounterAction.OPEN)
    await at.set(state=state, staff_id=actor.id, state_since=at.tx.now, pause_reason=None, pause_code=None)
    at.emit_counter(COUNTER_OPENED, staff=actor.name, takeover=takeover)


async def _pause(at: At, body: PauseCounter | None) -> None:
    _require_holder(at)
    state = _counter_move(at, CounterAction.PAUSE)
    reason = body.reason if body else None
    code = body.code if body else None
    await at.set(state=state, state_since=at.tx.now, pause_reason=reason, pause_code=code)
    at.emit_counter(COUNTER_PAUSED, code=code, reason=reason)


async def _close(at: At) -> None:
    _require_holder(at)
    state = _counter_move(at, CounterAction.CLOSE)
    current = await at.current()
    if current is not None:
        raise Conflict(
            f"counter {at.conf.number} has ticket {current.number} {current.state}: "
            "finish, no-show or transfer it before closing",
            code="counter_busy",
        )
    await at.set(state=state, staff_id=None, state_since=at.tx.now, pause_reason=None, pause_code=None)
    at.emit_counter(COUNTER_CLOSED)


async def _finish_current(at: At) -> Any | None:
    """Finish the ticket still called or serving here (call-next does this first)."""
    current = await at.current()
    if current is None:
        return None
    state = ticket_move(current.state, TicketAction.FINISH)
    began = current.started_at or current.called_at
    await repo.update_ticket(
        at.tx.conn,
        current.id,
        state=state,
        finished_at=at.tx.now,
        service_s=round((at.tx.now - began).total_seconds()),
    )
    await at.set(current_ticket_id=None)
    row = await repo.ticket_by_id(at.tx.conn, current.id)
    at.emit_ticket(TICKET_FINISHED, row)
    return row


async def _take(at: At, ticket_id: int) -> Any:
    """Call ``ticket_id`` (already locked and waiting) to this counter."""
    tx = at.tx
    row = await repo.ticket_by_id(tx.conn, ticket_id)
    state = ticket_move(row.state, TicketAction.CALL)
    first_call = (
        {"first_called_at": tx.now, "wait_s": round((tx.now - row.issued_at).total_seconds())}
        if row.first_called_at is None
        else {}
    )
    await repo.update_ticket(
        tx.conn,
        ticket_id,
        state=state,
        counter_id=at.row.id,
        staff_id=at.actor.id,
        called_at=tx.now,
        head=False,
        **first_call,
    )
    mark = "g" if row.priority == Priority.GREEN else "n"
    await at.set(
        current_ticket_id=ticket_id,
        recent_calls=(at.row.recent_calls + mark)[-RECENT_CALLS_KEPT:],
    )
    row = await repo.ticket_by_id(tx.conn, ticket_id)
    at.emit_ticket(TICKET_CALLED, row)
    await notifications.ticket_called(tx, row, at.conf.number)
    return row


def _recent(at: At) -> list[Priority]:
    return [Priority.GREEN if c == "g" else Priority.NORMAL for c in at.row.recent_calls]


async def _call_next(at: At) -> Any | None:
    _require_open(at)
    _require_holder(at)
    if at.expect is UNSAID:
        current = await at.current()
        called = repo.aware(current.called_at) if current is not None and current.called_at else None
        if current is not None and attendance.just_called(
            current.state, called, at.tx.now, window_s=at.tx.branch.just_called_s
        ):
            raise JustCalled(
                f"counter {at.conf.number} called ticket {current.number} moments ago and it has not "
                "started: nothing was changed (send expect to finish it and call the next)",
                counter=(await _answer(at)).model_dump(mode="json"),
            )
    await _finish_current(at)
    tx = at.tx
    service_ids = [tx.config.services[code].id for code in at.conf.services]
    policy = Policy(at.conf.profile(), tx.config.rules())
    _incident, stopped = await emergency.stopped_in(tx)
    tried: set[int] = set()
    per_queue, seen = 3, -1
    while True:
        rows = await repo.call_candidates(
            tx.conn, tx.branch.id, service_ids=service_ids, counter_id=at.conf.id, per_queue=per_queue
        )
        if not rows or len(rows) == seen:
            return None  # nothing waits, or every ticket left is being taken by other counters
        seen = len(rows)
        pool = [repo.to_candidate(r, tx.config) for r in rows if r.id not in tried]
        pool = [c for c in pool if c.service not in stopped]  # emergency mode: nothing new of its scope
        while (chosen := choose(pool, policy, recent=_recent(at), now=tx.now)) is not None:
            if await repo.lock_if_waiting(tx.conn, chosen.id):
                return await _take(at, chosen.id)
            pool.remove(chosen)  # another counter is taking it right now
            tried.add(chosen.id)
        per_queue *= 4  # every ticket fetched is being taken by other counters: look further


async def _call(at: At, body: CallTicket) -> Any:
    _require_open(at)
    _require_holder(at)
    tx = at.tx
    if isinstance(body.ticket, int):
        row = await repo.ticket_by_id(tx.conn, body.ticket)
    else:
        row = await repo.ticket_by_number(tx.conn, tx.branch.id, tx.today, body.ticket)
    if row is None or row.branch_id != tx.branch.id:
        raise NotFound(f"no ticket {body.ticket} in branch {tx.branch.id!r}")
    if row.state != TicketState.WAITING:
        raise InvalidTransition(f"ticket {row.number} is {row.state}, not waiting")
    if not candidates([repo.to_candidate(row, tx.config)], at.conf.profile()):
        raise Conflict(
            f"ticket {row.number} is not served at counter {at.conf.number}", code="not_served_here"
        )
    if tx.config.service_by_id(row.service_id).code in (await emergency.stopped_in(tx))[1]:
        raise Conflict(f"emergency mode: no new ticket of service {tx.config.service_by_id(row.service_id).code} "
                       "is called now (finish the tickets already called)", code="emergency")
    await _finish_current(at)
    if not await repo.lock_if_waiting(tx.conn, row.id):
        raise Conflict(f"ticket {row.number} was just called elsewhere", code="already_called")
    return await _take(at, row.id)


async def _current_or_refuse(at: At, action: TicketAction) -> Any:
    _require_holder(at)
    current = await at.current()
    if current is None:
        verb = action.value.replace("_", "-")
        raise InvalidTransition(
            f"no ticket is called at counter {at.conf.number}: nothing to {verb}; call one first",
            code="no_current_ticket",
        )
    return current


async def _recall(at: At) -> Any:
    current = await _current_or_refuse(at, TicketAction.RECALL)
    ticket_move(current.state, TicketAction.RECALL)
    await repo.update_ticket(at.tx.conn, current.id, recalls=current.recalls + 1)
    row = await repo.ticket_by_id(at.tx.conn, current.id)
    at.emit_ticket(TICKET_RECALLED, row)
    return row


async def _start(at: At) -> Any:
    current = await _current_or_refuse(at, TicketAction.START)
    state = ticket_move(current.state, TicketAction.START)
    await repo.update_ticket(at.tx.conn, current.id, state=state, started_at=at.tx.now)
    row = await repo.ticket_by_id(at.tx.conn, current.id)
    at.emit_ticket(TICKET_STARTED, row)
    return row


async def _finish(at: At) -> Any:
    await _current_or_refuse(at, TicketAction.FINISH)
    return await _finish_current(at)


async def _no_show(at: At) -> Any:
    current = await _current_or_refuse(at, TicketAction.NO_SHOW)
    state = ticket_move(current.state, TicketAction.NO_SHOW)
    await repo.update_ticket(at.tx.conn, current.id, state=state, finished_at=at.tx.now)
    await at.set(current_ticket_id=None)
    row = await repo.ticket_by_id(at.tx.conn, current.id)
    at.emit_ticket(TICKET_NO_SHOW, row)
    return row


async def _transfer(at: At, body: Transfer) -> Any:
    current = await _current_or_refuse(at, TicketAction.TRANSFER)
    state = ticket_move(current.state, TicketAction.TRANSFER)
    tx = at.tx
    values: dict[str, Any] = {"state": state, "transfers": current.transfers + 1}
    if body.service is not None:
        service = tx.config.service(body.service)
        if service is None:
            raise NotFound(f"no service {body.service!r} in branch {tx.branch.id!r}")
        if not service.active:
            raise Conflict(f"service {service.code} is suspended", code="suspended")
        values |= {"service_id": service.id, "target_counter_id": None}
        target: dict[str, str | int] = {"service": service.code}
    else:
        # Transfer's validator makes sure a counter is given when no service is.
        conf = tx.config.counters.get(body.counter)  # type: ignore[arg-type]
        if conf is None:
            raise NotFound(f"no counter {body.counter} in branch {tx.branch.id!r}")
        if conf.id == at.conf.id:
            raise InvalidInput("a ticket cannot be transferred to the counter it is at")
        values |= {"target_counter_id": conf.id}
        target = {"to_counter": conf.number}
    values |= queue_position(body.position, now=tx.now, issued_at=repo.aware(current.issued_at))
    values |= {"called_at": None, "started_at": None, "counter_id": None}
    await repo.update_ticket(tx.conn, current.id, **values)
    await at.set(current_ticket_id=None)
    row = await repo.ticket_by_id(tx.conn, current.id)
    at.emit_ticket(
        TICKET_TRANSFERRED,
        row,
        from_counter=at.conf.number,
        position=body.position.value,
        **target,
    )
    await notifications.ticket_transferred(tx, row, to_counter=body.counter if body.service is None else None)
    return row


# --- a counter nobody attends: its teller signed out, or is gone ------------------------------

SIGNED_OUT = "signed out"
GONE = "teller gone"


async def _put_back(at: At, current: Any) -> Any:
    """A customer called here, not started, goes back to the head of their queue (keeping
    their number, service and any counter they were sent to); screens see a transfer "first"."""
    state = ticket_move(current.state, TicketAction.TRANSFER)
    await repo.update_ticket(
        at.tx.conn, current.id, state=state, head=True, queued_at=at.tx.now,
        called_at=None, started_at=None, counter_id=None,
    )
    await at.set(current_ticket_id=None)
    row = await repo.ticket_by_id(at.tx.conn, current.id)
    at.emit_ticket(TICKET_TRANSFERRED, row, from_counter=at.conf.number, position="first")
    return row


async def _leave(at: At, why: str) -> None:
    """Nobody is at the counter any more: a called customer goes back to the head of the queue
    (so the board stops showing the call), and the counter pauses with code ``system``. A
    customer already being served stays with the counter, for its teller or a manager."""
    current = await at.current()
    if current is not None and current.state == TicketState.CALLED:
        await _put_back(at, current)
    if at.row.state not in (CounterState.OPEN, CounterState.PAUSED):
        return
    if at.row.state == CounterState.PAUSED and at.row.pause_code == attendance.SYSTEM:
        return
    await at.set(state=CounterState.PAUSED, state_since=at.tx.now, pause_reason=why, pause_code=attendance.SYSTEM)
    at.emit_counter(COUNTER_PAUSED, code=attendance.SYSTEM, reason=why)


async def leave_counters(tx: BranchTx, holder: Actor, why: str = SIGNED_OUT) -> list[int]:
    """Leave every counter ``holder`` holds in ``tx``'s branch, in the caller's unit of work
    (sign-out ends the session in the same one); the counter numbers."""
    left = []
    for _branch, counter in await held.held_counters(tx.conn, staff_id=holder.id, branch_id=tx.branch.id):
        conf = tx.config.counters.get(counter.number)
        row = await repo.counter_row(tx.conn, counter.id, lock=True)
        if conf is None or row.staff_id != holder.id:
            continue
        await _leave(At(tx, holder, conf, row), why)
        left.append(counter.number)
    return left


async def pause_abandoned(app: Services, *, after_s: float) -> list[tuple[str, int]]:
    """Pause (code ``system``) every counter whose holder has not been seen for ``after_s``,
    putting a called customer back at the head of the queue (:mod:`server.domain.attendance`);
    the (branch, counter) pairs left. Safe on several processes at once: each branch is judged
    again inside its unit of work, with the counter rows locked."""
    after = timedelta(seconds=after_s)
    now = app.clock()
    async with app.db.read() as conn:
        found = await held.held_counters(conn)
        seen = await held.last_seen(conn, [c.staff_id for _b, c in found], now)
    gone = {c.id for c in attendance.abandoned([c for _b, c in found], seen, now, after=after)}
    left: list[tuple[str, int]] = []
    for branch_id in sorted({b for b, c in found if c.id in gone}):
        async with app.unit_of_work(branch_id) as tx:
            rows = [c for _b, c in await held.held_counters(tx.conn, branch_id=branch_id)]
            seen = await held.last_seen(tx.conn, [c.staff_id for c in rows], tx.now)
            for counter in attendance.abandoned(rows, seen, tx.now, after=after):
                conf = tx.config.counters.get(counter.number)
                row = await repo.counter_row(tx.conn, counter.id, lock=True)
                if conf is None or row.staff_id != counter.staff_id or row.state != counter.state:
                    continue  # changed since it was read
                await _leave(At(tx, Actor("staff", counter.staff_id), conf, row), GONE)
                left.append((branch_id, counter.number))
    return left


async def counter_view(app: Services, actor: Actor, branch_id: str, number: int) -> CounterResult:
    """A counter as its teller sees it: state, holder, current ticket, the teller's day so far."""
    require(actor, Action.READ_QUEUE, branch_id)
    async with app.reading(branch_id) as (conn, _branch, config):
        conf = config.counters.get(number)
        if conf is None:
            raise NotFound(f"no counter {number} in branch {branch_id!r}")
        row = await repo.counter_row(conn, conf.id)
        current = (
            await repo.ticket_by_id(conn, row.current_ticket_id) if row.current_ticket_id else None
        )
        staff = await repo.staff_names(conn, [row.staff_id])
        today = None
        if row.staff_id is not None:
            served, average = await repo.staff_today(
                conn, row.staff_id, branch_id, business_date(app.clock(), _branch.timezone)
            )
            today = TellerToday(served=served, average_service_s=average)
        return CounterResult(
            counter=counter_answer(row, config, staff=staff.get(row.staff_id), current=current),
            ticket=None,
            today=today,
        )


async def list_counters(app: Services, actor: Actor, branch_id: str) -> list[CounterListEntry]:
    """Every counter of the branch, and which ones the asking teller may open."""
    require(actor, Action.READ_QUEUE, branch_id)
    async with app.reading(branch_id) as (conn, _branch, config):
        rows = await repo.counter_rows(conn, branch_id)
        staff = await repo.staff_names(conn, [r.staff_id for r in rows])
    return [
        CounterListEntry(
            number=row.number,
            names=config.counters[row.number].names,
            state=row.state,
            staff=staff.get(row.staff_id),
            services=list(config.counters[row.number].services),
            green_only=config.counters[row.number].green_only,
            mine=actor.role != "teller" or row.number in actor.counters,
        )
        for row in rows
    ]
