"""Wait estimates at issue (DESIGN.md, end of "Call-next policy"): people ahead and seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.estimation import (
    RECENT_SERVICES,
    ahead_of_each,
    ahead_of_new_ticket,
    estimate_wait_seconds,
    people_ahead,
    typical_service_seconds,
)
from server.domain.model import Priority
from server.domain.policy import Candidate, ServiceRule

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=60)
N, G = Priority.NORMAL, Priority.GREEN


def t(id, service, minute, priority=N, *, head=False, counter=None) -> Candidate:
    return Candidate(
        id, service, priority, T0 + timedelta(minutes=minute), head=head, counter=counter
    )


QUEUE = [
    t(1, "A", 0),
    t(2, "A", 10, G),
    t(3, "A", 20),
    t(4, "A", 30, G),
    t(5, "B", 0),
    t(6, "A", 5, counter=2),  # sent to counter 2: not in service A's queue
    t(7, "B", 1, G),
    t(8, "C", -30, G),
]
BY_ID = {c.id: c for c in QUEUE}


@pytest.mark.parametrize(
    ("ticket_id", "expected"),
    [
        pytest.param(3, 3, id="normal-behind-earlier-normal-and-every-green"),
        pytest.param(1, 2, id="first-normal-behind-later-greens"),
        pytest.param(2, 0, id="first-green"),
        pytest.param(4, 1, id="green-behind-earlier-green-only"),
        pytest.param(5, 1, id="other-service-queue"),
        pytest.param(7, 0, id="green-of-other-service"),
    ],
)
def test_people_ahead_counts_only_the_tickets_called_first_in_the_same_service(
    ticket_id, expected
):
    assert people_ahead(BY_ID[ticket_id], QUEUE, now=NOW) == expected


def test_tickets_of_other_services_and_tickets_sent_to_a_counter_do_not_count():
    ticket = t(9, "A", 59)  # a new normal ticket of A
    others = [t(5, "B", 0), t(7, "B", 1, G), t(8, "C", -30, G), t(6, "A", 5, counter=2)]
    assert people_ahead(ticket, others, now=NOW) == 0
    assert people_ahead(ticket, QUEUE, now=NOW) == 4  # 1, 2, 3, 4 of A's queue


@pytest.mark.parametrize("max_wait", [None, timedelta(minutes=45)])
def test_the_ahead_of_every_ticket_at_once_is_each_ones_people_ahead(max_wait):
    queue = QUEUE + [t(9, "A", 40, head=True), t(10, "A", -20)]
    rules = {"A": ServiceRule(max_wait=max_wait)} if max_wait else None
    each = ahead_of_each(queue, rules=rules, now=NOW)
    expected = {c.id: people_ahead(c, queue, rules=rules, now=NOW) for c in queue if c.counter is None}
    assert each == expected and 6 not in each


def test_ticket_does_not_count_itself():
    alone = t(1, "A", 0)
    assert people_ahead(alone, [alone], now=NOW) == 0


def test_ticket_transferred_to_the_head_is_ahead_of_older_normal_tickets_but_not_greens():
    head = t(9, "A", 40, head=True)
    queue = QUEUE + [head]
    assert people_ahead(BY_ID[1], queue, now=NOW) == 3  # greens 2 and 4, then the head
    assert people_ahead(head, queue, now=NOW) == 2
    assert people_ahead(BY_ID[2], queue, now=NOW) == 0


@pytest.mark.parametrize(
    ("ticket_id", "expected"),
    [
        pytest.param(1, 0, id="overdue-normal-first-even-before-greens"),
        pytest.param(4, 1, id="overdue-green-behind-longer-waiting-overdue-normal"),
        pytest.param(2, 2, id="green-behind-overdue-tickets"),
        pytest.param(3, 3, id="green-behind-overdue-and-earlier-green"),
        pytest.param(5, 4, id="normal-not-overdue-behind-everyone"),
    ],
)
def test_overdue_tickets_count_first(ticket_id, expected):
    queue = [
        t(1, "A", 0),  # 60 minutes: overdue
        t(4, "A", 20, G),  # 40 minutes: overdue, and green
        t(2, "A", 50, G),
        t(3, "A", 55, G),
        t(5, "A", 45),  # 15 minutes: not yet
    ]
    rules = {"A": ServiceRule(max_wait=timedelta(minutes=30))}
    ticket = next(c for c in queue if c.id == ticket_id)
    assert people_ahead(ticket, queue, rules=rules, now=NOW) == expected


def test_max_wait_of_another_service_does_not_reorder_this_one():
    rules = {"B": ServiceRule(max_wait=timedelta(minutes=1))}
    assert people_ahead(BY_ID[1], QUEUE, rules=rules, now=NOW) == 2


@pytest.mark.parametrize(
    ("priority", "expected"),
    [(N, 4), (G, 2)],
)
def test_ahead_of_new_ticket_agrees_with_people_ahead_for_the_newest_ticket(priority, expected):
    newest = t(99, "A", 59, priority)
    assert people_ahead(newest, QUEUE, now=NOW) == expected
    assert ahead_of_new_ticket(priority, waiting_green=2, waiting_normal=2) == expected


# --- typical service time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "expected"),
    [
        pytest.param([120.0], 120.0, id="one"),
        pytest.param([300.0, 60.0, 90.0], 90.0, id="median-odd"),
        pytest.param([60.0, 100.0, 200.0, 1000.0], 150.0, id="median-even"),
        pytest.param([60.0, 60.0, 3600.0], 60.0, id="outlier-does-not-move-the-median"),
    ],
)
def test_typical_service_time_is_the_median(recent, expected):
    assert typical_service_seconds(recent, default=180.0) == expected


def test_typical_service_time_falls_back_to_the_default_with_no_history():
    assert typical_service_seconds([], default=180.0) == 180.0


def test_typical_service_time_uses_only_the_most_recent_twenty():
    assert RECENT_SERVICES == 20
    # oldest first: 30 slow services long ago, then the 20 latest at one minute each
    recent = [900.0] * 30 + [60.0] * 20
    assert typical_service_seconds(recent, default=180.0) == 60.0
    # with 21, the oldest one drops out
    assert typical_service_seconds([5000.0] + [100.0] * 10 + [200.0] * 10, default=1) == 150.0


# --- estimated wait ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "typical", "open_counters", "expected"),
    [
        pytest.param(6, 120.0, 3, 240, id="six-ahead-two-minutes-three-counters"),
        pytest.param(5, 90.0, 1, 450, id="one-counter"),
        pytest.param(0, 120.0, 2, 0, id="nobody-ahead"),
        pytest.param(1, 100.0, 3, 33, id="whole-seconds"),
    ],
)
def test_estimated_wait_is_ahead_times_typical_over_open_counters(
    ahead, typical, open_counters, expected
):
    result = estimate_wait_seconds(ahead, typical_service_s=typical, open_counters=open_counters)
    assert result == expected
    assert isinstance(result, int)


@pytest.mark.parametrize("ahead", [0, 3])
def test_with_no_counter_open_there_is_no_estimate_not_a_zero_wait(ahead):
    assert estimate_wait_seconds(ahead, typical_service_s=100.0, open_counters=0) is None
