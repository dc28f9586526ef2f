"""Appointment slots and their rules (server/domain/slots.py): one table per rule, then properties.

Days are in Shanghai; 2026-03-02 is a Monday.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import NotFound
from server.domain.slots import (
    AppointmentRules,
    Arrival,
    Attendance,
    Booked,
    Late,
    RemoteRules,
    Schedule,
    affected,
    arrival,
    attendance,
    come_now,
    contact_refusal,
    day_slots,
    parse_slot_id,
    refusal,
    remote_refusal,
    slot_capacity,
    slot_id,
)

ZONE = "Asia/Shanghai"
SH = ZoneInfo(ZONE)
MON = date(2026, 3, 2)
RULES = AppointmentRules(enabled=True, slot_min=30, cutoff_min=60, days_ahead=14, early_min=30, grace_min=10)
WEEKDAYS = {d: [["09:00", "12:00"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def local(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=SH)


def starts(slots) -> list[str]:
    return [f"{s.start:%H:%M}" for s in slots]


# --- which slots a day has ----------------------------------------------------------------------

DAYS = [
    # (hours, service hours, holidays, day, slot_min, the slots' starts, why)
    (WEEKDAYS, None, (), MON, 60, ["09:00", "10:00", "11:00", "13:30", "14:30", "15:30"],
     "whole slots of each period; 16:30–17:00 is too short for an hour"),
    (WEEKDAYS, None, (), date(2026, 3, 7), 30, [], "a weekday missing from the hours is closed"),
    (WEEKDAYS, None, ("2026-03-02",), MON, 30, [], "a holiday has no slots"),
    (WEEKDAYS, {"mon": [["10:00", "11:00"]]}, (), MON, 30, ["10:00", "10:30"], "the service's own hours within"),
    (WEEKDAYS, {"mon": [["11:00", "14:30"]]}, (), MON, 30, ["11:00", "11:30", "13:30", "14:00"],
     "the service's hours cut by the branch's lunch break"),
    ({}, None, (), MON, 240, ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"], "no hours: open all day"),
    ({"mon": [["09:10", "10:00"]]}, None, (), MON, 20, ["09:10", "09:30"], "slots start at the period's start"),
]


@pytest.mark.parametrize(("hours", "own", "holidays", "day", "length", "expected", "why"), DAYS,
                         ids=[d[-1] for d in DAYS])
def test_a_day_has_whole_slots_of_the_periods_both_branch_and_service_are_open(
    hours, own, holidays, day, length, expected, why
):
    rules = AppointmentRules(enabled=True, slot_min=length)
    slots = day_slots(day, "A", rules=rules, capacity=3, timezone=ZONE, hours=hours, service_hours=own,
                      holidays=holidays)
    assert starts(slots) == expected, why
    assert all(s.capacity == 3 and s.end - s.start == timedelta(minutes=length) for s in slots)


def test_a_service_without_appointments_or_without_capacity_has_no_slots():
    only_b = AppointmentRules(enabled=True, services=("B",))
    assert day_slots(MON, "A", rules=only_b, capacity=3, timezone=ZONE, hours=WEEKDAYS) == []
    assert day_slots(MON, "A", rules=AppointmentRules(), capacity=3, timezone=ZONE, hours=WEEKDAYS) == []
    assert day_slots(MON, "A", rules=RULES, capacity=0, timezone=ZONE, hours=WEEKDAYS) == []


CAPACITY = [
    (AppointmentRules(capacity=4), 0, 300, 4, "a fixed capacity"),
    (AppointmentRules(share=0.5, slot_min=30), 3, 600, 4, "0.5 × 3 counters × 3 customers each = 4.5 → 4"),
    (AppointmentRules(share=1.0, slot_min=30), 2, 900, 4, "every counter, 2 customers each"),
    (AppointmentRules(share=0.2, slot_min=30), 1, 900, 0, "less than one place: none"),
]


@pytest.mark.parametrize(("rules", "counters", "service_s", "places", "why"), CAPACITY, ids=[c[-1] for c in CAPACITY])
def test_capacity_is_fixed_or_a_share_of_the_counters_serving_the_service(rules, counters, service_s, places, why):
    assert slot_capacity(rules, counters=counters, target_service_s=service_s) == places, why


# --- may it be booked -------------------------------------------------------------------------------

NOW = local(MON, "09:30")
[TEN] = [s for s in day_slots(MON, "A", rules=RULES, capacity=2, timezone=ZONE, hours=WEEKDAYS)
         if f"{s.start:%H:%M}" == "10:30"]
REFUSALS = [
    (local(MON, "09:30"), None, "an hour ahead: bookable"),
    (local(MON, "09:31"), "cut_off", "less than the cut-off before it"),
    (local(MON, "10:30"), "slot_past", "begun"),
    (local(MON, "11:00"), "slot_past", "over"),
    (local(MON, "10:30") - timedelta(days=14), None, "14 days ahead"),
    (local(MON, "10:30") - timedelta(days=15), "too_far", "15 days ahead"),
]


@pytest.mark.parametrize(("now", "code", "why"), REFUSALS, ids=[r[-1] for r in REFUSALS])
def test_a_slot_is_bookable_before_its_cut_off_and_within_the_days_ahead(now, code, why):
    found = refusal(TEN, now, RULES)
    assert (found[0] if found else None) == code, why


CONTACTS = [
    (0, 0, None), (1, 1, "contact_limit"), (0, 2, None), (0, 3, "contact_limit"),
]


@pytest.mark.parametrize(("on_day", "upcoming", "code"), CONTACTS)
def test_one_contact_holds_one_booking_a_day_and_three_upcoming(on_day, upcoming, code):
    found = contact_refusal(on_day=on_day, upcoming=upcoming, rules=RULES)
    assert (found[0] if found else None) == code


# --- check-in and attendance -------------------------------------------------------------------------

ARRIVALS = [
    ("09:59", Arrival.TOO_EARLY), ("10:00", Arrival.ON_TIME), ("10:30", Arrival.ON_TIME),
    ("10:40", Arrival.ON_TIME), ("10:41", Arrival.LATE), ("11:30", Arrival.LATE),
]


@pytest.mark.parametrize(("hhmm", "expected"), ARRIVALS)
def test_check_in_opens_early_min_before_the_slot_and_closes_grace_min_after_it_begins(hhmm, expected):
    assert arrival(TEN.start, TEN.end, local(MON, hhmm), RULES) is expected


def test_a_check_in_on_another_day_is_missed():
    assert arrival(TEN.start, TEN.end, TEN.start + timedelta(days=1), RULES) is Arrival.MISSED


ATTENDANCE = [
    ("booked", "10:00", Attendance.UPCOMING), ("booked", "10:35", Attendance.DUE),
    ("booked", "10:45", Attendance.LATE), ("booked", "11:00", Attendance.NO_SHOW),
    ("checked_in", "11:00", Attendance.CHECKED_IN), ("cancelled", "10:00", Attendance.CANCELLED),
    ("cancelled_by_branch", "12:00", Attendance.CANCELLED),
]


@pytest.mark.parametrize(("state", "hhmm", "expected"), ATTENDANCE)
def test_a_booking_is_upcoming_due_late_or_a_no_show_by_the_clock(state, hhmm, expected):
    assert attendance(state, TEN.start, TEN.end, local(MON, hhmm), RULES) is expected


# --- remote tickets -----------------------------------------------------------------------------------

REMOTE = [
    (0, 0, None, "an empty queue takes one"),
    (1, 1, "remote_cap", "one of two would be remote: over 0.3"),
    (1, 3, None, "two of four ≤ ceil(0.3 × 4)"),
    (2, 9, None, "three of ten ≤ ceil(3.0)"),
    (3, 6, "remote_cap", "four of seven > 3"),
]


@pytest.mark.parametrize(("remote", "waiting", "code", "why"), REMOTE, ids=[r[-1] for r in REMOTE])
def test_remote_tickets_stay_within_their_share_of_the_queue(remote, waiting, code, why):
    found = remote_refusal(remote_waiting=remote, waiting=waiting, rules=RemoteRules(True, None, 0.3), service="A")
    assert (found[0] if found else None) == code, why


def test_remote_tickets_only_for_services_that_allow_them():
    rules = RemoteRules(True, ("B",), 0.3)
    assert remote_refusal(remote_waiting=0, waiting=0, rules=rules, service="A")[0] == "remote_off"
    assert remote_refusal(remote_waiting=0, waiting=0, rules=RemoteRules(), service="A")[0] == "remote_off"


@pytest.mark.parametrize(("wait_s", "travel", "now"), [
    (600, 10, True), (601, 10, False), (None, 10, False), (0, None, False)])
def test_come_now_once_the_wait_is_no_longer_than_the_journey(wait_s, travel, now):
    assert come_now(wait_s, travel) is now


# --- slot ids, and the branch closing over booked days ------------------------------------------------

@pytest.mark.parametrize("text", ["", "A", "A-2026", "a-202603021000", "A-20260302100x", "AAA-202603021000",
                                  "A-202613021000", "A-202603021060", "1-202603021000"])
def test_anything_but_a_slot_id_is_refused(text):
    with pytest.raises(NotFound):
        parse_slot_id(text)


def test_a_holiday_or_shorter_hours_affect_only_the_bookings_outside_them():
    def b(id, day, hhmm, service="A"):
        start = local(day, hhmm)
        return Booked(id, service, start, start + timedelta(minutes=30))

    booked = [b(1, MON, "10:00"), b(2, date(2026, 3, 3), "10:00"), b(3, MON, "16:30"), b(4, MON, "10:00", "B")]
    shorter = {**WEEKDAYS, "mon": [["09:00", "12:00"], ["13:30", "16:30"]]}
    schedule = Schedule(ZONE, shorter, frozenset({"2026-03-03"}), {"A": None, "B": {"mon": [["14:00", "15:00"]]}})
    # A is gone from the configuration: every booking of it is affected.
    assert [x.id for x in affected(booked, Schedule(ZONE, shorter, service_hours={"B": None}))] == [1, 2, 3]
    assert [x.id for x in affected(booked, schedule)] == [2, 3, 4]


# --- properties -------------------------------------------------------------------------------------------

clock = st.integers(min_value=0, max_value=24 * 60).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
periods = st.lists(st.tuples(clock, clock).filter(lambda p: p[0] < p[1]), max_size=3)


@settings(max_examples=200, deadline=None)
@given(periods=periods, length=st.integers(min_value=5, max_value=240),
       day=st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_slots_lie_inside_the_opening_never_overlap_and_round_trip_their_ids(periods, length, day):
    hours = {"mon": periods, "tue": periods, "wed": periods, "thu": periods, "fri": periods, "sat": periods,
             "sun": periods}
    rules = AppointmentRules(enabled=True, slot_min=length)
    slots = day_slots(day, "A", rules=rules, capacity=1, timezone=ZONE, hours=hours)
    for s in slots:
        begin = s.start.hour * 60 + s.start.minute
        assert any(_m(a) <= begin and begin + length <= _m(z) for a, z in periods)
        assert parse_slot_id(s.id) == ("A", s.start.date(), s.start.time().replace(tzinfo=None))
        assert slot_id("A", s.start) == s.id
    assert all(a.end <= b.start for a, b in zip(slots, slots[1:], strict=False)) or _overlapping(periods)


def _m(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _overlapping(periods) -> bool:
    spans = sorted((_m(a), _m(z)) for a, z in periods)
    return any(s2 < e1 for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(waiting=st.integers(min_value=0, max_value=200), share=st.floats(min_value=0.05, max_value=0.95))
def test_taking_remote_tickets_until_refused_never_passes_the_share(waiting, share):
    rules = RemoteRules(True, None, share)
    remote = 0
    while remote_refusal(remote_waiting=remote, waiting=remote + waiting, rules=rules, service="A") is None:
        remote += 1
        assert remote <= math.ceil(share * (remote + waiting) - 1e-9), "over the share"
        assert remote <= 10_000
    assert remote >= 1, "an empty share still lets one in"


def test_late_is_walk_in_or_refuse():
    assert {m.value for m in Late} == {"walk_in", "refuse"}
