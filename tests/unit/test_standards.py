"""The breach rules (server/domain/standards.py): each fires, clears and escalates, on a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.alerts import CounterView, QueueView
from server.domain.standards import (
    REGIONAL_LEVEL,
    Breach,
    Recorded,
    Rule,
    Serving,
    Standards,
    Suggestion,
    breaches,
    reconcile,
    suggest_for_service,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
A = Standards(target_wait=10 * MIN, max_wait=30 * MIN, target_service=5 * MIN, max_service=15 * MIN,
              max_queue=5, max_idle=3 * MIN)
COUNTERS = (
    CounterView(1, "open", ("A",)),
    CounterView(2, "closed", ("B", "A")),
    CounterView(3, "closed", ("A", "B")),
    CounterView(4, "open", ("D",)),
)


def rules_at(minutes_later: float, queue: QueueView, serving: tuple[Serving, ...] = ()) -> set[str]:
    found = breaches([queue], COUNTERS, serving, {"A": A}, now=T0 + minutes_later * MIN)
    return {b.key for b in found}


@pytest.mark.parametrize(
    ("waiting", "oldest_min_ago", "expected"),
    [
        (0, None, set()),  # nobody waits: no rule about the queue holds
        (1, 5, set()),  # within target
        (1, 10, set()),  # exactly the target is not past it
        (1, 11, {"wait_target:A"}),
        (1, 31, {"wait_target:A", "wait_max:A"}),
        (5, 1, set()),  # exactly the maximum queue length
        (6, 1, {"queue_length:A"}),
        (7, 40, {"queue_length:A", "wait_target:A", "wait_max:A"}),
    ],
)
def test_queue_rules_fire_past_their_limit_and_not_at_it(waiting, oldest_min_ago, expected):
    since = None if oldest_min_ago is None else T0
    queue = QueueView("A", waiting, since)
    assert rules_at(oldest_min_ago or 0, queue) == expected


@pytest.mark.parametrize(
    ("serving", "minutes", "expected"),
    [
        (Serving(1, "A", T0), 4, set()),
        (Serving(1, "A", T0), 6, {"service_target:#1"}),
        (Serving(1, "A", T0), 16, {"service_target:#1", "service_max:#1"}),
        (Serving(1, None, T0), 2, set()),  # idle, but within the maximum idle time
        (Serving(1, None, T0), 4, {"counter_idle:#1"}),  # idle while A waits
        (Serving(4, None, T0), 60, set()),  # counter 4 serves D only, where nobody waits
    ],
)
def test_counter_rules_fire_for_long_service_and_idling_while_its_services_wait(serving, minutes, expected):
    queue = QueueView("A", 1, T0 + minutes * MIN)  # one waits, just arrived: no queue rule
    assert rules_at(minutes, queue, (serving,)) == expected


def test_an_idle_counter_is_no_breach_when_nobody_waits_for_its_services():
    assert rules_at(60, QueueView("A", 0), (Serving(1, None, T0),)) == set()


@pytest.mark.parametrize(
    ("counters", "tellers", "expected"),
    [
        # Counter 3 has A first in its profile, counter 2 second: open 3.
        (COUNTERS, {}, Suggestion("open_counter", 3)),
        # Counter 4 is open with nobody waiting for D: move its teller to 3.
        (COUNTERS, {4: "teller4"}, Suggestion("move_teller", 3, "teller4", 4)),
        # Counter 1 is open but A waits there: its teller is not spare.
        (COUNTERS, {1: "teller1"}, Suggestion("open_counter", 3)),
        # Nothing closed serves A: no suggestion to open one.
        ((CounterView(1, "open", ("A",)), CounterView(2, "paused", ("A",))), {}, None),
    ],
)
def test_the_suggestion_opens_the_closed_counter_that_serves_the_service_first(counters, tellers, expected):
    assert suggest_for_service("A", counters, {"A": 3, "D": 0}, tellers) == expected


def test_a_queue_breach_carries_the_suggestion():
    found = breaches([QueueView("A", 9, T0)], COUNTERS, (), {"A": A}, now=T0 + 31 * MIN,
                     tellers={4: "teller4"})
    assert {b.key: b.suggestion for b in found} == {
        key: Suggestion("move_teller", 3, "teller4", 4) for key in ("queue_length:A", "wait_max:A", "wait_target:A")
    }


# --- raise, clear, escalate on a moved clock ---------------------------------------------


WAIT = Breach(Rule.WAIT_TARGET, "A")
QUEUE = Breach(Rule.QUEUE_LENGTH, "A")


@pytest.mark.parametrize(
    ("holding", "recorded", "minutes", "raised", "cleared", "escalated"),
    [
        # A breach that holds and is not on record is raised.
        ((WAIT,), (), 0, ["wait_target:A"], [], []),
        # On record and still holding: nothing new (one record however often it is evaluated).
        ((WAIT,), (Recorded(1, WAIT.key, T0),), 5, [], [], []),
        # On record and no longer holding: cleared.
        ((), (Recorded(1, WAIT.key, T0),), 5, [], [1], []),
        # Unacknowledged for the escalation time: escalated to the regional level.
        ((WAIT,), (Recorded(1, WAIT.key, T0),), 10, [], [], [1]),
        # Acknowledged in time: never escalated.
        ((WAIT,), (Recorded(1, WAIT.key, T0, acknowledged=True),), 60, [], [], []),
        # Escalated once: not again.
        ((WAIT,), (Recorded(1, WAIT.key, T0, level=REGIONAL_LEVEL),), 60, [], [], []),
        # Two breaches, one clears while the other is raised.
        ((QUEUE,), (Recorded(1, WAIT.key, T0),), 3, ["queue_length:A"], [1], []),
        # A breach that cleared is not escalated, whatever its age.
        ((), (Recorded(1, WAIT.key, T0),), 60, [], [1], []),
    ],
)
def test_reconcile_raises_clears_and_escalates(holding, recorded, minutes, raised, cleared, escalated):
    plan = reconcile(holding, recorded, now=T0 + minutes * MIN)
    assert [b.key for b in plan.raise_] == raised
    assert list(plan.clear) == cleared
    assert list(plan.escalate) == escalated


def test_a_breach_fires_escalates_and_clears_as_the_clock_moves():
    """One queue over a morning: the rule fires, is escalated unacknowledged, and clears."""
    record: dict[str, Recorded] = {}
    history = []
    ids = iter(range(1, 100))
    for minute, queue in [(0, QueueView("A", 1, T0)), (11, QueueView("A", 1, T0)), (21, QueueView("A", 1, T0)),
                          (25, QueueView("A", 1, T0 + 24 * MIN))]:
        now = T0 + minute * MIN
        plan = reconcile(breaches([queue], COUNTERS, (), {"A": A}, now=now), record.values(), now=now)
        for b in plan.raise_:
            record[b.key] = Recorded(next(ids), b.key, now)
        for rid in plan.escalate:
            key = next(k for k, r in record.items() if r.id == rid)
            record[key] = Recorded(rid, key, record[key].raised_at, level=REGIONAL_LEVEL)
        for rid in plan.clear:
            record = {k: r for k, r in record.items() if r.id != rid}
        history.append((minute, [b.key for b in plan.raise_], list(plan.escalate), list(plan.clear)))
    assert history == [
        (0, [], [], []),
        (11, ["wait_target:A"], [], []),
        (21, [], [1], []),
        (25, [], [], [1]),
    ]


@given(
    st.sets(st.sampled_from([r.value for r in Rule]), max_size=6),
    st.sets(st.sampled_from([r.value for r in Rule]), max_size=6),
    st.integers(min_value=0, max_value=120),
)
def test_after_a_plan_the_record_is_exactly_what_holds(holding_rules, recorded_rules, minutes):
    holding = [Breach(Rule(r), "A") for r in holding_rules]
    recorded = [Recorded(i, f"{r}:A", T0) for i, r in enumerate(sorted(recorded_rules))]
    plan = reconcile(holding, recorded, now=T0 + minutes * MIN)
    after = {r.key for r in recorded if r.id not in plan.clear} | {b.key for b in plan.raise_}
    assert after == {b.key for b in holding}
    assert set(plan.escalate) <= {r.id for r in recorded if r.key in after}
    assert not set(plan.escalate) & set(plan.clear)
