"""The rules of server.domain.attendance, one table each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.attendance import HeldCounter, abandoned, just_called

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
AFTER = timedelta(seconds=300)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "ticket_state,called_s_ago,second_press",
    [
        ("called", 0, True),
        ("called", 2.9, True),
        ("called", 3, False),  # long enough: the customer may have come and gone
        ("serving", 0.5, False),  # started: call-next finishes them, as ever
        (None, None, False),  # nobody at the counter
        ("called", -1, False),  # a clock that went back never blocks the key
    ],
)
def test_a_call_next_moments_after_a_call_not_started_is_a_second_press(ticket_state, called_s_ago, second_press):
    called_at = ago(called_s_ago) if called_s_ago is not None else None
    assert just_called(ticket_state, called_at, NOW) is second_press


def held(state="open", *, since_s=3600, code=None, ticket=None, staff=7) -> HeldCounter:
    return HeldCounter(id=1, number=3, state=state, staff_id=staff, state_since=ago(since_s),
                       pause_code=code, ticket_state=ticket)


@pytest.mark.parametrize(
    "counter,seen_s_ago,gone",
    [
        pytest.param(held(), 299, False, id="seen-within-the-time"),
        pytest.param(held(), 300, True, id="unseen-for-the-time"),
        pytest.param(held(), None, True, id="no-session-in-force"),
        pytest.param(held(since_s=10), None, False, id="just-opened"),
        pytest.param(held("paused", code="meal"), 600, True, id="paused-for-a-meal-and-gone"),
        pytest.param(held("paused", code="system"), 600, False, id="already-left"),
        pytest.param(held("paused", code="system", ticket="called"), 600, True, id="left-with-a-call"),
        pytest.param(held("paused", code="system", ticket="serving"), 600, False, id="left-while-serving"),
        pytest.param(held("closed"), 600, False, id="closed"),
        pytest.param(held(ticket="serving"), 600, True, id="open-while-serving"),
    ],
)
def test_a_counter_is_abandoned_when_its_holder_has_not_been_seen_for_the_time(counter, seen_s_ago, gone):
    last_seen = {7: ago(seen_s_ago)} if seen_s_ago is not None else {}
    assert (abandoned([counter], last_seen, NOW, after=AFTER) == [counter]) is gone


def test_each_holder_is_judged_by_their_own_last_seen():
    mine, yours = held(staff=7), held(staff=8)
    assert abandoned([mine, yours], {7: ago(10), 8: ago(900)}, NOW, after=AFTER) == [yours]
