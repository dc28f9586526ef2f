"""Appointment slots, the check-in window and the limits on bookings: pure rules.

A branch that takes appointments (its ``appointments:`` settings, :class:`AppointmentRules`)
cuts each service's opening periods into slots of ``slot_min`` minutes; only whole slots
inside a period count. A slot's capacity is fixed (``capacity``) or a share of the
counters that serve the service (``share``): with 3 counters, a share of 0.5 and a
30-minute slot of a 10-minute service, ``floor(0.5 × 3 × 30 / 10) = 4`` places.

Booking a slot (:func:`refusal`): not in the past, not after the cut-off (``cutoff_min``
before it starts), not beyond ``days_ahead`` days, and a contact holds at most
``per_contact_day`` bookings on one day and ``per_contact_open`` upcoming ones.

Check-in (:func:`arrival`): from ``early_min`` minutes before the slot to ``grace_min``
after its start. Inside that window the ticket ranks as if it had arrived at the slot's
start (:func:`queue_time`): an early customer waits behind those who came before the
slot began, a customer who checks in a few minutes late still goes before walk-ins who
came after the slot began. Later than the grace time the branch decides (``late``):
``walk_in`` issues an ordinary ticket of the service, ranked by its arrival, ``refuse``
refuses the check-in.

Remote tickets (:func:`remote_refusal`): taken from the phone while the branch is open,
for services that allow it, and never more than ``cap_share`` of the service's queue.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import NotFound
from .hours import WEEKDAYS

Hours = Mapping[str, Sequence[Sequence[str]]]


class Late(enum.StrEnum):
    """What becomes of a customer who checks in after the grace time."""

    WALK_IN = "walk_in"
    REFUSE = "refuse"


class Arrival(enum.StrEnum):
    """Where a check-in falls against the slot's window."""

    TOO_EARLY = "too_early"
    ON_TIME = "on_time"
    LATE = "late"
    """Past the grace time: a walk-in, or refused, as the branch says."""
    MISSED = "missed"
    """The slot's day is over (or it is not the slot's day)."""


class BookingState(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    CANCELLED_BY_BRANCH = "cancelled_by_branch"


class Attendance(enum.StrEnum):
    """How a booking stands at an instant, for the staff's list and the reports."""

    UPCOMING = "upcoming"
    DUE = "due"
    """The slot has begun, within the grace time, not checked in yet."""
    LATE = "late"
    """Past the grace time, the slot not over, not checked in."""
    NO_SHOW = "no_show"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class AppointmentRules:
    """A branch's ``appointments:`` settings."""

    enabled: bool = False
    services: tuple[str, ...] | None = None
    """Service codes that take appointments; None: every service."""
    slot_min: int = 30
    capacity: int | None = None
    """Places per slot; None: ``share`` of the counters that serve the service."""
    share: float = 0.5
    days_ahead: int = 14
    cutoff_min: int = 60
    early_min: int = 30
    grace_min: int = 10
    late: Late = Late.REFUSE
    per_contact_day: int = 1
    per_contact_open: int = 3

    def takes(self, service: str) -> bool:
        return self.enabled and (self.services is None or service in self.services)


@dataclass(frozen=True, slots=True)
class RemoteRules:
    """A branch's ``remote:`` settings: today's ticket from the phone."""

    enabled: bool = False
    services: tuple[str, ...] | None = None
    cap_share: float = 0.3
    """Of the service's waiting tickets, at most this share may be remote ones."""

    def takes(self, service: str) -> bool:
        return self.enabled and (self.services is None or service in self.services)


@dataclass(frozen=True, slots=True)
class Slot:
    """One bookable slot of a service, as aware instants in the branch's zone."""

    service: str
    start: datetime
    end: datetime
    capacity: int

    @property
    def id(self) -> str:
        return slot_id(self.service, self.start)


def slot_id(service: str, start: datetime) -> str:
    """The opaque id a booking sends back: ``A-202612070930`` (local start)."""
    return f"{service}-{start:%Y%m%d%H%M}"


def parse_slot_id(text: str) -> tuple[str, date, time]:
    """``A-202612070930`` → (``A``, the day, the local start).

    Raises:
        NotFound: no slot has this id (``no_such_slot``): it names no day and time.
    """
    service, _, stamp = text.partition("-")
    try:
        if not (1 <= len(service) <= 2 and service.isalpha() and service.isupper() and len(stamp) == 12):
            raise ValueError
        at = datetime.strptime(stamp, "%Y%m%d%H%M")
    except ValueError:
        raise NotFound(f"no slot {text[:40]!r}", code="no_such_slot") from None
    return service, at.date(), at.time()


def _minutes(hhmm: str) -> int:
    if hhmm == "24:00":
        return 24 * 60
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def periods(hours: Hours | None, day: date) -> list[tuple[int, int]]:
    """The day's open periods as minutes since midnight; empty ``hours`` means all day."""
    if not hours:
        return [(0, 24 * 60)]
    return sorted((_minutes(s), _minutes(e)) for s, e in hours.get(WEEKDAYS[day.weekday()], []))


def _intersect(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out = [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b]
    return sorted((s, e) for s, e in out if s < e)


def slot_capacity(rules: AppointmentRules, *, counters: int, target_service_s: int) -> int:
    """Places in one slot: the fixed capacity, or the share of the counters serving the service."""
    if rules.capacity is not None:
        return rules.capacity
    per_counter = rules.slot_min * 60 / max(target_service_s, 1)
    return math.floor(rules.share * counters * per_counter + 1e-9)


def day_slots(
    day: date,
    service: str,
    *,
    rules: AppointmentRules,
    capacity: int,
    timezone: str,
    hours: Hours | None,
    service_hours: Hours | None = None,
    holidays: Iterable[str] = (),
) -> list[Slot]:
    """Every slot of ``service`` on ``day``: whole slots of the periods the branch and service are both open.

    None on a holiday, for a service without appointments, or with no capacity.
    """
    if not rules.takes(service) or capacity <= 0 or day.isoformat() in set(holidays):
        return []
    zone = ZoneInfo(timezone)
    open_ = periods(hours, day)
    if service_hours:
        open_ = _intersect(open_, periods(service_hours, day))
    midnight = datetime.combine(day, time(0), zone)
    slots: list[Slot] = []
    for start, end in open_:
        at = start
        while at + rules.slot_min <= end:
            begin = _local(midnight, at)
            slots.append(Slot(service, begin, _local(midnight, at + rules.slot_min), capacity))
            at += rules.slot_min
    return slots


def _local(midnight: datetime, minutes: int) -> datetime:
    """The wall-clock time ``minutes`` after midnight (a DST change moves the instant, not the label)."""
    day = midnight.date() + timedelta(days=minutes // (24 * 60))
    minutes %= 24 * 60
    return datetime.combine(day, time(minutes // 60, minutes % 60), midnight.tzinfo)


def find_slot(slots: Iterable[Slot], wanted: str) -> Slot | None:
    return next((s for s in slots if s.id == wanted), None)


def refusal(slot: Slot, now: datetime, rules: AppointmentRules) -> tuple[str, str] | None:
    """Why ``slot`` cannot be booked at ``now`` (code, message), or None."""
    if slot.start <= now:
        return "slot_past", "this slot has already begun"
    if slot.start - now < timedelta(minutes=rules.cutoff_min):
        return "cut_off", f"slots close for booking {rules.cutoff_min} min before they begin"
    today = now.astimezone(slot.start.tzinfo).date()
    if (slot.start.date() - today).days > rules.days_ahead:
        return "too_far", f"slots can be booked at most {rules.days_ahead} days ahead"
    return None


def contact_refusal(*, on_day: int, upcoming: int, rules: AppointmentRules) -> tuple[str, str] | None:
    """Why one more booking for this contact is refused, or None (``on_day``/``upcoming``: what it holds)."""
    if on_day >= rules.per_contact_day:
        return "contact_limit", f"one contact may hold {rules.per_contact_day} booking(s) a day"
    if upcoming >= rules.per_contact_open:
        return "contact_limit", f"one contact may hold {rules.per_contact_open} upcoming booking(s)"
    return None


def arrival(start: datetime, end: datetime, now: datetime, rules: AppointmentRules) -> Arrival:
    """Where a check-in at ``now`` falls against the slot ``[start, end)``."""
    if now < start - timedelta(minutes=rules.early_min):
        return Arrival.TOO_EARLY
    if now.astimezone(start.tzinfo).date() != start.date():
        return Arrival.MISSED
    if now <= start + timedelta(minutes=rules.grace_min):
        return Arrival.ON_TIME
    return Arrival.LATE


def queue_time(start: datetime, now: datetime, on_time: bool) -> datetime:
    """Where a checked-in customer enters the queue: the slot's start when on time, else now."""
    return start if on_time else now


def attendance(
    state: BookingState | str, start: datetime, end: datetime, now: datetime, rules: AppointmentRules
) -> Attendance:
    """How a booking stands at ``now``: the staff list's and the reports' one rule."""
    state = BookingState(state)
    if state is BookingState.CHECKED_IN:
        return Attendance.CHECKED_IN
    if state is not BookingState.BOOKED:
        return Attendance.CANCELLED
    if now < start:
        return Attendance.UPCOMING
    if now <= start + timedelta(minutes=rules.grace_min):
        return Attendance.DUE
    if now < end:
        return Attendance.LATE
    return Attendance.NO_SHOW


def remote_refusal(*, remote_waiting: int, waiting: int, rules: RemoteRules, service: str) -> tuple[str, str] | None:
    """Why a remote ticket is refused now (code, message), or None.

    ``waiting``: every waiting ticket of the service, remote ones included. With the new
    ticket, remote tickets may be at most ``cap_share`` of the queue, and one is always
    allowed into an empty queue (``ceil``).
    """
    if not rules.takes(service):
        return "remote_off", f"service {service} takes no tickets from the phone"
    allowed = math.ceil(rules.cap_share * (waiting + 1) - 1e-9)
    if remote_waiting + 1 > allowed:
        return "remote_cap", "the share of tickets taken from the phone is full; please come to the branch"
    return None


def come_now(estimated_wait_s: int | None, travel_min: int | None) -> bool:
    """Advice on the phone: leave now when the wait is no longer than the journey."""
    if travel_min is None:
        return False
    return estimated_wait_s is not None and estimated_wait_s <= travel_min * 60


@dataclass(frozen=True, slots=True)
class Booked:
    """What :func:`affected` needs of a booking: its id and slot."""

    id: int
    service: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Schedule:
    """A branch's opening as far as slots care, for :func:`affected`."""

    timezone: str
    hours: Hours | None
    holidays: frozenset[str] = field(default_factory=frozenset)
    service_hours: Mapping[str, Hours | None] = field(default_factory=dict)


def still_open(b: Booked, schedule: Schedule) -> bool:
    """Whether the whole of ``b``'s slot is still inside the branch's (and service's) opening.

    A service no longer in the configuration (``service_hours`` names every service) has no opening.
    """
    if schedule.service_hours and b.service not in schedule.service_hours:
        return False
    local = b.start.astimezone(ZoneInfo(schedule.timezone))
    day = local.date()
    if day.isoformat() in schedule.holidays:
        return False
    open_ = periods(schedule.hours, day)
    own = schedule.service_hours.get(b.service)
    if own:
        open_ = _intersect(open_, periods(own, day))
    begin = local.hour * 60 + local.minute
    length = int((b.end - b.start).total_seconds() // 60)
    return any(s <= begin and begin + length <= e for s, e in open_)


def affected(bookings: Iterable[Booked], schedule: Schedule) -> list[Booked]:
    """The bookings a new holiday or shorter hours leave outside the opening: to cancel and tell."""
    return [b for b in bookings if not still_open(b, schedule)]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A booking as the reports see it: its slot, its state, its ticket's first call."""

    state: BookingState
    start: datetime
    end: datetime
    on_time: bool | None = None
    checked_in_at: datetime | None = None
    first_called_at: datetime | None = None


def figures(outcomes: Iterable[Outcome], *, tickets: int, walk_in_waits: Sequence[int], now: datetime,
            rules: AppointmentRules) -> dict[str, object]:
    """Appointment share, punctuality, no-show rate and the waits of appointments against walk-ins.

    - ``appointment_share``: tickets that were checked-in appointments, of all ``tickets``;
    - ``punctuality``: of appointments called, those first called by slot start + grace;
    - ``no_show_rate``: of bookings whose slot (and grace) is over and not cancelled, those never checked in;
    - ``appointment_wait_s``: mean from the later of check-in and slot start to the first call;
    - ``walk_in_wait_s``: mean wait of the other tickets (``walk_in_waits``).
    """
    booked = [o for o in outcomes if o.state in (BookingState.BOOKED, BookingState.CHECKED_IN)]
    appointments = [o for o in booked if o.state is BookingState.CHECKED_IN and o.on_time]
    called = [o for o in appointments if o.first_called_at is not None]
    punctual = [o for o in called
                if o.first_called_at is not None and o.first_called_at <= o.start + timedelta(minutes=rules.grace_min)]
    over = [o for o in booked if attendance(o.state, o.start, o.end, now, rules)
            in (Attendance.NO_SHOW, Attendance.CHECKED_IN)]
    no_shows = [o for o in over if o.state is BookingState.BOOKED]
    waits = [
        (o.first_called_at - max(o.start, o.checked_in_at or o.start)).total_seconds()
        for o in called if o.first_called_at is not None
    ]

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    return {
        "bookings": len(booked),
        "cancelled": sum(1 for o in outcomes if o.state not in (BookingState.BOOKED, BookingState.CHECKED_IN)),
        "checked_in": sum(1 for o in booked if o.state is BookingState.CHECKED_IN),
        "appointment_tickets": len(appointments),
        "appointment_share": share(len(appointments), tickets),
        "punctuality": share(len(punctual), len(called)),
        "no_show_rate": share(len(no_shows), len(over)),
        "appointment_wait_s": round(sum(max(w, 0) for w in waits) / len(waits)) if waits else None,
        "walk_in_wait_s": round(sum(walk_in_waits) / len(walk_in_waits)) if walk_in_waits else None,
    }
