"""Ticket and counter lifecycles, as tables of allowed moves.

The store keeps the rows; these functions decide whether a move is legal and
what state it leads to, so every rule lives in one pure place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from . import events
from .errors import InvalidTransition


class TicketState(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    GREEN = "green"


class GreenReason(enum.StrEnum):
    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    URGENT = "urgent"


class TransferPosition(enum.StrEnum):
    FIRST = "first"
    LAST = "last"
    ORIGINAL = "original"


class CounterMode(enum.StrEnum):
    ORDERED = "ordered"
    LONGEST_WAIT = "longest_wait"


class CounterState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class TicketAction(enum.StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    TRANSFER = "transfer"
    REQUEUE = "requeue"
    CANCEL = "cancel"
    EXPIRE = "expire"


class CounterAction(enum.StrEnum):
    OPEN = "open"
    PAUSE = "pause"
    CLOSE = "close"


#: Which ticket actions are legal from which state, and where they lead.
TICKET_MOVES: dict[tuple[TicketState, TicketAction], TicketState] = {
    (TicketState.WAITING, TicketAction.CALL): TicketState.CALLED,
    (TicketState.WAITING, TicketAction.CANCEL): TicketState.CANCELLED,
    (TicketState.WAITING, TicketAction.EXPIRE): TicketState.EXPIRED,
    (TicketState.CALLED, TicketAction.RECALL): TicketState.CALLED,
    (TicketState.CALLED, TicketAction.START): TicketState.SERVING,
    (TicketState.CALLED, TicketAction.FINISH): TicketState.DONE,
    (TicketState.CALLED, TicketAction.NO_SHOW): TicketState.NO_SHOW,
    (TicketState.CALLED, TicketAction.TRANSFER): TicketState.WAITING,
    (TicketState.CALLED, TicketAction.EXPIRE): TicketState.EXPIRED,
    (TicketState.SERVING, TicketAction.FINISH): TicketState.DONE,
    (TicketState.SERVING, TicketAction.TRANSFER): TicketState.WAITING,
    (TicketState.NO_SHOW, TicketAction.REQUEUE): TicketState.WAITING,
}

#: Event kind written for each ticket action (DESIGN: realtime protocol).
TICKET_EVENT_KIND: dict[TicketAction, str] = {
    TicketAction.CALL: events.TICKET_CALLED.name,
    TicketAction.RECALL: events.TICKET_RECALLED.name,
    TicketAction.START: events.TICKET_STARTED.name,
    TicketAction.FINISH: events.TICKET_FINISHED.name,
    TicketAction.NO_SHOW: events.TICKET_NO_SHOW.name,
    TicketAction.TRANSFER: events.TICKET_TRANSFERRED.name,
    TicketAction.REQUEUE: events.TICKET_REQUEUED.name,
    TicketAction.CANCEL: events.TICKET_CANCELLED.name,
    TicketAction.EXPIRE: events.TICKET_EXPIRED.name,
}

COUNTER_MOVES: dict[tuple[CounterState, CounterAction], CounterState] = {
    (CounterState.CLOSED, CounterAction.OPEN): CounterState.OPEN,
    (CounterState.PAUSED, CounterAction.OPEN): CounterState.OPEN,
    (CounterState.OPEN, CounterAction.PAUSE): CounterState.PAUSED,
    (CounterState.OPEN, CounterAction.CLOSE): CounterState.CLOSED,
    (CounterState.PAUSED, CounterAction.CLOSE): CounterState.CLOSED,
}

COUNTER_EVENT_KIND: dict[CounterAction, str] = {
    CounterAction.OPEN: events.COUNTER_OPENED.name,
    CounterAction.PAUSE: events.COUNTER_PAUSED.name,
    CounterAction.CLOSE: events.COUNTER_CLOSED.name,
}

#: States a ticket never leaves.
FINAL_STATES = frozenset(
    {TicketState.DONE, TicketState.CANCELLED, TicketState.EXPIRED}
)


def ticket_move(state: TicketState | str, action: TicketAction) -> TicketState:
    """Return the state ``action`` leads to from ``state``.

    Raises:
        InvalidTransition: the move is not allowed; nothing should change.
    """
    state = TicketState(state)
    try:
        return TICKET_MOVES[(state, action)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value.replace('_', '-')} a ticket that is {state.value}"
        ) from None


def counter_move(state: CounterState | str, action: CounterAction) -> CounterState:
    """Return the counter state ``action`` leads to from ``state``.

    Raises:
        InvalidTransition: e.g. pausing a closed counter.
    """
    state = CounterState(state)
    try:
        return COUNTER_MOVES[(state, action)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value} a counter that is {state.value}"
        ) from None


@dataclass(frozen=True, slots=True)
class GreenRatio:
    """Calls of each class in one cycle when both classes wait, e.g. 1 green : 2 normal."""

    green: int
    normal: int

    def __post_init__(self) -> None:
        if self.green < 1 or self.normal < 1:
            raise ValueError("a green ratio needs at least one call of each class")

    @classmethod
    def parse(cls, text: str) -> GreenRatio:
        """Parse ``"1:2"``; raises ValueError on anything else."""
        green, _, normal = text.partition(":")
        return cls(int(green), int(normal))

    def __str__(self) -> str:
        return f"{self.green}:{self.normal}"
