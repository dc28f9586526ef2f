"""Checked-in appointments in the call-next policy: one table per existing rule, then properties.

An appointment checked in within its window is queued at its slot's start
(:func:`server.domain.slots.queue_time`) and ranks from there inside every existing rule:
green channel first (or the ratio), the profile's order, a transfer to the head, the
max-wait override. Times are minutes after T0 (a Monday 09:00 UTC); the slot starts at 30.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.model import CounterMode, GreenRatio, Priority
from server.domain.policy import Candidate, Policy, Profile, ServiceRule, call_order, choose
from server.domain.slots import AppointmentRules, Arrival, arrival, queue_time

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
N, G = Priority.NORMAL, Priority.GREEN
ORDERED, LONGEST = CounterMode.ORDERED, CounterMode.LONGEST_WAIT
SLOT = 30
RULES = AppointmentRules(enabled=True, early_min=30, grace_min=10)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def walk_in(id: int, service: str, minute: float, priority: Priority = N, **options) -> Candidate:
    return Candidate(id, service, priority, at(minute), **options)


def appointment(id: int, service: str, checked_in: float, slot: float = SLOT) -> Candidate:
    """A booking of the slot starting at ``slot`` checked in at ``checked_in`` (within the window)."""
    start = at(slot)
    assert arrival(start, start + timedelta(minutes=30), at(checked_in), RULES) is Arrival.ON_TIME
    return Candidate(id, service, N, queue_time(start, at(checked_in), True), appointment=start)


def policy(services, *, mode=ORDERED, green_only=False, ratio=None, max_wait=None) -> Policy:
    profile = Profile(1, tuple(services), mode, green_only, GreenRatio.parse(ratio) if ratio else None)
    rules = {code: ServiceRule(timedelta(minutes=m)) for code, m in (max_wait or {}).items()}
    return Policy(profile, rules)


def called(waiting, pol, *, now: float, recent=()) -> int | None:
    chosen = choose(waiting, pol, recent=recent, now=at(now))
    return chosen.id if chosen else None


# --- ranking by the slot's start ------------------------------------------------------------

SLOT_START = [
    # (what waits, now, who is called first, why)
    ([walk_in(1, "A", 25), appointment(2, "A", 20)], 31, 1, "a walk-in who came before the slot began goes first"),
    ([walk_in(1, "A", 32), appointment(2, "A", 35)], 36, 2, "checked in late within grace: ranks at the slot start"),
    ([walk_in(1, "A", 31), appointment(2, "A", 10)], 32, 2, "an early arrival ranks at the slot start"),
    ([walk_in(1, "A", 29), appointment(2, "A", 10)], 32, 1, "early, but the walk-in came before the slot began"),
    ([appointment(2, "A", 10)], 15, 2, "nobody else waits: an early arrival is not held back"),
    ([appointment(1, "A", 35, slot=60), appointment(2, "A", 20)], 61, 2, "the earlier slot first"),
]


@pytest.mark.parametrize(("waiting", "now", "first", "why"), SLOT_START, ids=[c[3] for c in SLOT_START])
def test_a_checked_in_appointment_ranks_by_its_slot_start(waiting, now, first, why):
    assert called(waiting, policy("A"), now=now) == first, why


# --- with the green channel and ratios ---------------------------------------------------------

GREEN = [
    ([walk_in(1, "A", 40, G), appointment(2, "A", 25)], {}, (), 1, "green first: a later green walk-in goes first"),
    ([walk_in(1, "A", 40, G), appointment(2, "A", 25)], {"ratio": "1:2"}, (G,), 2,
     "ratio 1:2 after a green call: the appointment is a normal call"),
    ([walk_in(1, "A", 40, G), appointment(2, "A", 25)], {"ratio": "1:2"}, (G, N, N), 1,
     "ratio 1:2 after two normal calls: green again"),
    ([walk_in(1, "A", 40, G), appointment(2, "A", 25)], {"green_only": True}, (), 1,
     "a green-only counter takes green first"),
    ([walk_in(1, "A", 40), appointment(2, "A", 25)], {"green_only": True}, (), 2,
     "a green-only counter takes appointments when no green waits, by slot start"),
]


@pytest.mark.parametrize(("waiting", "options", "recent", "first", "why"), GREEN, ids=[c[4] for c in GREEN])
def test_the_green_channel_and_ratios_hold_with_appointments(waiting, options, recent, first, why):
    assert called(waiting, policy("A", **options), now=45, recent=recent) == first, why


# --- with the profile's order --------------------------------------------------------------------

PROFILE = [
    ([walk_in(1, "A", 40), appointment(2, "B", 25)], ORDERED, 1, "ordered: the first service of the profile first"),
    ([walk_in(1, "B", 40), appointment(2, "B", 25)], ORDERED, 2, "ordered, same service: by slot start"),
    ([walk_in(1, "A", 40), appointment(2, "B", 25)], LONGEST, 2, "longest wait: the slot start is earlier"),
    ([walk_in(1, "A", 20), appointment(2, "B", 25)], LONGEST, 1, "longest wait: the walk-in came before the slot"),
]


@pytest.mark.parametrize(("waiting", "mode", "first", "why"), PROFILE, ids=[c[3] for c in PROFILE])
def test_the_profile_order_holds_with_appointments(waiting, mode, first, why):
    assert called(waiting, policy("AB", mode=mode), now=45) == first, why


# --- with transfers and the max-wait override ---------------------------------------------------

OVERRIDES = [
    ([walk_in(1, "A", 50, head=True), appointment(2, "A", 25)], {}, 1, "a transfer placed first goes to the head"),
    ([walk_in(1, "A", 50, counter=1), appointment(2, "A", 25)], {}, 2, "sent to this counter: ranks by its time"),
    ([walk_in(1, "B", 0), appointment(2, "A", 25)], {"max_wait": {"B": 30}}, 1,
     "max-wait override: an overdue walk-in goes before an appointment of the first service"),
    ([walk_in(1, "A", 5), appointment(2, "A", 25)], {"max_wait": {"A": 30}}, 1,
     "overdue walk-ins go first, longest-waiting first"),
    ([walk_in(1, "A", 40), appointment(2, "A", 5, slot=0)], {"max_wait": {"A": 40}}, 2,
     "an appointment waits from its slot start, and may be overdue too"),
]


@pytest.mark.parametrize(("waiting", "options", "first", "why"), OVERRIDES, ids=[c[3] for c in OVERRIDES])
def test_transfers_and_the_max_wait_override_hold_with_appointments(waiting, options, first, why):
    assert called(waiting, policy("AB", **options), now=45) == first, why


# --- properties ------------------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=120)


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.integers(min_value=0, max_value=SLOT - 1), max_size=6),
    after=st.lists(st.integers(min_value=SLOT + 1, max_value=SLOT + 60), max_size=12),
    checked_in=st.integers(min_value=0, max_value=SLOT + 10),
    service_min=st.integers(min_value=1, max_value=5),
)
def test_a_checked_in_appointment_is_called_within_slot_and_grace_when_capacity_allows(
    before, after, checked_in, service_min
):
    """One counter, ``service_min`` per customer: when those who came before the slot began
    fit into the grace time, the appointment is called by the slot's start plus the grace,
    however many walk-ins come after the slot began."""
    waiting = [walk_in(i, "A", m) for i, m in enumerate(before, start=10)]
    waiting += [walk_in(i, "A", m) for i, m in enumerate(after, start=100)]
    waiting.append(appointment(1, "A", checked_in))
    order = call_order(waiting, policy("A"), now=at(max(SLOT, checked_in)))
    position = [c.id for c in order].index(1)
    assert position == len(before)
    if len(before) * service_min <= RULES.grace_min:
        assert SLOT + position * service_min <= SLOT + RULES.grace_min


@settings(max_examples=200, deadline=None)
@given(
    appointments=st.lists(st.tuples(st.integers(0, 90), st.sampled_from("AB")), min_size=1, max_size=8),
    walk_ins=st.lists(st.tuples(minutes, st.sampled_from("AB"), st.sampled_from([N, G])), max_size=8),
    now=st.integers(min_value=0, max_value=200),
    mode=st.sampled_from([ORDERED, LONGEST]),
    ratio=st.sampled_from([None, "1:2", "2:1"]),
)
def test_the_max_wait_override_still_holds_so_walk_ins_never_starve(appointments, walk_ins, now, mode, ratio):
    waiting = [Candidate(i, s, N, at(slot), appointment=at(slot)) for i, (slot, s) in enumerate(appointments)]
    waiting += [walk_in(100 + i, s, m, p) for i, (m, s, p) in enumerate(walk_ins)]
    pol = policy("AB", mode=mode, ratio=ratio, max_wait={"A": 45, "B": 45})
    chosen = choose(waiting, pol, now=at(now))
    overdue = [c for c in waiting if at(now) - c.queued_at > timedelta(minutes=45)]
    assert chosen is not None
    if overdue:
        assert chosen == min(overdue, key=lambda c: (c.queued_at, c.id))


@settings(max_examples=100, deadline=None)
@given(
    slots=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=20),
    greens=st.lists(st.integers(min_value=1, max_value=30), max_size=20),
)
def test_a_stream_of_appointments_and_green_tickets_never_holds_a_walk_in_past_its_max_wait(slots, greens):
    """Appointments and green tickets keep coming after a walk-in: the green ones go first
    (the appointments, whose slots began after it came, never do), and once the walk-in has
    waited past max_wait it is called next."""
    wait = walk_in(999, "A", 0)
    booked = [Candidate(i, "A", N, at(m), appointment=at(m)) for i, m in enumerate(slots)]
    green = [walk_in(500 + i, "A", m, G) for i, m in enumerate(greens)]
    pol = policy("A", max_wait={"A": 30})
    if not green:
        assert called([wait, *booked], pol, now=20) == 999
    assert called([wait, *booked, *green], pol, now=31) == 999
