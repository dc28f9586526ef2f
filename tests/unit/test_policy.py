"""The call-next policy (DESIGN.md, "Call-next policy"): one table per rule, then properties.

Times are minutes after T0 (a Monday 09:00 UTC); ``NOW`` is an hour later unless a test says
otherwise. Ticket ids are small integers so the tables read as "which ticket is called".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.model import CounterMode, GreenRatio, Priority
from server.domain.policy import (
    Candidate,
    Policy,
    Profile,
    ServiceRule,
    call_order,
    candidates,
    choose,
    next_class,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=60)
N, G = Priority.NORMAL, Priority.GREEN
ORDERED, LONGEST = CounterMode.ORDERED, CounterMode.LONGEST_WAIT


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def t(
    id: int,
    service: str,
    minute: float,
    priority: Priority = N,
    *,
    head: bool = False,
    counter: int | None = None,
) -> Candidate:
    """A waiting ticket that entered its queue ``minute`` minutes after T0."""
    return Candidate(id, service, priority, at(minute), head=head, counter=counter)


def policy(
    services: Sequence[str],
    *,
    number: int = 1,
    mode: CounterMode = ORDERED,
    green_only: bool = False,
    ratio: str | None = None,
    max_wait: dict[str, float] | None = None,
) -> Policy:
    profile = Profile(
        number,
        tuple(services),
        mode,
        green_only,
        GreenRatio.parse(ratio) if ratio else None,
    )
    rules = {s: ServiceRule(timedelta(minutes=m)) for s, m in (max_wait or {}).items()}
    return Policy(profile, rules)


def pick(waiting, pol: Policy, *, recent: Sequence[Priority] = (), now: datetime = NOW):
    """The id of the ticket the counter calls next, or None."""
    chosen = choose(waiting, pol, recent=recent, now=now)
    return None if chosen is None else chosen.id


def order(waiting, pol: Policy, *, recent: Sequence[Priority] = (), now: datetime = NOW):
    return [c.id for c in call_order(waiting, pol, recent=recent, now=now)]


# --- rule 1: what a counter may call -----------------------------------------------------------


@pytest.mark.parametrize(
    ("services", "waiting", "expected"),
    [
        pytest.param(("B",), [t(1, "A", 0), t(2, "B", 10)], 2, id="older-A-ignored-by-B-counter"),
        pytest.param(("A", "B"), [t(1, "C", 0), t(2, "B", 10)], 2, id="C-outside-profile"),
        pytest.param(("C",), [t(1, "A", 0), t(2, "B", 10)], None, id="nothing-in-profile"),
        pytest.param(("C",), [t(1, "A", 0, G)], None, id="green-of-other-service-ignored"),
    ],
)
def test_counter_calls_only_services_in_its_profile(services, waiting, expected):
    assert pick(waiting, policy(services)) == expected


def test_ticket_transferred_to_a_counter_is_seen_by_that_counter_even_outside_its_profile():
    sent = t(1, "E", 30, counter=3)
    assert candidates([sent], policy(("A",), number=3).profile) == [sent]
    assert pick([sent], policy(("A",), number=3)) == 1


def test_ticket_transferred_to_a_counter_is_not_seen_by_other_counters_serving_its_service():
    sent = t(1, "A", 0, counter=3)
    waiting = [sent, t(2, "A", 10)]
    assert candidates(waiting, policy(("A",), number=2).profile) == [waiting[1]]
    assert pick(waiting, policy(("A",), number=2)) == 2
    assert pick([sent], policy(("A", "E"), number=2)) is None


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        # ranked with the first service of the profile, then by queue key
        pytest.param([t(1, "A", 0), t(2, "E", 5, counter=3)], 1, id="older-first-service-wins"),
        pytest.param([t(1, "A", 10), t(2, "E", 5, counter=3)], 2, id="older-transfer-wins"),
        pytest.param([t(1, "B", 0), t(2, "E", 5, counter=3)], 2, id="beats-second-service"),
    ],
)
def test_ticket_sent_to_a_counter_ranks_with_its_first_service_in_ordered_mode(waiting, expected):
    assert pick(waiting, policy(("A", "B"), number=3)) == expected


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        pytest.param([t(1, "A", 0), t(2, "B", 1, G)], 2, id="green-before-older-normal"),
        pytest.param([t(1, "A", 0, G), t(2, "B", 1, G)], 1, id="earlier-green-first"),
        pytest.param([t(1, "A", 0), t(2, "B", 1)], 1, id="normals-when-no-green"),
        pytest.param([t(1, "A", 0)], 1, id="single-normal"),
        pytest.param([t(1, "C", 0, G), t(2, "A", 5)], 2, id="only-profile-greens"),
    ],
)
def test_green_only_counter_calls_greens_first_and_others_only_when_no_green_waits(
    waiting, expected
):
    assert pick(waiting, policy(("A", "B"), green_only=True)) == expected


def test_green_only_counter_ignores_its_ratio_and_keeps_calling_greens():
    waiting = [t(1, "A", 0), t(2, "A", 5, G)]
    pol = policy(("A",), green_only=True, ratio="1:2")
    assert pick(waiting, pol, recent=[G, G, G]) == 2


# --- rule 2: green channel first, or a ratio ---------------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        pytest.param([t(1, "A", 0), t(2, "A", 30, G)], 2, id="same-service"),
        pytest.param([t(1, "A", 0), t(2, "B", 30, G)], 2, id="green-of-second-service"),
        pytest.param([t(1, "A", 0, head=True), t(2, "A", 30, G)], 2, id="even-over-a-head"),
        pytest.param([t(1, "A", 0, G), t(2, "A", 30, G), t(3, "A", -5)], 1, id="greens-fifo"),
    ],
)
def test_green_channel_ticket_is_called_before_older_regular_ticket(waiting, expected):
    assert pick(waiting, policy(("A", "B"))) == expected
    assert pick(waiting, policy(("A", "B"), mode=LONGEST)) == expected


def test_green_first_ignores_recent_history_without_a_ratio():
    waiting = [t(1, "A", 0), t(2, "A", 30, G)]
    assert pick(waiting, policy(("A",)), recent=[G] * 10) == 2


@pytest.mark.parametrize(
    ("ratio", "recent", "expected"),
    [
        (None, [], G),
        (None, [G, G, G], G),
        ("1:2", [], G),
        ("1:2", [G], N),
        ("1:2", [G, N], N),
        ("1:2", [G, N, N], G),
        ("1:2", [N, N, G, N, N], G),
        ("1:2", [G, N, N, G], N),
        ("1:2", [N], N),
        ("1:2", [N, N, N, N], G),
        ("2:1", [], G),
        ("2:1", [G], G),
        ("2:1", [G, G], N),
        ("2:1", [G, G, N], G),
        ("2:1", [G, G, N, G], G),
        ("2:1", [N, N], G),
        ("2:1", [G, G, G], N),
    ],
)
def test_ratio_cycle_continues_from_the_counters_recent_calls(ratio, recent, expected):
    assert next_class(recent, GreenRatio.parse(ratio) if ratio else None) is expected


@pytest.mark.parametrize(
    ("ratio", "expected_classes"),
    [
        ("1:2", [G, N, N, G, N, N, G, N, N, G]),
        ("2:1", [G, G, N, G, G, N, N, N, N, N]),
    ],
)
def test_ratio_counter_alternates_classes_while_both_wait(ratio, expected_classes):
    greens = [t(i, "A", i, G) for i in range(1, 5)]
    normals = [t(i, "A", i - 20) for i in range(11, 17)]
    called = call_order(greens + normals, policy(("A",), ratio=ratio), now=NOW)
    assert [c.priority for c in called] == expected_classes
    # within each class the queue stays first come, first served
    assert [c.id for c in called if c.green] == [1, 2, 3, 4]
    assert [c.id for c in called if not c.green] == [11, 12, 13, 14, 15, 16]


@pytest.mark.parametrize(
    ("recent", "expected"),
    [([G], 1), ([G, N], 1), ([G, N, N], 2)],
)
def test_ratio_one_to_two_calls_a_normal_after_a_green(recent, expected):
    waiting = [t(1, "A", 0), t(2, "A", 30, G)]
    assert pick(waiting, policy(("A",), ratio="1:2"), recent=recent) == expected


@pytest.mark.parametrize("recent", [[], [G], [G, G], [N, N, N]])
def test_ratio_does_not_matter_when_only_one_class_waits(recent):
    assert pick([t(1, "A", 0), t(2, "A", 5)], policy(("A",), ratio="1:2"), recent=recent) == 1
    assert pick([t(1, "A", 5, G), t(2, "A", 0, G)], policy(("A",), ratio="1:2"), recent=recent) == 2


# --- rule 3: ordered or longest wait across services -------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [pytest.param(ORDERED, 1, id="ordered"), pytest.param(LONGEST, 2, id="longest_wait")],
)
def test_ordered_counter_follows_profile_order_longest_wait_counter_the_oldest_ticket(
    mode, expected
):
    waiting = [t(1, "A", 10), t(2, "B", 0)]
    assert pick(waiting, policy(("A", "B"), mode=mode)) == expected


def test_ordered_counter_calls_second_service_only_when_first_is_empty():
    waiting = [t(1, "B", 0), t(2, "C", -10), t(3, "B", 5)]
    assert order(waiting, policy(("B", "A", "C"))) == [1, 3, 2]
    assert order(waiting, policy(("B", "A", "C"), mode=LONGEST)) == [2, 1, 3]


# --- rule 4: the queue key, and transfer positions ---------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        pytest.param([t(1, "A", 0), t(2, "A", 10)], 1, id="earlier-issue-first"),
        pytest.param([t(2, "A", 0), t(1, "A", 0)], 1, id="same-instant-lower-id"),
        # 'first': the transferred ticket goes to the head of its queue
        pytest.param([t(1, "A", 0), t(2, "A", 50, head=True)], 2, id="head-first"),
        pytest.param([t(1, "A", 40, head=True), t(2, "A", 50, head=True)], 1, id="two-heads"),
        # 'last': it queues from the transfer time (minute 50), behind a ticket issued at 20
        pytest.param([t(1, "A", 20), t(2, "A", 50)], 1, id="last-goes-behind"),
        # 'original': it keeps its first issue time (minute 5), ahead of one issued at 20
        pytest.param([t(1, "A", 20), t(2, "A", 5)], 2, id="original-keeps-its-place"),
    ],
)
def test_transferred_ticket_position_sets_its_place_in_the_queue(waiting, expected):
    assert pick(waiting, policy(("A",))) == expected


def test_ticket_transferred_to_the_head_stays_in_its_service_queue_in_ordered_mode():
    waiting = [t(1, "A", 30), t(2, "B", 50, head=True)]
    assert pick(waiting, policy(("A", "B"))) == 1
    # in longest-wait mode there is one queue across services, so the head goes first
    assert pick(waiting, policy(("A", "B"), mode=LONGEST)) == 2


# --- rule 5: max-wait override -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("waiting", "pol", "expected"),
    [
        pytest.param(
            [t(1, "A", 0), t(2, "A", 55, G)],
            policy(("A",), max_wait={"A": 30}),
            1,
            id="overdue-normal-before-green",
        ),
        pytest.param(
            [t(1, "A", 20), t(2, "A", 10), t(3, "A", 25)],
            policy(("A",), max_wait={"A": 30}),
            2,
            id="longest-waiting-overdue-first",
        ),
        pytest.param(
            [t(1, "A", 0), t(2, "B", 10)],
            policy(("A", "B"), max_wait={"B": 30}),
            2,
            id="overdue-second-service-before-first",
        ),
        pytest.param(
            [t(1, "A", 0), t(2, "A", 50, G), t(3, "B", 45)],
            policy(("A", "B"), max_wait={"B": 30}),
            2,
            id="rule-is-per-service",
        ),
        pytest.param(
            [t(1, "A", 20, head=True), t(2, "A", 10)],
            policy(("A",), max_wait={"A": 30}),
            2,
            id="overdue-before-a-head",
        ),
        pytest.param(
            [t(1, "A", 0, G), t(2, "A", 10)],
            policy(("A",), max_wait={"A": 30}),
            1,
            id="overdue-green-is-older",
        ),
        pytest.param(
            [t(1, "A", 0), t(2, "A", 10, G)],
            policy(("A",), ratio="1:2", max_wait={"A": 30}),
            1,
            id="overrides-the-ratio",
        ),
        pytest.param(
            [t(1, "A", 5, G), t(2, "B", 0)],
            policy(("A", "B"), green_only=True, max_wait={"B": 30}),
            2,
            id="before-everything-even-at-green-only-counter",
        ),
        pytest.param(
            [t(1, "A", 30), t(2, "A", 35, G)],
            policy(("A",), max_wait={"A": 30}),
            2,
            id="exactly-max-wait-is-not-yet-overdue",
        ),
        pytest.param(
            [t(1, "A", 0), t(2, "A", 59, G)],
            policy(("A",), max_wait={"B": 1}),
            2,
            id="no-rule-no-override",
        ),
    ],
)
def test_ticket_waiting_past_max_wait_goes_first(waiting, pol, expected):
    assert pick(waiting, pol) == expected


def test_overdue_is_measured_from_the_time_the_ticket_entered_its_current_queue():
    # issued at 0 but transferred 'last' at minute 45: only 15 minutes in this queue
    waiting = [t(1, "A", 45), t(2, "A", 50, G)]
    assert pick(waiting, policy(("A",), max_wait={"A": 30})) == 2


# --- nothing to call; the full order -----------------------------------------------------------


def test_empty_waiting_set_calls_nobody():
    assert choose([], policy(("A",)), now=NOW) is None
    assert call_order([], policy(("A",)), now=NOW) == []


WAITING_MIX = [
    t(1, "A", 0),
    t(2, "A", 10, G),
    t(3, "B", 5),
    t(4, "C", 1),
    t(5, "A", 20, head=True),
    t(6, "E", 15, counter=1),
    t(7, "A", 2, counter=2),
    t(8, "B", 40, G),
    t(9, "A", 3),
]


@pytest.mark.parametrize(
    "pol",
    [
        policy(("A", "B")),
        policy(("A", "B"), mode=LONGEST),
        policy(("B", "A"), ratio="1:2"),
        policy(("A", "B"), green_only=True),
        policy(("A", "B", "C"), max_wait={"A": 50}),
        policy(("A",), number=2, ratio="2:1", mode=LONGEST),
    ],
    ids=["ordered", "longest", "ratio", "green-only", "max-wait", "counter-2"],
)
@pytest.mark.parametrize("recent", [(), (G,), (N, N)], ids=["fresh", "after-green", "after-2"])
def test_call_order_lists_every_candidate_and_starts_with_the_next_call(pol, recent):
    full = call_order(WAITING_MIX, pol, recent=recent, now=NOW)
    assert sorted(c.id for c in full) == sorted(
        c.id for c in candidates(WAITING_MIX, pol.profile)
    )
    assert full[0] == choose(WAITING_MIX, pol, recent=recent, now=NOW)


def test_call_order_of_a_mixed_queue():
    # green 2 and 8 first; then A in queue order with the head (5) first, the ticket sent to
    # counter 1 (6) ranking with A; then B; C and counter 2's ticket are not this counter's.
    assert order(WAITING_MIX, policy(("A", "B"))) == [2, 8, 5, 1, 9, 6, 3]


def test_call_order_does_not_change_its_inputs():
    waiting = list(WAITING_MIX)
    recent = [G]
    call_order(waiting, policy(("A", "B"), ratio="1:2"), recent=recent, now=NOW)
    assert waiting == WAITING_MIX
    assert recent == [G]


# --- properties ---------------------------------------------------------------------------------

SERVICES = ("A", "B", "C", "D")
PROPS = settings(max_examples=200, deadline=None)

ratios = st.none() | st.builds(GreenRatio, st.integers(1, 3), st.integers(1, 3))


@st.composite
def profiles(draw, number: int) -> Profile:
    chosen = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=4, unique=True))
    return Profile(
        number,
        tuple(chosen),
        draw(st.sampled_from(list(CounterMode))),
        draw(st.booleans()),
        draw(ratios),
    )


def minutes(m: int) -> timedelta:
    return timedelta(minutes=m)


@st.composite
def branches(draw):
    """Counters 1..k with random profiles, waiting tickets of any kind and max-wait rules."""
    n_counters = draw(st.integers(1, 4))
    counters = [draw(profiles(i)) for i in range(1, n_counters + 1)]
    tickets = draw(
        st.lists(
            st.tuples(
                st.sampled_from(SERVICES),
                st.sampled_from(list(Priority)),
                st.integers(0, 120),
                st.booleans(),
                st.none() | st.integers(1, n_counters),
            ),
            max_size=30,
        )
    )
    waiting = [
        Candidate(i, svc, prio, at(minute), head=head, counter=target)
        for i, (svc, prio, minute, head, target) in enumerate(tickets)
    ]
    rules = draw(
        st.dictionaries(
            st.sampled_from(SERVICES),
            st.builds(ServiceRule, st.none() | st.integers(1, 90).map(minutes)),
        )
    )
    return counters, waiting, rules


@PROPS
@given(branch=branches(), data=st.data())
def test_no_ticket_is_ever_called_twice_and_every_servable_ticket_is_called(branch, data):
    counters, waiting, rules = branch
    pending = list(waiting)
    recent: dict[int, list[Priority]] = {c.number: [] for c in counters}
    called: list[int] = []
    now = at(120)

    def call(profile: Profile) -> Candidate | None:
        chosen = choose(pending, Policy(profile, rules), recent=recent[profile.number], now=now)
        if chosen is not None:
            assert chosen in pending
            assert chosen.counter == profile.number or (
                chosen.counter is None and chosen.service in profile.services
            )
            pending.remove(chosen)
            called.append(chosen.id)
            recent[profile.number].append(chosen.priority)
        return chosen

    # counters call in a random interleaving while time moves on ...
    for _ in range(data.draw(st.integers(0, 40), label="random calls")):
        now += timedelta(minutes=1)
        call(data.draw(st.sampled_from(counters), label="counter"))
    # ... then every counter keeps calling until a full round calls nobody
    while True:
        now += timedelta(minutes=1)
        if all(chosen is None for chosen in [call(c) for c in counters]):
            break

    assert len(called) == len(set(called))
    covered = {s for c in counters for s in c.services}
    servable = {c.id for c in waiting if c.counter is not None or c.service in covered}
    assert set(called) == servable
    if covered == set(SERVICES):
        assert sorted(called) == [c.id for c in waiting]


@PROPS
@given(
    profile=profiles(1),
    tickets=st.lists(
        st.tuples(st.sampled_from(SERVICES), st.sampled_from(list(Priority)), st.integers(0, 60)),
        max_size=30,
    ),
    call_gaps=st.lists(st.integers(0, 10), min_size=1, max_size=40),
)
def test_fifo_within_a_service_and_class_when_no_other_rule_applies(profile, tickets, call_gaps):
    arrivals = [Candidate(i, svc, prio, at(m)) for i, (svc, prio, m) in enumerate(tickets)]
    pol = Policy(profile)  # no max_wait; no heads or counter targets in the waiting set
    called: list[Candidate] = []
    recent: list[Priority] = []
    now = at(0)
    gaps = iter(call_gaps)
    while len(called) < len(candidates(arrivals, profile)):
        now += timedelta(minutes=next(gaps, 10))
        waiting = [c for c in arrivals if c.queued_at <= now and c not in called]
        chosen = choose(waiting, pol, recent=recent, now=now)
        if chosen is not None:
            called.append(chosen)
            recent.append(chosen.priority)

    for svc in SERVICES:
        for prio in Priority:
            queue = [(c.queued_at, c.id) for c in called if c.service == svc and c.priority is prio]
            assert queue == sorted(queue), f"{svc}/{prio} called out of order"


@PROPS
@given(
    max_wait_s=st.integers(1, 600),
    call_every_s=st.integers(2, 120),
    data=st.data(),
)
def test_normal_ticket_is_called_by_max_wait_plus_one_call_behind_an_endless_green_stream(
    max_wait_s, call_every_s, data
):
    green_every_s = data.draw(st.integers(1, call_every_s - 1), label="green_every_s")
    pol = Policy(
        Profile(1, ("A",)),  # green channel first, no ratio
        {"A": ServiceRule(timedelta(seconds=max_wait_s))},
    )
    normal = Candidate(0, "A", N, T0)
    waiting = [normal]
    recent: list[Priority] = []
    next_green_s, next_id = 0, 1
    call_s = 0
    called_at_s: int | None = None
    while called_at_s is None:
        call_s += call_every_s
        while next_green_s <= call_s:  # greens keep arriving, faster than the counter calls
            waiting.append(Candidate(next_id, "A", G, T0 + timedelta(seconds=next_green_s)))
            next_green_s += green_every_s
            next_id += 1
        assert any(c.green for c in waiting)
        chosen = choose(waiting, pol, recent=recent, now=T0 + timedelta(seconds=call_s))
        assert chosen is not None
        waiting.remove(chosen)
        recent.append(chosen.priority)
        if chosen is normal:
            called_at_s = call_s
        else:
            assert call_s <= max_wait_s, "a green was called while the normal ticket was overdue"

    assert called_at_s <= max_wait_s + call_every_s
    # precisely: at the first call after it became overdue
    assert called_at_s - call_every_s <= max_wait_s < called_at_s
