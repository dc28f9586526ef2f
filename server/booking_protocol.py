"""Wire models of appointments and remote tickets: every request body and every answer.

Beside :mod:`server.protocol` (whose :class:`~server.protocol.Body` and
:class:`~server.protocol.Answer` they build on), as the complaint routes' are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from server.complaint_protocol import Phone
from server.domain.slots import Attendance, BookingState
from server.protocol import Answer, Body, ServiceCode, TicketIssued

#: A name and an e-mail address without control characters (NUL included: PostgreSQL cannot store it).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00-\x1f]+$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120,
                                         pattern=r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,100}\.[^@\s\x00-\x1f]{1,20}$")]
SlotId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}-[0-9]{12}$")]
BookingCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{6,12}$")]
BookingToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Language = Literal["zh-CN", "en", "zh-TW"]


class SlotOut(Answer):
    slot: str
    """The opaque id a booking sends back."""
    start: datetime
    end: datetime
    capacity: int
    free: int


class SlotsAnswer(Answer):
    service: str
    date: date
    slots: list[SlotOut]


class BookingContact(Body):
    """Whom to remind: a name and a phone number or an e-mail address (at least one)."""

    name: Name
    phone: Phone | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _reachable(self) -> BookingContact:
        if not self.phone and not self.email:
            raise ValueError("a contact needs a phone number or an e-mail address")
        return self


class BookingIn(Body):
    service: ServiceCode
    slot: SlotId
    contact: BookingContact
    consent: Literal[True]
    """The customer agrees to be contacted about this booking (reminders, changes): required."""
    language: Language | None = None


class Reschedule(Body):
    slot: SlotId


class CheckIn(Body):
    """A kiosk checks in by code alone; the customer's phone sends the booking's token too."""

    token: BookingToken | None = None
    language: Language | None = None


class BookingCreated(Answer):
    code: str
    token: str
    slot: str
    service: str
    start: datetime
    end: datetime
    status_url: str


class BookingTicket(Answer):
    number: str
    token: str
    state: str


class PublicBooking(Answer):
    """The booking as its holder sees it, by its token."""

    code: str
    state: BookingState
    attendance: Attendance
    service: str
    service_names: dict[str, str]
    branch: str
    slot: str
    start: datetime
    end: datetime
    check_in_from: datetime
    check_in_until: datetime
    ticket: BookingTicket | None = None


class CheckedIn(Answer):
    code: str
    on_time: bool
    """Checked in within the window: ranked by the slot's start. False: late, issued as a walk-in."""
    ticket: TicketIssued
    status_url: str


class SlotTally(Answer):
    slot: str
    start: datetime
    end: datetime
    capacity: int
    booked: int
    checked_in: int
    due: int
    late: int
    no_show: int
    upcoming: int
    cancelled: int


class ServiceBookings(Answer):
    service: str
    slots: list[SlotTally]


class BookingLine(Answer):
    code: str
    service: str
    slot: str
    start: datetime
    state: BookingState
    attendance: Attendance
    name: str
    """Masked, as lists show contacts."""
    ticket: str | None
    """The ticket's number once checked in."""


class DayBookings(Answer):
    date: date
    services: list[ServiceBookings]
    bookings: list[BookingLine]


class RemoteIn(Body):
    service: ServiceCode
    travel_min: Annotated[int, Field(ge=0, le=600)] | None = None
    """How long the customer needs to reach the branch: the page says "come now" once the wait is no longer."""
    language: Language | None = None


class RemoteIssued(Answer):
    ticket: TicketIssued
    come_now: bool
    status_url: str
