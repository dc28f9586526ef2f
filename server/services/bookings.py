"""Appointments and remote tickets: slots, booking, cancel, reschedule, check-in, the day's list.

The rules are in :mod:`server.domain.slots`; each use case here opens one unit of work,
lets the rules decide, and writes the booking, its slot's places, an event
(``booking.*``, staff screens only) and the messages the customer is to get. A slot's
capacity holds under concurrency through :func:`server.store.bookings.take_place`. A
check-in becomes a ticket through the kiosk's own issuance (:func:`server.services.tickets.issue_in`)
in the same unit of work. Contacts are sealed by ``app.vault``, as complainants' are.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import notify
from server.booking_protocol import (
    BookingCreated,
    BookingIn,
    BookingLine,
    BookingTicket,
    CheckedIn,
    CheckIn,
    DayBookings,
    PublicBooking,
    RemoteIn,
    RemoteIssued,
    Reschedule,
    ServiceBookings,
    SlotOut,
    SlotsAnswer,
    SlotTally,
)
from server.domain import slots as rules
from server.domain.access import Action, Actor, require
from server.domain.complaints import mask_name
from server.domain.errors import Conflict, NotFound
from server.domain.events import BOOKING_BOOKED, BOOKING_CANCELLED, BOOKING_CHECKED_IN, BOOKING_RESCHEDULED
from server.domain.numbering import APPOINTMENT_SERIES, business_date
from server.domain.slots import AppointmentRules, Arrival, Attendance, BookingState, Late, RemoteRules, Slot
from server.notify.models import Contact
from server.protocol import IssueTicket
from server.store import bookings as store
from server.store import outbox
from server.store import repository as repo
from server.store.repository import BranchConfig, BranchRow, ServiceConf

from . import tickets
from .context import BranchTx, Services, UnitOfWork

#: Letters and digits a customer cannot misread (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def appointment_rules(settings: dict[str, Any] | None) -> AppointmentRules:
    """The branch's ``appointments:`` settings as the rules read them (empty: none taken)."""
    if not settings:
        return AppointmentRules()
    s = dict(settings)
    services = s.pop("services", None)
    late = s.pop("late", "refuse")
    known = set(AppointmentRules.__dataclass_fields__)
    return AppointmentRules(
        services=tuple(services) if services is not None else None, late=Late(late),
        **{k: v for k, v in s.items() if k in known},
    )


def remote_rules(settings: dict[str, Any] | None) -> RemoteRules:
    """The branch's ``remote:`` settings (empty: off)."""
    if not settings:
        return RemoteRules()
    services = settings.get("services")
    return RemoteRules(bool(settings.get("enabled", True)), tuple(services) if services is not None else None,
                       float(settings.get("cap_share", 0.3)))


def _counters_serving(config: BranchConfig, code: str) -> int:
    return sum(1 for c in config.counters.values() if code in c.services)


def _service(config: BranchConfig, branch: BranchRow, code: str, ar: AppointmentRules) -> ServiceConf:
    service = config.service(code)
    if service is None:
        raise NotFound(f"no service {code!r} in branch {branch.id!r}")
    if not ar.takes(code):
        raise Conflict(f"service {code} takes no appointments here", code="no_appointments")
    return service


def day_slots(branch: BranchRow, config: BranchConfig, service: ServiceConf, day: date,
              ar: AppointmentRules) -> list[Slot]:
    """The service's slots on ``day`` by the branch's hours, holidays and capacity rule."""
    capacity = rules.slot_capacity(ar, counters=_counters_serving(config, service.code),
                                   target_service_s=service.target_service_s)
    return rules.day_slots(day, service.code, rules=ar, capacity=capacity, timezone=branch.timezone,
                           hours=branch.hours, service_hours=service.hours, holidays=branch.holidays)


def _slot_of(branch: BranchRow, config: BranchConfig, service: ServiceConf, slot_id: str,
             ar: AppointmentRules) -> Slot:
    code, day, _start = rules.parse_slot_id(slot_id)
    if code != service.code:
        raise NotFound(f"slot {slot_id} is not of service {service.code}", code="no_such_slot")
    slot = rules.find_slot(day_slots(branch, config, service, day, ar), slot_id)
    if slot is None:
        raise NotFound(f"service {service.code} has no slot {slot_id}", code="no_such_slot")
    return slot


# --- reading the slots ---------------------------------------------------------------------


async def list_slots(app: Services, actor: Actor, branch_id: str, service_code: str, day: date) -> SlotsAnswer:
    """The service's slots of ``day`` with their free places; past and closed ones left out."""
    require(actor, Action.BRANCH_PUBLIC, branch_id)
    async with app.reading(branch_id) as (conn, branch, config):
        ar = appointment_rules(branch.appointments)
        service = _service(config, branch, service_code, ar)
        now = app.clock()
        found = [s for s in day_slots(branch, config, service, day, ar) if rules.refusal(s, now, ar) is None]
        taken = await store.places_taken(conn, branch_id, service.id, [s.start for s in found])
    return SlotsAnswer(service=service.code, date=day, slots=[
        SlotOut(slot=s.id, start=s.start, end=s.end, capacity=s.capacity,
                free=max(0, s.capacity - taken.get(s.start, 0)))
        for s in found
    ])


# --- booking, cancelling, moving -------------------------------------------------------------


async def book(app: Services, actor: Actor, branch_id: str, body: BookingIn) -> BookingCreated:
    """Book a slot: refused with a 4xx and nothing changed when it is past, full, or over a limit."""
    require(actor, Action.BRANCH_PUBLIC, branch_id)
    fingerprint = app.vault.fingerprint(body.contact.phone, body.contact.email)
    async with app.unit_of_work(branch_id) as tx:
        ar = appointment_rules(tx.branch.appointments)
        service = _service(tx.config, tx.branch, body.service, ar)
        slot = _slot_of(tx.branch, tx.config, service, body.slot, ar)
        _refuse_slot(slot, tx.now, ar)
        if fingerprint is not None:
            on_day, upcoming = await store.contact_holds(tx.conn, branch_id, fingerprint, slot.start.date(), tx.now)
            refused = rules.contact_refusal(on_day=on_day, upcoming=upcoming, rules=ar)
            if refused:
                raise Conflict(refused[1], code=refused[0])
        await _take(tx, service, slot)
        code = await _new_code(tx)
        token = secrets.token_urlsafe(18)
        values = dict(
            branch_id=branch_id, service_id=service.id, code=code, token=token, state=BookingState.BOOKED.value,
            day=slot.start.date(), start=slot.start, end=slot.end,
            contact=app.vault.seal(body.contact.model_dump(exclude_none=True)), contact_hash=fingerprint,
            language=body.language, consent=True, created_at=tx.now, reschedules=0,
        )
        booking_id = await store.insert_booking(tx.conn, values)
        row = {**values, "id": booking_id}
        tx.emit(BOOKING_BOOKED, _event(row, service.code, tx.branch.timezone))
        await _tell_booked(tx, row, service.code)
    return BookingCreated(code=code, token=token, slot=slot.id, service=service.code, start=slot.start,
                          end=slot.end, status_url=f"/b/{token}")


def _refuse_slot(slot: Slot, now: datetime, ar: AppointmentRules) -> None:
    refused = rules.refusal(slot, now, ar)
    if refused:
        raise Conflict(refused[1], code=refused[0])


async def _take(tx: BranchTx, service: ServiceConf, slot: Slot) -> None:
    if not await store.take_place(tx.conn, tx.branch.id, service.id, slot.start, slot.capacity):
        raise Conflict(f"slot {slot.id} is full", code="slot_full")


async def _new_code(tx: BranchTx) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not await store.code_taken(tx.conn, tx.branch.id, code):
            return code


def _event(row: Any, service: str, zone: str, **extra: Any) -> dict[str, Any]:
    """What every ``booking.*`` event says: no contact, no token."""
    r = row if isinstance(row, dict) else row._asdict()
    start = repo.aware(r["start"])
    return {
        "id": r["id"], "code": r["code"], "service": service,
        "slot": rules.slot_id(service, start.astimezone(ZoneInfo(zone))), "start": start.isoformat(),
        "state": r["state"], **extra,
    }


async def _booking(app: Services, token: str) -> tuple[str, Any]:
    async with app.db.read() as conn:
        row = await store.by_token(conn, token)
    if row is None:
        raise NotFound("no such booking", code="unknown_booking")
    return row.branch_id, row


async def public_booking(app: Services, token: str) -> PublicBooking:
    """The booking as its holder sees it: state, slot, the check-in window, the ticket once checked in."""
    branch_id, _ = await _booking(app, token)
    async with app.reading(branch_id) as (conn, branch, config):
        row = await store.by_token(conn, token)
        ticket = await repo.ticket_by_id(conn, row.ticket_id) if row.ticket_id else None
        return _public(row, branch, config, ticket, app.clock())


def _public(row: Any, branch: BranchRow, config: BranchConfig, ticket: Any, now: datetime) -> PublicBooking:
    ar = appointment_rules(branch.appointments)
    service = config.service_by_id(row.service_id)
    zone = ZoneInfo(branch.timezone)
    start, end = repo.aware(row.start).astimezone(zone), repo.aware(row.end).astimezone(zone)
    return PublicBooking(
        code=row.code, state=row.state, attendance=rules.attendance(row.state, start, end, now, ar),
        service=service.code, service_names=service.names, branch=branch.id,
        slot=rules.slot_id(service.code, start), start=start, end=end,
        check_in_from=start - timedelta(minutes=ar.early_min),
        check_in_until=start + timedelta(minutes=ar.grace_min),
        ticket=BookingTicket(number=ticket.number, token=ticket.token, state=ticket.state) if ticket else None,
    )


async def cancel(app: Services, token: str) -> PublicBooking:
    """The customer gives the booking up; its place is free again. A second cancel is refused."""
    branch_id, _ = await _booking(app, token)
    async with app.unit_of_work(branch_id) as tx:
        row = await store.by_token(tx.conn, token, lock=True)
        _refuse_unless_booked(row)
        await _cancel(tx, row, BookingState.CANCELLED)
        row = await store.by_token(tx.conn, token)
        return _public(row, tx.branch, tx.config, None, tx.now)


def _refuse_unless_booked(row: Any) -> None:
    if row.state != BookingState.BOOKED:
        raise Conflict(f"this booking is {row.state.replace('_', ' ')}", code="not_booked")


async def _cancel(tx: UnitOfWork, row: Any, state: BookingState) -> None:
    assert tx.branch is not None and tx.config is not None
    service = tx.config.service_by_id(row.service_id)
    await store.give_place(tx.conn, tx.branch.id, row.service_id, repo.aware(row.start))
    await store.update_booking(tx.conn, row.id, state=state.value, cancelled_at=tx.now)
    await store.drop_pending(tx.conn, row.id, tx.now)  # no reminders of a slot it no longer holds
    await outbox.withdraw_pending(tx.conn, f"booking:{row.id}:", tx.now)
    by = "branch" if state is BookingState.CANCELLED_BY_BRANCH else "customer"
    data = _event(row, service.code, tx.branch.timezone, by=by)
    data["state"] = state.value
    tx.emit(BOOKING_CANCELLED, data)


async def reschedule(app: Services, token: str, body: Reschedule) -> PublicBooking:
    """Move the booking to another slot of its service: the new place taken, the old one given back."""
    branch_id, _ = await _booking(app, token)
    async with app.unit_of_work(branch_id) as tx:
        row = await store.by_token(tx.conn, token, lock=True)
        _refuse_unless_booked(row)
        ar = appointment_rules(tx.branch.appointments)
        service = _service(tx.config, tx.branch, tx.config.service_by_id(row.service_id).code, ar)
        slot = _slot_of(tx.branch, tx.config, service, body.slot, ar)
        old = rules.slot_id(service.code, repo.aware(row.start).astimezone(ZoneInfo(tx.branch.timezone)))
        if slot.id == old:
            raise Conflict("the booking is for this slot already", code="unchanged")
        _refuse_slot(slot, tx.now, ar)
        # Both slots' rows in the order of their starts: two customers swapping slots never deadlock.
        if slot.start < repo.aware(row.start):
            await _take(tx, service, slot)
            await store.give_place(tx.conn, tx.branch.id, service.id, repo.aware(row.start))
        else:
            await store.give_place(tx.conn, tx.branch.id, service.id, repo.aware(row.start))
            await _take(tx, service, slot)
        await store.update_booking(tx.conn, row.id, start=slot.start, end=slot.end, day=slot.start.date(),
                                   reschedules=row.reschedules + 1)
        await store.drop_pending(tx.conn, row.id, tx.now)
        await outbox.withdraw_pending(tx.conn, f"booking:{row.id}:", tx.now)
        row = await store.by_token(tx.conn, token)
        tx.emit(BOOKING_RESCHEDULED, _event(row, service.code, tx.branch.timezone, from_slot=old))
        await _tell_booked(tx, row._asdict(), service.code, again=row.reschedules)
        return _public(row, tx.branch, tx.config, None, tx.now)


# --- check-in --------------------------------------------------------------------------------


async def check_in(app: Services, actor: Actor, branch_id: str, code: str, body: CheckIn) -> CheckedIn:
    """A booked customer arrives: a ticket of the live queue, issued as the kiosk issues one.

    At a kiosk of the branch (device token) or by its staff, by code alone; the customer's
    phone with the booking's token. On time (``early_min`` before the slot to ``grace_min`` after its start) the
    ticket draws from ``Y`` and is queued at the slot's start; later, per the branch: an
    ordinary walk-in ticket, or refused (``too_late``). A code used twice (``checked_in``),
    unknown (``unknown_booking``), too early (``too_early``), of another day
    (``not_today``): refused, nothing changed.
    """
    require(actor, Action.CHECK_IN, branch_id)
    by_code = actor.kind != "public"  # a kiosk of the branch, or its staff
    if not by_code and body.token is None:
        # The code alone proves nothing off the kiosk: without the token there is no such booking.
        raise NotFound("checking in from the phone needs the booking's token", code="token_needed")
    async with app.unit_of_work(branch_id) as tx:
        row = await store.by_code(tx.conn, branch_id, code.upper(), lock=True)
        if row is None or (not by_code and not secrets.compare_digest(row.token, body.token or "")):
            raise NotFound("no booking with this code", code="unknown_booking")
        if row.state == BookingState.CHECKED_IN:
            raise Conflict("this booking has already been checked in", code="checked_in")
        _refuse_unless_booked(row)
        ar = appointment_rules(tx.branch.appointments)
        zone = ZoneInfo(tx.branch.timezone)
        start, end = repo.aware(row.start).astimezone(zone), repo.aware(row.end).astimezone(zone)
        where = rules.arrival(start, end, tx.now, ar)
        if where is Arrival.TOO_EARLY:
            raise Conflict(f"check-in opens {ar.early_min} min before the slot ({start:%H:%M})", code="too_early")
        if where is Arrival.MISSED:
            raise Conflict("this booking is for another day", code="not_today")
        on_time = where is Arrival.ON_TIME
        if not on_time and ar.late is Late.REFUSE:
            raise Conflict(f"check-in closed {ar.grace_min} min after the slot began; please take a ticket",
                           code="too_late")
        service = tx.config.service_by_id(row.service_id)
        cmd = IssueTicket(service=service.code, language=body.language or row.language)
        issued = await tickets.issue_in(
            app, tx, actor, cmd,
            series=APPOINTMENT_SERIES if on_time else None,
            queued_at=rules.queue_time(start, tx.now, on_time) if on_time else None,
            appointment=start if on_time else None,
        )
        await store.update_booking(tx.conn, row.id, state=BookingState.CHECKED_IN.value, checked_in_at=tx.now,
                                   ticket_id=issued.id, on_time=on_time)
        if row.contact:  # the booked customer hears "called" (and "transferred") where they asked to be told
            await outbox.put_wish(tx.conn, {
                "ticket_id": issued.id, "branch_id": tx.branch.id, "contact": row.contact,
                "language": row.language or tx.branch.language, "ahead": 1, "ahead_sent": True,
                "created_at": tx.now})
        data = _event(row, service.code, tx.branch.timezone, ticket=issued.id, number=issued.number,
                      on_time=on_time)
        data["state"] = BookingState.CHECKED_IN.value
        tx.emit(BOOKING_CHECKED_IN, data)
    return CheckedIn(code=row.code, on_time=on_time, ticket=issued, status_url=f"/t/{issued.token}")


# --- the day's bookings (staff) -------------------------------------------------------------


async def day_bookings(app: Services, actor: Actor, branch_id: str, day: date | None) -> DayBookings:
    """The day's bookings per service and slot: checked in, due, late, no-show, still to come."""
    require(actor, Action.READ_QUEUE, branch_id)
    async with app.reading(branch_id) as (conn, branch, config):
        now = app.clock()
        day = day or business_date(now, branch.timezone)
        ar = appointment_rules(branch.appointments)
        rows = await store.of_day(conn, branch_id, day)
        numbers = {}
        for r in rows:
            if r.ticket_id:
                t = await repo.ticket_by_id(conn, r.ticket_id)
                numbers[r.id] = t.number if t else None
        zone = ZoneInfo(branch.timezone)
        services: list[ServiceBookings] = []
        for service in config.services.values():
            if not ar.takes(service.code):
                continue
            tallies: dict[datetime, dict[str, int]] = {}
            found = day_slots(branch, config, service, day, ar)
            for s in found:
                tallies[s.start] = dict.fromkeys(
                    ("booked", "checked_in", "due", "late", "no_show", "upcoming", "cancelled"), 0)
            for r in rows:
                if r.service_id != service.id:
                    continue
                start = repo.aware(r.start).astimezone(zone)
                tally = tallies.setdefault(start, dict.fromkeys(
                    ("booked", "checked_in", "due", "late", "no_show", "upcoming", "cancelled"), 0))
                a = rules.attendance(r.state, start, repo.aware(r.end), now, ar)
                tally[a.value] += 1
                if a is not Attendance.CANCELLED:
                    tally["booked"] += 1
            by_start = {s.start: s for s in found}
            services.append(ServiceBookings(service=service.code, slots=[
                SlotTally(slot=rules.slot_id(service.code, start), start=start,
                          end=by_start[start].end if start in by_start else start + timedelta(minutes=ar.slot_min),
                          capacity=by_start[start].capacity if start in by_start else 0, **tally)
                for start, tally in sorted(tallies.items())
            ]))
        lines = []
        for r in rows:
            code = config.service_by_id(r.service_id).code
            start = repo.aware(r.start).astimezone(zone)
            contact = app.vault.open(r.contact) if r.contact else {}
            lines.append(BookingLine(
                code=r.code, service=code, slot=rules.slot_id(code, start), start=start, state=r.state,
                attendance=rules.attendance(r.state, start, repo.aware(r.end), now, ar),
                name=mask_name(contact.get("name", "")) if contact else "", ticket=numbers.get(r.id),
            ))
    return DayBookings(date=day, services=services, bookings=lines)


# --- remote tickets ---------------------------------------------------------------------------


async def remote_ticket(app: Services, actor: Actor, branch_id: str, body: RemoteIn) -> RemoteIssued:
    """Today's ticket from the phone: while the branch is open, for services that allow it, within the cap."""
    require(actor, Action.BRANCH_PUBLIC, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        rr = remote_rules(tx.branch.remote)
        service = tx.config.service(body.service)
        if service is None:
            raise NotFound(f"no service {body.service!r} in branch {branch_id!r}")
        waiting = await repo.waiting_counts(tx.conn, branch_id, service.id)
        total = sum(n for (sid, _p), n in waiting.items() if sid == service.id)
        remote = await store.remote_waiting(tx.conn, branch_id, service.id)
        refused = rules.remote_refusal(remote_waiting=remote, waiting=total, rules=rr, service=service.code)
        if refused:
            raise Conflict(refused[1], code=refused[0])
        issued = await tickets.issue_in(app, tx, actor, IssueTicket(service=service.code, language=body.language))
        await store.add_remote(tx.conn, dict(ticket_id=issued.id, branch_id=branch_id, service_id=service.id,
                                             business_date=tx.today, travel_min=body.travel_min))
    return RemoteIssued(ticket=issued, come_now=rules.come_now(issued.estimated_wait_s, body.travel_min),
                        status_url=f"/t/{issued.token}")


# --- the branch changes its hours --------------------------------------------------------------


async def cancel_closed(uow: UnitOfWork, schedule: rules.Schedule) -> int:
    """Cancel the bookings a new holiday or shorter hours leave outside the opening, and tell each customer.

    Runs inside the configuration change's unit of work (its ``branch`` set): all or nothing.
    """
    assert uow.branch is not None
    if uow.config is None:  # a configuration change's unit of work: read what it has just written
        uow.config = await repo.load_config(uow.conn, uow.branch)
    rows = await store.booked_from(uow.conn, uow.branch.id, uow.now, lock=True)
    by_id = {r.id: r for r in rows}
    codes = {s.id: s.code for s in uow.config.services.values()}
    booked = [rules.Booked(r.id, codes.get(r.service_id, ""), repo.aware(r.start), repo.aware(r.end)) for r in rows]
    gone = rules.affected(booked, schedule)
    for b in gone:
        row = by_id[b.id]
        await _cancel(uow, row, BookingState.CANCELLED_BY_BRANCH)
        await _tell(uow, "cancelled_by_branch", row._asdict(), codes.get(row.service_id, ""))
    return len(gone)


# --- telling the customer -------------------------------------------------------------------------


async def _tell_booked(tx: BranchTx, row: dict[str, Any], service: str, *, again: int = 0) -> None:
    """The confirmation now, and the reminders a day and an hour before the slot (keys per version)."""
    start = repo.aware(row["start"])
    await _tell(tx, "booked", row, service, key=f"booked:{again}")
    for kind, before in (("reminder_day", timedelta(days=1)), ("reminder_hour", timedelta(hours=1))):
        if start - before > tx.now:
            await _tell(tx, kind, row, service, send_at=start - before, key=f"{kind}:{again}")


async def _tell(tx: UnitOfWork, kind: str, row: dict[str, Any], service: str, *,
                send_at: datetime | None = None, key: str | None = None) -> None:
    """Tell the booking's customer (kinds: booked, reminder_day, reminder_hour, cancelled_by_branch):
    the booking's own record of it, and the message in the outbox (server/notify), both in the
    use case's transaction, under one key per booking and step (a repeat sends nothing twice)."""
    assert tx.branch is not None
    start = repo.aware(row["start"])
    language = row.get("language") or tx.branch.language
    message_key = f"booking:{row['id']}:{key or kind}"
    await store.add_message(tx.conn, dict(
        branch_id=tx.branch.id, booking_id=row["id"], kind=kind,
        key=message_key, created_at=tx.now, send_at=send_at,
        data={"code": row["code"], "service": service, "start": start.isoformat(), "language": language},
    ))
    if not row.get("contact") or tx.vault is None:
        return  # erased by retention, or no vault: nobody to tell
    contact = Contact.model_validate(tx.vault.open(row["contact"]))
    if not (contact.phone or contact.email):
        return
    names = tx.config.services[service].names if tx.config is not None and service in tx.config.services else {}
    local = start.astimezone(ZoneInfo(tx.branch.timezone))
    await notify.enqueue(
        tx, kind=kind, branch_id=tx.branch.id, contact=contact, language=language, key=message_key,
        send_at=send_at, data={
            "code": row["code"], "service": names.get(language) or names.get("zh-CN") or service,
            "slot": local.strftime("%Y-%m-%d %H:%M"), "name": contact.name or "",
            "branch": tx.branch.names.get(language) or tx.branch.names.get("zh-CN") or tx.branch.id,
        })


async def rekey_contacts(tx: UnitOfWork, vault: Any) -> int:
    """Re-encrypt every booking's contact under the first data key (``branchq complaints rekey`` runs it too)."""
    rows = await store.sealed_contacts(tx.conn)
    for r in rows:
        await store.update_booking(tx.conn, r.id, contact=vault.rotate(r.contact))
    return len(rows)
