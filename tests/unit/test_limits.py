"""The sliding-window counter behind the rate limits, on a clock the test moves."""

from __future__ import annotations

import pytest
from limits import parse_many

from server.web.limits import PRUNE_EVERY, SlidingCounters


class Clock:
    def __init__(self, now: float = 999_960.0) -> None:  # a multiple of 60: a window starts here
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def hits(counters: SlidingCounters, rule: str, key: str, n: int) -> list[bool]:
    item = parse_many(rule)[0]
    return [counters.hit(item, key) for _ in range(n)]


def test_a_burst_up_to_the_limit_then_refusals(clock):
    counters = SlidingCounters(clock)
    assert hits(counters, "10/minute", "k", 12) == [True] * 10 + [False] * 2


def test_keys_and_rules_count_apart(clock):
    counters = SlidingCounters(clock)
    assert all(hits(counters, "3/minute", "a", 3))
    assert all(hits(counters, "3/minute", "b", 3)), "another kiosk has its own count"
    assert all(hits(counters, "5/minute", "a", 5)), "another rule has its own count"


@pytest.mark.parametrize(
    ("after", "allowed"),
    [
        (0.0, 0),     # the full previous window still counts: 10 ≥ 10
        (15.0, 2),    # 10 × 45/60 = 7.5 counted → 2 more fit (7.5 + 2 ≤ 10 < 7.5 + 3)
        (30.0, 5),    # 10 × 30/60 = 5
        (59.0, 9),    # 10 × 1/60 ≈ 0.17
        (60.0, 10),   # a whole window later the old one no longer counts
        (600.0, 10),  # long idle
    ],
)
def test_the_previous_window_counts_by_how_much_still_overlaps(clock, after, allowed):
    """A burst of 10 at the start of a minute; ``after`` seconds past that minute, how many more?"""
    counters = SlidingCounters(clock)
    assert all(hits(counters, "10/minute", "k", 10))
    clock.now += 60 + after
    assert sum(hits(counters, "10/minute", "k", 20)) == allowed


def test_refused_requests_do_not_count(clock):
    counters = SlidingCounters(clock)
    hits(counters, "2/minute", "k", 50)
    clock.now += 120
    assert hits(counters, "2/minute", "k", 3) == [True, True, False]


def test_idle_keys_are_forgotten(clock):
    counters = SlidingCounters(clock)
    hits(counters, "1000000/minute", "old", 1)
    clock.now += 3600
    hits(counters, "1000000/minute", "busy", PRUNE_EVERY)
    assert {key for _, _, key in counters._windows} == {"busy"}
