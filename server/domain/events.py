"""The event catalogue: every kind of event branchq records, the data it carries, who sees what.

An event is a fact, named in the past tense (``ticket.called``), written in the same
transaction as the change it records and then sent to the branch's screens. Each kind
is defined once here, and that one definition is used everywhere the event travels:

- the services emit it (:meth:`EventKind.check` refuses a key the kind does not have,
  a missing required key, or a value of the wrong type — so an event no screen can
  read never reaches the log);
- the store appends it, and refuses a kind that is not in :data:`CATALOGUE`;
- the hub and the snapshot project it per view (:func:`project`): staff views
  (``counter``, ``dashboard``) see all of it, devices only the fields marked for them;
- the wire models in :mod:`server.protocol` are generated from it, and so is the
  module the browser pages import (``/static/common/events.js``).

Who sees which field. A field is marked with the device views that may see it:

    DISPLAY     waiting-area boards and counter-top screens
    KIOSK       every kiosk of the branch
    KIOSK_OWN   the kiosk the event is about (``data["device"]`` is its id): its own
                ticket's number and estimate, its own printer
    EVALUATOR   the rating pad at a counter, for kinds with ``evaluator=True``

A kind with ``private=True`` reaches staff views only. Customer data (tokens, green
reasons, comments, contacts) is in no event at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Flag, auto
from typing import Any


class Seen(Flag):
    """The device views that may see a field (staff views see every field)."""

    NONE = 0
    DISPLAY = auto()
    KIOSK = auto()
    KIOSK_OWN = auto()
    EVALUATOR = auto()


STAFF_VIEWS = frozenset({"counter", "dashboard"})
DEVICE_VIEWS = frozenset({"display", "kiosk", "evaluator"})
VIEWS = STAFF_VIEWS | DEVICE_VIEWS

#: Python types of a field's values, for :meth:`EventKind.check` and the wire models.
Scalar = type | tuple[type, ...]


@dataclass(frozen=True, slots=True)
class Field:
    """One key of an event's data: its type, whether it may be left out, who sees it."""

    name: str
    type: Scalar
    seen: Seen = Seen.NONE
    optional: bool = False
    nullable: bool = False
    doc: str = ""


def _f(name: str, type_: Scalar, seen: Seen = Seen.NONE, **options: Any) -> Field:
    return Field(name, type_, seen, **options)


_D, _K, _KO, _E = Seen.DISPLAY, Seen.KIOSK, Seen.KIOSK_OWN, Seen.EVALUATOR

# Fields shared by many kinds, defined once.
TICKET_ID = _f("id", int, _D | _KO, doc="the ticket's id")
NUMBER = _f("number", str, _D | _KO | _E, doc="the ticket's number, e.g. A023")
SERVICE = _f("service", str, _D | _K | _KO | _E, doc="service code")
PRIORITY = _f("priority", str, _D | _K | _KO, doc="normal | green")
STATE = _f("state", str, _D | _K | _KO | _E, doc="the ticket's (or counter's) state after the event")
COUNTER = _f("counter", int, _D | _K | _KO | _E, nullable=True, doc="counter number")
POSITION = _f("position", str, _D, doc="first | last | original")
DEVICE = _f("device", int, nullable=True, doc="the device concerned (the issuing kiosk)")
STAFF = _f("staff", int, doc="a staff member's id")


@dataclass(frozen=True, slots=True)
class EventKind:
    """One kind of event: its name, its data fields, and who may see it."""

    name: str
    fields: tuple[Field, ...]
    doc: str
    private: bool = False
    """Staff views only; devices get a placeholder with the seq (so they see no gap)."""
    evaluator: bool = False
    """The counter's rating pad follows this kind."""
    kiosk_own_all: bool = False
    """The kiosk the event is about sees all of it; other devices nothing (its own printer)."""
    by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def has_own_view(self) -> bool:
        """Whether the kiosk the event is about sees more than the other kiosks."""
        return self.kiosk_own_all or any(
            Seen.KIOSK_OWN in f.seen and Seen.KIOSK not in f.seen for f in self.fields
        )

    def check(self, data: Mapping[str, Any]) -> None:
        """Raise :class:`UndefinedEvent` unless ``data`` is what this kind defines."""
        unknown = sorted(set(data) - set(self.by_name))
        if unknown:
            raise UndefinedEvent(f"{self.name} has no field {', '.join(unknown)}")
        for f in self.fields:
            if f.name not in data:
                if not f.optional:
                    raise UndefinedEvent(f"{self.name} needs the field {f.name}")
                continue
            value = data[f.name]
            if value is None:
                if not f.nullable:
                    raise UndefinedEvent(f"{self.name}.{f.name} may not be null")
                continue
            if isinstance(value, bool) and f.type is int:
                raise UndefinedEvent(f"{self.name}.{f.name} is a number, not {value!r}")
            if not isinstance(value, f.type):
                raise UndefinedEvent(f"{self.name}.{f.name} has the wrong type: {value!r}")

    def fields_for(self, view: str, *, own: bool = False) -> frozenset[str] | None:
        """The data keys ``view`` may see (every key for staff), or None: not this kind at all."""
        if view in STAFF_VIEWS:
            return frozenset(self.by_name)
        if view not in DEVICE_VIEWS:
            return None
        if self.kiosk_own_all:
            return frozenset(self.by_name) if view == "kiosk" and own else None
        if self.private:
            return None
        if view == "display":
            wanted = Seen.DISPLAY
        elif view == "kiosk":
            wanted = Seen.KIOSK_OWN if own else Seen.KIOSK
        else:
            if not self.evaluator:
                return None
            wanted = Seen.EVALUATOR
        return frozenset(f.name for f in self.fields if wanted in f.seen)


class UndefinedEvent(Exception):
    """An event whose kind or data the catalogue does not define: a bug, never a user's error."""


CATALOGUE: dict[str, EventKind] = {}


def define(name: str, doc: str, *fields: Field, **options: Any) -> EventKind:
    """Add a kind to :data:`CATALOGUE` (at import time; each name once)."""
    if name in CATALOGUE:
        raise ValueError(f"event kind {name} is defined twice")
    kind = EventKind(name, fields, doc, **options)
    CATALOGUE[name] = kind
    return kind


def kind_named(name: str) -> EventKind:
    """The definition of ``name``; :class:`UndefinedEvent` for a kind nobody defined."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UndefinedEvent(f"no event kind {name!r} is defined in server.domain.events") from None


def project(kind: EventKind, data: Mapping[str, Any], view: str, *, own: bool = False) -> dict[str, Any] | None:
    """``data`` as ``view`` may see it, or None when it may not see this kind at all."""
    keys = kind.fields_for(view, own=own)
    if keys is None:
        return None
    if view in STAFF_VIEWS or kind.kiosk_own_all:
        return dict(data)
    return {k: v for k, v in data.items() if k in keys}


# --- tickets ------------------------------------------------------------------------------

_TICKET = (TICKET_ID, NUMBER, SERVICE, PRIORITY, STATE, COUNTER)

TICKET_ISSUED = define(
    "ticket.issued", "A ticket was issued at a kiosk or by staff.",
    *_TICKET,
    _f("ahead", int, _KO, doc="people ahead at issue"),
    _f("estimated_wait_s", int, _KO, nullable=True,
       doc="estimated wait at issue, seconds; null when no counter serving it was open"),
    DEVICE,
    _f("language", str, _KO, optional=True, doc="the customer's language at the kiosk (its ticket prints in it)"),
    _f("appointment", str, optional=True, doc="a checked-in appointment: its slot's start (ISO 8601), staff only"),
)
TICKET_CALLED = define("ticket.called", "A counter called the ticket.", *_TICKET, evaluator=True)
TICKET_RECALLED = define("ticket.recalled", "The counter called its ticket again.", *_TICKET, evaluator=True)
TICKET_STARTED = define("ticket.started", "Service of the ticket began.", *_TICKET, evaluator=True)
TICKET_FINISHED = define("ticket.finished", "Service of the ticket ended.", *_TICKET, evaluator=True)
TICKET_NO_SHOW = define("ticket.no_show", "The called customer did not come.", *_TICKET, evaluator=True)
TICKET_TRANSFERRED = define(
    "ticket.transferred", "The ticket was sent to another service or counter, keeping its number.",
    *_TICKET,
    _f("from_counter", int, _D, doc="the counter it left"),
    POSITION,
    _f("to_counter", int, _D, optional=True, doc="the counter it was sent to (else a service)"),
    evaluator=True,
)
TICKET_CANCELLED = define("ticket.cancelled", "The customer gave the ticket up.", *_TICKET)
TICKET_REQUEUED = define(
    "ticket.requeued", "A no-show came back within the grace time.", *_TICKET, POSITION,
    _f("issued_at", str, doc="its first issue time (ISO 8601), for its place in the queue"),
    _f("queued_at", str, doc="its place in the queue (ISO 8601)"),
    _f("head", bool, doc="at the head of its queue"),
    _f("target_counter", int, nullable=True, doc="the counter it waits for, if any"),
    _f("recalls", int), _f("transfers", int),
)
TICKET_SERVICE_CHANGED = define(
    "ticket.service_changed",
    "The lobby manager moved a waiting ticket to another service; it keeps its number and its place by issue time.",
    *_TICKET,
    _f("from_service", str, _D, doc="the service it waited for before"),
    _f("issued_at", str, doc="its issue time (ISO 8601), which is its place in the new queue"),
    _f("queued_at", str, doc="its place in the queue (ISO 8601)"),
    _f("head", bool, doc="at the head of its queue"),
)
TICKET_REPRINT_REQUESTED = define(
    "ticket.reprint_requested",
    "A copy of the ticket is to be printed at a kiosk (that kiosk alone hears it, and prints it at once).",
    _f("job", int, doc="the print job's id"), TICKET_ID, NUMBER, DEVICE,
    kiosk_own_all=True,
)
TICKET_EXPIRED = define(
    "ticket.expired", "The business day closed with the ticket still waiting or called.",
    TICKET_ID, NUMBER, SERVICE, STATE,
    _f("business_date", str, optional=True, doc="the branch's new business day (ISO date)"),
)
FEEDBACK_GIVEN = define(
    "feedback.given", "The customer rated the service.",
    *_TICKET, _f("score", int, doc="1–5"),
    private=True,
)

# --- counters -----------------------------------------------------------------------------

_COUNTER = (
    _f("counter", int, _D | _K | _KO | _E, doc="counter number"),
    _f("state", str, _D | _K | _KO | _E, doc="the counter's state after the event"),
)

COUNTER_OPENED = define(
    "counter.opened", "A teller opened the counter (a manager may take it over).",
    *_COUNTER,
    _f("staff", str, _E, doc="the teller's username (their staff number, shown on the rating pad)"),
    _f("takeover", bool, doc="a manager took an open counter over"),
    evaluator=True,
)
COUNTER_PAUSED = define(
    "counter.paused", "The counter paused.",
    *_COUNTER,
    _f("code", str, _D, nullable=True, doc="one of the fixed reasons a public screen may show (PAUSE_CODES)"),
    _f("reason", str, nullable=True, doc="the teller's own words: staff screens only"),
    evaluator=True,
)
COUNTER_CLOSED = define("counter.closed", "The counter closed.", *_COUNTER, evaluator=True)

# --- notices, devices, accounts, configuration -------------------------------------------

NOTICE_POSTED = define(
    "notice.posted", "A manager posted a notice (emergency: the whole board).",
    _f("id", int, _D, doc="the notice's id"), _f("level", str, _D | _K | _KO, doc="info | emergency"),
)
NOTICE_CLEARED = define("notice.cleared", "A notice was taken down.", _f("id", int, _D, doc="the notice's id"))
DEVICE_STATUS = define(
    "device.status", "A device's health changed (a kiosk's printer).",
    _f("device", int), _f("name", str), _f("kind", str), _f("status", dict),
    kiosk_own_all=True,
)
DEVICE_REVOKED = define(
    "device.revoked", "A device's token was revoked: its sockets close on every process.",
    _f("device", int), private=True,
)
STAFF_DISABLED = define(
    "staff.disabled", "An account was disabled: its sockets close on every process.",
    STAFF, private=True,
)
BRANCH_CONFIGURED = define(
    "branch.configured", "The branch's configuration changed: screens fetch a fresh snapshot.",
    _f("changes", int, doc="how many changes"),
)

#: The counter kinds, in the order a counter's day goes through them.
# Complaint cases: staff screens only (private), and no contact in them.
_CASE = (_f("id", int, doc="the case's id"), _f("number", str, doc="the case number"),
         _f("state", str, doc="the case's state after the event"), _f("due_on", str, doc="the due day"))
COMPLAINT_RECEIVED = define("complaint.received", "A complaint case was received.", *_CASE,
                            _f("channel", str), _f("category", str), private=True)
COMPLAINT_STEPPED = define("complaint.stepped", "A step was taken on a complaint case.", *_CASE,
                           _f("action", str), private=True)
COMPLAINT_ESCALATED = define("complaint.escalated", "An overdue case went to a superior by itself.", *_CASE,
                             private=True)

# Appointments: staff screens only (private), and no contact in them.
_BOOKING = (
    _f("id", int, doc="the booking's id"), _f("code", str, doc="the booking's code"),
    SERVICE, _f("slot", str, doc="the slot's id"), _f("start", str, doc="the slot's start (ISO 8601)"),
    _f("state", str, doc="booked | checked_in | cancelled | cancelled_by_branch"),
)
BOOKING_BOOKED = define("booking.booked", "A customer booked a slot.", *_BOOKING, private=True)
BOOKING_RESCHEDULED = define("booking.rescheduled", "A customer moved a booking to another slot.", *_BOOKING,
                             _f("from_slot", str, doc="the slot it left"), private=True)
BOOKING_CANCELLED = define("booking.cancelled", "A booking was cancelled, by its customer or by the branch.",
                           *_BOOKING, _f("by", str, doc="customer | branch"), private=True)
BOOKING_CHECKED_IN = define(
    "booking.checked_in", "A booked customer checked in: a ticket of the live queue.", *_BOOKING,
    _f("ticket", int, doc="the ticket's id"), _f("number", str, doc="the ticket's number"),
    _f("on_time", bool, doc="within the window (ranked by the slot's start); false: late, a walk-in"),
    private=True,
)
BOOKING_KINDS = tuple(k.name for k in (BOOKING_BOOKED, BOOKING_RESCHEDULED, BOOKING_CANCELLED, BOOKING_CHECKED_IN))

COUNTER_KINDS = (COUNTER_OPENED.name, COUNTER_PAUSED.name, COUNTER_CLOSED.name)
#: Kinds that end the sockets of whoever they name: kind → (actor kind, data key of its id).
REVOKING: dict[str, tuple[str, str]] = {
    DEVICE_REVOKED.name: ("device", "device"),
    STAFF_DISABLED.name: ("staff", "staff"),
}
#: Kinds that a call announcement is made of (the board's "recent calls").
CALLS = (TICKET_CALLED.name, TICKET_RECALLED.name)
#: What a device's snapshot shows of a counter's current ticket (never its id or priority).
DEVICE_TICKET_FIELDS = (NUMBER.name, SERVICE.name, STATE.name)
#: Every kind that moves a ticket (a counter's queue may have changed).
TICKET_KINDS = tuple(
    k.name
    for k in (
        TICKET_ISSUED, TICKET_CALLED, TICKET_RECALLED, TICKET_STARTED, TICKET_FINISHED, TICKET_NO_SHOW,
        TICKET_TRANSFERRED, TICKET_CANCELLED, TICKET_REQUEUED, TICKET_SERVICE_CHANGED, TICKET_EXPIRED,
    )
)

# --- emergency mode -----------------------------------------------------------------------

_INCIDENT_ID = _f("id", int, _D | _K, doc="the incident's id")
_DRILL = _f("drill", bool, _D | _K, doc="a drill: shown as 演练 DRILL, run the same way")

EMERGENCY_STARTED = define(
    "emergency.started",
    "A manager started emergency mode: issuing stops for the scope; every screen shows the message.",
    _INCIDENT_ID,
    _f("kind", str, _D | _K, doc="system_failure | disaster | crowd | other"),
    _f("scope", (str, list), _D | _K, doc='"all" or the service codes whose issuing stopped'),
    _f("texts", dict, _D | _K, doc="the message: language tag → text (zh-CN always)"),
    _DRILL,
    _f("started_at", str, _D | _K, doc="when it started (ISO 8601)"),
)
EMERGENCY_ENDED = define(
    "emergency.ended", "Emergency mode ended: issuing resumes; every screen restores.",
    _INCIDENT_ID, _DRILL,
    _f("ended_at", str, _D | _K, doc="when it ended (ISO 8601)"),
)
EMERGENCY_UPDATED = define(
    "emergency.updated", "A line was added to the incident's timeline (a note, an action, reported upward).",
    _INCIDENT_ID, _f("entry", str, doc="note | action | reported_upward"),
    private=True,
)
#: The kinds that change what the screens show of an emergency.
EMERGENCY_KINDS = (EMERGENCY_STARTED.name, EMERGENCY_ENDED.name, EMERGENCY_UPDATED.name)
# --- supervision: service-standard breaches, inspections and rectification ---------------
# Staff screens only: the branch's dashboards (a regional manager's included, on that branch).

_BREACH = (
    _f("id", int, doc="the breach's record id"),
    _f("rule", str, doc="wait_target | wait_max | service_target | service_max | queue_length | counter_idle"),
    _f("service", str, nullable=True, doc="service code"),
    _f("counter", int, nullable=True, doc="counter number (counter rules)"),
    _f("severity", str, doc="warning | severe"),
    _f("level", int, doc="1: the branch's managers; 2: escalated to the regional manager"),
)

ALERT_RAISED = define(
    "alert.raised", "A service standard stopped holding: a breach was recorded.",
    *_BREACH,
    _f("facts", dict, doc="the figures (seconds, counts) against the limit"),
    _f("suggestion", dict, nullable=True, doc="open_counter K | move_teller X to K | call_next | check_counter"),
    _f("raised_at", str, doc="ISO 8601"),
    private=True,
)
ALERT_ACKNOWLEDGED = define(
    "alert.acknowledged", "A manager acknowledged a breach, with a note.",
    *_BREACH,
    _f("by", str, doc="who acknowledged it (username)"),
    _f("note", str), _f("acknowledged_at", str, doc="ISO 8601"),
    private=True,
)
ALERT_CLEARED = define(
    "alert.cleared", "A breached standard holds again.", *_BREACH,
    _f("cleared_at", str, doc="ISO 8601"), private=True,
)
ALERT_ESCALATED = define(
    "alert.escalated", "A breach unacknowledged for too long went to the regional manager.",
    *_BREACH,
    _f("to", list, doc="usernames of the regional managers (and administrators) told"),
    _f("escalated_at", str, doc="ISO 8601"),
    private=True,
)
INSPECTION_RECORDED = define(
    "inspection.recorded", "An inspector recorded a visit; each failed item got a rectification notice.",
    _f("id", int), _f("passed", int), _f("failed", int), _f("rectifications", list, doc="their ids"),
    private=True,
)
RECTIFICATION_REPORTED = define(
    "rectification.reported", "The owner reported a rectification done.",
    _f("id", int), _f("item", str), _f("state", str), private=True,
)
RECTIFICATION_RECHECKED = define(
    "rectification.rechecked", "The inspector re-checked a rectification: closed or reopened.",
    _f("id", int), _f("item", str), _f("state", str), private=True,
)
RECTIFICATION_OVERDUE = define(
    "rectification.overdue", "A rectification passed its deadline undone: escalated.",
    _f("id", int), _f("item", str), _f("state", str), _f("deadline", str, doc="ISO 8601"),
    _f("to", list, doc="usernames told (the branch's managers, regional managers, administrators)"),
    private=True,
)
#: The kinds of the breach record's life, for the dashboard.
ALERT_KINDS = tuple(k.name for k in (ALERT_RAISED, ALERT_ACKNOWLEDGED, ALERT_CLEARED, ALERT_ESCALATED))
