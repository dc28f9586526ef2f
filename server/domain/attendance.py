"""Is anyone at the counter? The rules for a double press and for a teller who has gone.

Two rules, each a pure function of what the store knows, with the time as an argument:

1. **Just called** (:func:`just_called`). A call-next sent without ``expect`` while the
   counter's ticket was called less than :data:`JUST_CALLED_S` ago and not started is a
   second press of the same key, not "the customer is done": it changes nothing (409
   ``just_called``). A ticket being served, or one called longer ago, is finished by
   call-next as before; a command with ``expect`` is judged by ``expect`` alone.
2. **Abandoned** (:func:`abandoned`). A counter open or paused whose holder has not been
   seen (no session of theirs in force with a request, a websocket command or an open
   staff socket) for ``after`` is unattended: the server pauses it with code ``system``
   and puts a called customer back at the head of their queue. A counter already paused
   with code ``system`` and with nobody called needs nothing more. A counter that
   changed state within ``after`` was just acted on, so it is not abandoned either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import CounterState, TicketState

#: How long after a call a call-next without ``expect`` counts as a second press, unless the
#: branch sets its own (``just_called_s``, 1–30 s).
JUST_CALLED_S = 3.0
#: The pause code the server itself gives a counter whose teller has gone.
SYSTEM = "system"


def just_called(
    ticket_state: TicketState | str | None, called_at: datetime | None, now: datetime,
    *, window_s: float = JUST_CALLED_S,
) -> bool:
    """Whether a call-next without ``expect`` now would finish a customer called a moment ago."""
    if ticket_state != TicketState.CALLED or called_at is None:
        return False
    return timedelta(0) <= now - called_at < timedelta(seconds=window_s)


@dataclass(frozen=True, slots=True)
class HeldCounter:
    """A counter held by a staff member, as the abandoned rule needs it."""

    id: int
    number: int
    state: CounterState | str
    staff_id: int
    state_since: datetime | None
    pause_code: str | None = None
    ticket_state: TicketState | str | None = None
    """The state of its current ticket (None: no ticket)."""


def needs_leaving(counter: HeldCounter) -> bool:
    """Whether an unattended counter still has something to undo: open, not yet paused by
    the system, or a customer called to it."""
    if counter.state == CounterState.OPEN:
        return True
    if counter.state != CounterState.PAUSED:
        return False
    return counter.pause_code != SYSTEM or counter.ticket_state == TicketState.CALLED


def abandoned(
    counters: Iterable[HeldCounter], last_seen: Mapping[int, datetime | None], now: datetime,
    *, after: timedelta,
) -> list[HeldCounter]:
    """The counters whose holder has been gone ``after`` or longer, with something to undo.

    Args:
        counters: counters with a holder (``staff_id``).
        last_seen: each holder's latest ``last_seen_at`` over their sessions in force; a
            holder missing or None has no session at all.
        now: the time to judge at.
        after: how long unseen makes a counter abandoned.
    """
    gone: list[HeldCounter] = []
    for counter in counters:
        if not needs_leaving(counter):
            continue
        seen = [t for t in (last_seen.get(counter.staff_id), counter.state_since) if t is not None]
        if seen and now - max(seen) < after:
            continue
        gone.append(counter)
    return gone
