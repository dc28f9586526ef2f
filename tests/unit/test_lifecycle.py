"""Ticket and counter lifecycles (DESIGN.md, "Domain"), checked over every (state, action) pair.

The expected tables are written out here on purpose, independently of
``TICKET_MOVES``/``COUNTER_MOVES``, so a change to the model's tables shows up as a failing test.
"""

from __future__ import annotations

import itertools

import pytest

from server.domain.errors import Conflict, InvalidTransition
from server.domain.model import (
    COUNTER_EVENT_KIND,
    FINAL_STATES,
    TICKET_EVENT_KIND,
    CounterAction,
    CounterState,
    GreenRatio,
    TicketAction,
    TicketState,
    counter_move,
    ticket_move,
)

W, C, S = TicketState.WAITING, TicketState.CALLED, TicketState.SERVING
DONE, NS = TicketState.DONE, TicketState.NO_SHOW
CANCELLED, EXPIRED = TicketState.CANCELLED, TicketState.EXPIRED

#: The diagram in DESIGN.md, plus "called → finish → done" (start is optional), transfer of a
#: called ticket (the teller may send it on without pressing start) and "day closes" also
#: expiring a ticket that was called but never started.
ALLOWED_TICKET_MOVES = {
    (W, TicketAction.CALL): C,
    (W, TicketAction.CANCEL): CANCELLED,
    (W, TicketAction.EXPIRE): EXPIRED,
    (C, TicketAction.RECALL): C,
    (C, TicketAction.START): S,
    (C, TicketAction.FINISH): DONE,
    (C, TicketAction.NO_SHOW): NS,
    (C, TicketAction.TRANSFER): W,
    (C, TicketAction.EXPIRE): EXPIRED,
    (S, TicketAction.FINISH): DONE,
    (S, TicketAction.TRANSFER): W,
    (NS, TicketAction.REQUEUE): W,
}

ALL_TICKET_PAIRS = list(itertools.product(TicketState, TicketAction))
REFUSED_TICKET_PAIRS = [p for p in ALL_TICKET_PAIRS if p not in ALLOWED_TICKET_MOVES]


def _pair_id(pair) -> str:
    state, action = pair
    return f"{state.value}-{action.value}"


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [(s, a, to) for (s, a), to in ALLOWED_TICKET_MOVES.items()],
    ids=[_pair_id(p) for p in ALLOWED_TICKET_MOVES],
)
def test_allowed_ticket_move_leads_to_the_right_state(state, action, expected):
    assert ticket_move(state, action) is expected


@pytest.mark.parametrize(
    ("state", "action"), REFUSED_TICKET_PAIRS, ids=[_pair_id(p) for p in REFUSED_TICKET_PAIRS]
)
def test_every_other_ticket_move_is_refused_as_invalid_transition(state, action):
    with pytest.raises(InvalidTransition) as info:
        ticket_move(state, action)
    err = info.value
    assert isinstance(err, Conflict)
    assert err.code == "invalid_transition"
    # a clear message naming the move and the state it was refused in
    assert state.value in err.message
    assert action.value.replace("_", "-") in err.message


def test_every_pair_is_either_allowed_or_refused():
    assert len(ALL_TICKET_PAIRS) == len(TicketState) * len(TicketAction)
    assert len(ALLOWED_TICKET_MOVES) + len(REFUSED_TICKET_PAIRS) == len(ALL_TICKET_PAIRS)


def test_ticket_move_accepts_the_stored_string_state():
    assert ticket_move("waiting", TicketAction.CALL) is TicketState.CALLED
    with pytest.raises(InvalidTransition):
        ticket_move("done", TicketAction.CALL)


@pytest.mark.parametrize("state", sorted(FINAL_STATES), ids=str)
def test_a_final_ticket_never_moves_again(state):
    for action in TicketAction:
        with pytest.raises(InvalidTransition):
            ticket_move(state, action)


def test_final_states_are_done_cancelled_and_expired():
    assert FINAL_STATES == {DONE, CANCELLED, EXPIRED}


def test_every_ticket_action_has_an_event_kind():
    assert set(TICKET_EVENT_KIND) == set(TicketAction)
    assert TICKET_EVENT_KIND[TicketAction.CALL] == "ticket.called"
    assert TICKET_EVENT_KIND[TicketAction.NO_SHOW] == "ticket.no_show"


# --- counters ---------------------------------------------------------------------------------

ALLOWED_COUNTER_MOVES = {
    (CounterState.CLOSED, CounterAction.OPEN): CounterState.OPEN,
    (CounterState.PAUSED, CounterAction.OPEN): CounterState.OPEN,
    (CounterState.OPEN, CounterAction.PAUSE): CounterState.PAUSED,
    (CounterState.OPEN, CounterAction.CLOSE): CounterState.CLOSED,
    (CounterState.PAUSED, CounterAction.CLOSE): CounterState.CLOSED,
}
ALL_COUNTER_PAIRS = list(itertools.product(CounterState, CounterAction))
REFUSED_COUNTER_PAIRS = [p for p in ALL_COUNTER_PAIRS if p not in ALLOWED_COUNTER_MOVES]


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [(s, a, to) for (s, a), to in ALLOWED_COUNTER_MOVES.items()],
    ids=[_pair_id(p) for p in ALLOWED_COUNTER_MOVES],
)
def test_allowed_counter_move_leads_to_the_right_state(state, action, expected):
    assert counter_move(state, action) is expected


@pytest.mark.parametrize(
    ("state", "action"), REFUSED_COUNTER_PAIRS, ids=[_pair_id(p) for p in REFUSED_COUNTER_PAIRS]
)
def test_every_other_counter_move_is_refused_as_invalid_transition(state, action):
    # e.g. pausing a closed counter, opening an open one, closing a closed one
    with pytest.raises(InvalidTransition) as info:
        counter_move(state, action)
    assert isinstance(info.value, Conflict)
    assert state.value in info.value.message
    assert action.value in info.value.message


def test_counter_move_accepts_the_stored_string_state():
    assert counter_move("closed", CounterAction.OPEN) is CounterState.OPEN


def test_every_counter_action_has_an_event_kind():
    assert set(COUNTER_EVENT_KIND) == set(CounterAction)


# --- green ratio ------------------------------------------------------------------------------


def test_green_ratio_parses_one_green_to_two_normal():
    ratio = GreenRatio.parse("1:2")
    assert ratio == GreenRatio(green=1, normal=2)
    assert str(ratio) == "1:2"


@pytest.mark.parametrize("text", ["2:1", "3:5", "1:1"])
def test_green_ratio_round_trips_through_text(text):
    assert str(GreenRatio.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    ["", "1", "1:", ":2", "0:1", "1:0", "0:0", "-1:2", "1:-2", "a:b", "1:2:3", "1.5:2", "1/2"],
)
def test_bad_green_ratio_is_a_value_error(text):
    with pytest.raises(ValueError):
        GreenRatio.parse(text)


@pytest.mark.parametrize(("green", "normal"), [(0, 1), (1, 0), (-1, 3)])
def test_green_ratio_needs_at_least_one_call_of_each_class(green, normal):
    with pytest.raises(ValueError):
        GreenRatio(green, normal)
