"""The sliding-window counter behind the rate limits, on a clock the test moves."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from limits import parse_many

from server.domain.access import Actor
from server.domain.errors import RateLimited
from server.settings import Settings
from server.web.limits import PRUNE_EVERY, Limiter, SlidingCounters


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


# --- the kiosk limit: a line of people at one screen, not one person taking the day's tickets ---

KIOSK = Actor("device", 7, "kiosk", "demo", (), "door kiosk")


def issued_at(limiter: Limiter, clock: Clock, times: list[float], branch: str = "demo") -> int:
    """How many of the issues at ``times`` (seconds from now) the limiter lets through."""
    request = make_mocked_request("POST", f"/api/v1/branches/{branch}/tickets", match_info={"branch": branch})
    start, ok = clock.now, 0
    for t in times:
        clock.now = start + t
        try:
            limiter.check("issue", request, KIOSK)
        except RateLimited:
            continue
        ok += 1
    return ok


def test_the_default_kiosk_limit_serves_a_line_of_people_at_opening_and_all_day(clock):
    limiter = Limiter(Settings(), clock)
    opening = [3.0 * i for i in range(10)]  # ten people one after another, 3 s each
    day = [30 + 10.0 * i for i in range(330)]  # then one every 10 s for the rest of the hour
    assert issued_at(limiter, clock, opening + day) == len(opening) + len(day)


def test_the_default_kiosk_limit_keeps_one_person_from_taking_a_days_cap_in_half_a_minute(clock):
    limiter = Limiter(Settings(), clock)
    pressing = [34 * i / 79 for i in range(79)]  # the tester's 79 tickets in 34 s
    assert issued_at(limiter, clock, pressing) <= 20


def test_a_branch_sets_its_own_kiosk_limit_and_other_branches_keep_the_servers(clock):
    limiter = Limiter(Settings(issue_rate_limit="100/minute"), clock)
    limiter.branch_limits = lambda b: {"kiosk_issue": "3/minute"} if b == "demo" else None
    assert issued_at(limiter, clock, [0.1 * i for i in range(10)], branch="demo") == 3
    assert issued_at(limiter, clock, [0.1 * i for i in range(10)], branch="north") == 10
