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


# --- the projection: call-next played forward -------------------------------------------------

from server.domain.estimation import (  # noqa: E402
    MIN_REMAINING_SHARE,
    OpenCounter,
    expected_service_seconds,
    projected_wait,
    remaining_seconds,
)
from server.domain.policy import Profile  # noqa: E402

SERVICE_S = {"A": 240.0, "B": 300.0, "C": 600.0}


def c(number, *services, busy=0.0, green_only=False) -> OpenCounter:
    return OpenCounter(Profile(number, tuple(services), green_only=green_only), busy)


def wait(me, queue, counters, **kw):
    return projected_wait(me, queue, counters, SERVICE_S, now=NOW, **kw)


@pytest.mark.parametrize(
    ("me", "queue", "counters", "seconds", "why"),
    [
        (t(9, "A", 50), [t(1, "A", 0), t(3, "A", 20)], [c(1, "A")], 480, "two ahead × 240 s at one counter"),
        (t(9, "A", 50), [t(1, "A", 0), t(3, "A", 20)], [c(1, "A"), c(2, "A")], 240, "two counters take the two"),
        (t(9, "A", 50), [], [c(1, "A", busy=100)], 100, "called when the busy counter frees"),
        (t(9, "A", 50, G), [t(1, "A", 0), t(3, "A", 20)], [c(1, "A")], 0, "green first"),
        (t(9, "A", 50), [t(1, "A", 0), t(5, "B", 40)], [c(1, "B", "A")], 540,
         "a counter serving B first takes the B ticket, then the older A"),
        (t(9, "A", 50), [t(5, "B", 40)], [c(1, "B", "A"), c(2, "A")], 0, "the counter serving A alone is free"),
        (t(9, "A", 50), [t(6, "A", 5, counter=2)], [c(2, "A")], 240, "a ticket sent to the counter goes first"),
        (t(9, "A", 50), [t(1, "A", 0, head=False), t(3, "A", 20, head=True)], [c(1, "A")], 480,
         "a transfer to the head is ahead too"),
        (t(9, "C", 50), [t(1, "A", 0)], [c(1, "A"), c(2, "A")], None, "nobody serves C"),
        (t(9, "A", 50), [t(4, "A", 30, G)], [c(1, "A", "B", green_only=True), c(2, "A")], 0,
         "the green-only counter takes the green, the other the normal"),
    ],
)
def test_projected_wait_plays_the_policy_forward(me, queue, counters, seconds, why) -> None:
    assert wait(me, queue, counters) == seconds, why


def test_expected_arrivals_before_the_ticket_lengthen_its_wait() -> None:
    me, queue, counters = t(9, "A", 50), [t(1, "A", 0)], [c(1, "B", "A")]
    alone = wait(me, queue, counters)
    with_b = wait(me, queue, counters, arrivals_per_s={("B", N): 1 / 200})
    assert alone == 240 and with_b is not None and with_b > alone  # B customers still to come go first there
    greens = wait(me, queue, [c(1, "A")], arrivals_per_s={("A", G): 1 / 100})
    later_normals = wait(me, queue, [c(1, "A")], arrivals_per_s={("A", N): 1 / 100})
    assert greens is not None and greens > 240  # a green customer arriving later is called first
    assert later_normals == 240  # later normal customers are behind


def test_the_max_wait_override_is_in_the_projection() -> None:
    rules = {"A": ServiceRule(max_wait=timedelta(minutes=30))}
    me = t(9, "A", 0)  # waiting 60 minutes: overdue
    queue = [t(2, "A", 10, G), t(4, "A", 30, G)]
    assert wait(me, queue, [c(1, "A")]) == 480
    assert wait(me, queue, [c(1, "A")], rules=rules) == 0


def test_expected_service_time_is_a_clipped_mean() -> None:
    skewed = [100.0] * 15 + [400.0] * 5  # a few long services: the queue drains at the mean, 175 s
    assert expected_service_seconds(skewed, 240) == pytest.approx(175)  # not the median, 100 s
    one_forgotten = [200.0] * 39 + [9000.0]
    assert expected_service_seconds(one_forgotten, 240) == pytest.approx(200)  # clipped at the 95th percentile
    assert expected_service_seconds([], 240) == 240
    assert remaining_seconds(240, 60) == 180
    assert remaining_seconds(240, 900) == MIN_REMAINING_SHARE * 240


def test_one_play_forward_gives_every_ticket_its_own_projected_wait() -> None:
    from server.domain.estimation import projected_calls

    queue = [t(i, "ABC"[i % 3], i, G if i % 5 == 0 else N, head=i == 7) for i in range(1, 30)]
    queue.append(t(40, "A", 3, counter=2))
    counters = [c(1, "A", "B", green_only=True), c(2, "B", "A", busy=100), c(3, "C", "A")]
    rates = {("A", G): 1 / 900, ("B", N): 1 / 300}
    every = projected_calls(queue, counters, SERVICE_S, arrivals_per_s=rates, now=NOW)
    assert set(every) == {q.id for q in queue}
    for q in queue:
        assert wait(q, queue, counters, arrivals_per_s=rates) == every[q.id]
    assert every[40] < every[27]  # sent to counter 2: ahead of the later A tickets


def test_a_burst_of_arrivals_far_above_what_the_counters_serve_keeps_the_play_bounded(monkeypatch):
    """A burst of issuance makes the expected arrivals (green first) outrun the one counter:
    the play still calls every real ticket, adds a bounded number of expected customers and
    runs a bounded number of calls (it used to run 5,000, each over thousands of customers)."""
    import server.domain.estimation as estimation

    calls = 0
    real_choose = estimation.choose

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real_choose(*args, **kwargs)

    monkeypatch.setattr(estimation, "choose", counting)
    queue = [t(1, "A", 0), t(2, "A", 10), t(3, "B", 20)]
    rates = {("A", G): 2.0, ("B", G): 2.0, ("A", Priority.NORMAL): 2.0}
    out = estimation.projected_calls(queue, [c(1, "A", "B")], SERVICE_S, arrivals_per_s=rates, now=NOW)
    assert set(out) == {1, 2, 3}
    assert calls <= 4 * len(queue) + 8 + 50
