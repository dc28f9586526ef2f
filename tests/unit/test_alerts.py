"""The dashboard's alert rules (server/domain/alerts.py): one table per rule, then the order.

Times are minutes before ``NOW``; services A (target 8 min, max 20 min) and D (target 10 min).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.alerts import AlertCode, CounterView, QueueView, Severity, alerts

NOW = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def ago(minutes: float) -> datetime:
    return NOW - minutes * MIN


def queue(service: str = "A", waiting: int = 1, oldest: float | None = 1.0) -> QueueView:
    target, max_wait = {"A": (8, 20), "D": (10, None)}[service]
    return QueueView(service, waiting, None if oldest is None else ago(oldest), target * MIN,
                     None if max_wait is None else max_wait * MIN)


def counter(number: int = 1, state: str = "open", services: tuple[str, ...] = ("A", "D"),
            since: float = 1.0, staffed: bool = True, pause_code: str | None = None) -> CounterView:
    return CounterView(number, state, services, ago(since), staffed, pause_code)


def codes(queues, counters) -> list[tuple[str, str | int | None]]:
    return [(a.code.value, a.service or a.counter) for a in alerts(queues, counters, now=NOW)]


@pytest.mark.parametrize(
    ("queues", "counters", "expected"),
    [
        # the case: D waits, its only counter is closed
        ([queue("D", 2)], [counter(5, "closed", ("D",))], [("no_open_counter", "D")]),
        ([queue("D", 2)], [counter(5, "open", ("D",))], []),
        # a paused counter calls nobody
        ([queue("D", 2)], [counter(5, "paused", ("D",))], [("no_open_counter", "D")]),
        # an open counter serving other services does not help D
        ([queue("D", 2)], [counter(3, "open", ("A", "B"))], [("no_open_counter", "D")]),
        ([queue("D", 2)], [], [("no_open_counter", "D")]),
        # nobody waiting: nothing to report, even with every counter closed
        ([queue("D", 0, None)], [counter(5, "closed", ("D",))], []),
    ],
)
def test_waiting_tickets_with_no_open_counter_serving_them_alert(queues, counters, expected):
    assert codes(queues, counters) == expected


@pytest.mark.parametrize(
    ("oldest", "expected"),
    [
        (1.0, []),
        (8.0, []),  # at the target exactly: not past it
        (8.1, [("past_target_wait", "A")]),
        (20.0, [("past_target_wait", "A")]),
        (22.75, [("past_max_wait", "A")]),  # the A at 22:45 against 8:00, max 20:00: only the worse
        (None, []),
    ],
)
def test_a_queue_whose_oldest_ticket_waited_past_its_target_alerts(oldest, expected):
    assert codes([queue("A", 3, oldest)], [counter(3, "open", ("A",))]) == expected


def test_past_max_wait_is_severe_and_past_target_a_warning():
    severe = alerts([queue("A", 1, 25)], [counter()], now=NOW)
    warning = alerts([queue("A", 1, 9)], [counter()], now=NOW)
    assert [(a.severity, a.facts) for a in severe] == [(Severity.SEVERE, {"waited_s": 1500, "limit_s": 1200})]
    assert [(a.severity, a.facts) for a in warning] == [(Severity.WARNING, {"waited_s": 540, "limit_s": 480})]


def test_a_service_without_a_max_wait_alerts_past_its_target_only():
    assert codes([queue("D", 1, 300)], [counter()]) == [("past_target_wait", "D")]


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (counter(2, "open"), []),
        (counter(2, "closed", staffed=False), []),
        (counter(2, "open", staffed=False), [("counter_unstaffed", 2)]),
        (counter(2, "paused", since=14.9), []),
        (counter(2, "paused", since=15.1), [("paused_too_long", 2)]),
        (counter(2, "paused", since=15.1, pause_code="meal"), [("paused_too_long", 2)]),
        # paused by the server because its teller is gone: at once, however recent
        (counter(2, "paused", since=0.1, pause_code="system"), [("teller_gone", 2)]),
        (counter(2, "paused", since=60, pause_code="system", staffed=False), [("teller_gone", 2)]),
    ],
)
def test_abandoned_and_long_paused_counters_alert(c, expected):
    assert codes([], [c]) == expected


def test_the_pause_limit_can_be_set():
    (alert,) = alerts([], [counter(2, "paused", since=6)], now=NOW, paused_too_long=5 * MIN)
    assert alert.code is AlertCode.PAUSED_TOO_LONG


def test_severe_alerts_come_first_then_by_service_and_counter():
    found = alerts(
        [queue("A", 1, 9), queue("D", 1, 1)],
        [counter(4, "paused", ("C",), since=30), counter(2, "paused", ("B",), pause_code="system"),
         counter(1, "open", ("B",))],
        now=NOW,
    )
    assert [(a.code.value, a.service or a.counter) for a in found] == [
        ("no_open_counter", "A"), ("no_open_counter", "D"), ("teller_gone", 2),
        ("past_target_wait", "A"), ("paused_too_long", 4),
    ]


def test_an_alert_travels_as_flat_json():
    (alert,) = alerts([queue("D", 2)], [], now=NOW)
    assert alert.as_json() == {"code": "no_open_counter", "severity": "severe", "service": "D",
                               "counter": None, "waiting": 2}
