"""Appointments and remote tickets at the handler level: slots, booking, moving, check-in, the queue.

The demo branch is open all day (no hours), takes appointments for two weeks in 30-minute
slots (``late: walk_in``) and remote tickets (cap 0.3). The clock starts on Monday
2026-03-02 at 09:30 in Shanghai. Service D has one counter: one place per slot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.booking_protocol import BookingIn, CheckIn, RemoteIn, Reschedule
from server.domain.access import PUBLIC
from server.services import bookings, branches, counters
from server.store import tables as t

TOMORROW = date(2026, 3, 3)
PHONE = "13812345678"


def booking(slot: str, service: str | None = None, *, phone: str = PHONE, consent: bool = True, **contact) -> BookingIn:
    return BookingIn.model_validate({
        "service": service or slot.split("-")[0], "slot": slot, "consent": consent,
        "contact": {"name": "李四", "phone": phone, **contact} if "email" not in contact
        else {"name": "李四", **contact},
    })


def at(day: date, hhmm: str) -> datetime:
    """A Shanghai wall-clock time as an aware UTC instant."""
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC) - timedelta(hours=8)


async def settings(world, **appointments) -> None:
    """Change the demo branch's appointment settings (and anything else given as ``_field``)."""
    def edit(current):
        spec = current.model_dump(mode="json", by_alias=True)
        spec["appointments"] = {**spec["appointments"], **appointments}
        return branches.BranchSpec.model_validate(spec)

    await branches.change_config(world.app, "demo", edit)


async def rows(world, table) -> list:
    async with world.app.db.read() as conn:
        return list((await conn.execute(select(table.__table__))).all())


async def test_a_day_has_slots_of_the_opening_hours_with_capacity_from_the_counters_that_serve_the_service(world):
    answer = await bookings.list_slots(world.app, PUBLIC, "demo", "A", TOMORROW)
    assert len(answer.slots) == 48  # open all day, 30-minute slots
    first = answer.slots[0]
    assert first.slot == "A-202603030000" and first.capacity == 18 and first.free == 18  # 0.5 × 5 × 1800/240
    d = await bookings.list_slots(world.app, PUBLIC, "demo", "D", TOMORROW)
    assert d.slots[0].capacity == 1


async def test_today_lists_only_the_slots_still_bookable_past_the_cut_off(world):
    answer = await bookings.list_slots(world.app, PUBLIC, "demo", "A", date(2026, 3, 2))
    assert answer.slots[0].slot == "A-202603021000"  # 09:30 now, 30 min cut-off


async def test_booking_takes_a_place_seals_the_contact_and_records_the_messages_to_send(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603031000"))
    assert len(created.code) == 8 and created.start == at(TOMORROW, "10:00")
    slots = await bookings.list_slots(world.app, PUBLIC, "demo", "A", TOMORROW)
    assert next(s for s in slots.slots if s.slot == "A-202603031000").free == 17
    [row] = await rows(world, t.Booking)
    assert PHONE not in (row.contact or "") and world.app.vault.open(row.contact)["phone"] == PHONE
    kinds = sorted(m.kind for m in await rows(world, t.BookingMessage))
    assert kinds == ["booked", "reminder_day", "reminder_hour"]
    # The same three are in the notifier's outbox, the reminders not before their time.
    sent = {m.kind: m for m in await rows(world, t.OutboxMessage)}
    assert sorted(sent) == kinds and all(m.channel == "webhook" for m in sent.values())  # a phone: the SMS gateway
    assert sent["booked"].data["code"] == created.code and sent["booked"].data["slot"] == "2026-03-03 10:00"
    assert sent["reminder_hour"].send_at.replace(tzinfo=UTC) == at(TOMORROW, "09:00")
    assert PHONE not in sent["booked"].recipient
    seen = await bookings.public_booking(world.app, created.token)
    assert seen.state == "booked" and seen.attendance == "upcoming" and seen.code == created.code


@pytest.mark.parametrize(("slot", "code"), [
    ("A-202603020900", "slot_past"),
    ("A-202603021000", None),
    ("A-202603020930", "slot_past"),
    ("A-202603031015", "no_such_slot"),
    ("A-202604010900", "too_far"),
    ("D-202603031000", "no_such_slot"),
])
async def test_past_misaligned_too_far_or_mismatched_slots_are_refused(world, slot, code):
    body = booking(slot, "A")
    if code is None:
        assert (await bookings.book(world.app, PUBLIC, "demo", body)).slot == slot
        return
    await world.refused(code, lambda: bookings.book(world.app, PUBLIC, "demo", body))


async def test_a_slot_within_the_cut_off_is_refused(world):
    world.clock.advance(minutes=5)  # 09:35: the 10:00 slot closes for booking at 09:30
    await world.refused("cut_off", lambda: bookings.book(world.app, PUBLIC, "demo", booking("A-202603021000")))


async def test_a_full_slot_is_refused_and_nothing_changes(world):
    await bookings.book(world.app, PUBLIC, "demo", booking("D-202603031000"))
    await world.refused("slot_full", lambda: bookings.book(
        world.app, PUBLIC, "demo", booking("D-202603031000", phone="13900000000")))


async def test_consent_is_needed_and_one_contact_holds_one_booking_a_day(world):
    with pytest.raises(ValueError, match="consent"):
        booking("A-202603031000", consent=False)
    await bookings.book(world.app, PUBLIC, "demo", booking("A-202603031000"))
    await world.refused("contact_limit", lambda: bookings.book(
        world.app, PUBLIC, "demo", booking("B-202603031400", phone="+86" + PHONE)))


async def test_cancel_gives_the_place_back_and_a_second_cancel_is_refused(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("D-202603031000"))
    seen = await bookings.cancel(world.app, created.token)
    assert seen.state == "cancelled" and seen.attendance == "cancelled"
    assert [m.kind for m in await rows(world, t.BookingMessage)] == ["booked"]  # no reminders left to send
    assert [m.kind for m in await rows(world, t.OutboxMessage)] == ["booked"]  # withdrawn from the outbox too
    await world.refused("not_booked", lambda: bookings.cancel(world.app, created.token))
    other = await bookings.book(world.app, PUBLIC, "demo", booking("D-202603031000", phone="13900000000"))
    assert other.slot == "D-202603031000"


async def test_reschedule_takes_the_new_place_and_frees_the_old(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("D-202603031000"))
    moved = await bookings.reschedule(world.app, created.token, Reschedule(slot="D-202603031100"))
    assert moved.slot == "D-202603031100" and moved.start == at(TOMORROW, "11:00")
    await world.refused("unchanged", lambda: bookings.reschedule(
        world.app, created.token, Reschedule(slot="D-202603031100")))
    taken = await bookings.book(world.app, PUBLIC, "demo", booking("D-202603031000", phone="13900000000"))
    assert taken.slot == "D-202603031000"
    await world.refused("slot_full", lambda: bookings.reschedule(
        world.app, taken.token, Reschedule(slot="D-202603031100")))
    kinds = [m.kind for m in await rows(world, t.BookingMessage) if m.booking_id == 1]
    assert kinds.count("booked") == 2  # told again for the new slot
    assert kinds.count("reminder_day") == 1 and kinds.count("reminder_hour") == 1  # of the new slot only
    queued = [m for m in await rows(world, t.OutboxMessage) if m.key.startswith("booking:1:")]
    assert sorted(m.kind for m in queued) == ["booked", "booked", "reminder_day", "reminder_hour"]
    assert {m.data["slot"] for m in queued if m.kind.startswith("reminder")} == {"2026-03-03 11:00"}


async def test_check_in_at_the_kiosk_within_the_window_is_a_Y_ticket_queued_at_the_slot_start(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021100"))
    kiosk = await world.device("kiosk")
    world.clock.now = at(date(2026, 3, 2), "10:20")
    await world.refused("too_early", lambda: bookings.check_in(world.app, kiosk, "demo", created.code, CheckIn()))
    world.clock.now = at(date(2026, 3, 2), "10:45")
    done = await bookings.check_in(world.app, kiosk, "demo", created.code, CheckIn())
    assert done.on_time and done.ticket.number == "Y001" and done.ticket.service == "A"
    async with world.app.db.read() as conn:
        ticket = (await conn.execute(select(t.Ticket.__table__))).first()
    assert ticket.queued_at == at(date(2026, 3, 2), "11:00") and ticket.issued_at == world.clock.now
    await world.refused("checked_in", lambda: bookings.check_in(world.app, kiosk, "demo", created.code, CheckIn()))
    seen = await bookings.public_booking(world.app, created.token)
    assert seen.state == "checked_in" and seen.ticket.number == "Y001"


async def test_unknown_codes_and_the_phone_without_the_right_token_are_refused(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021000"))
    kiosk = await world.device("kiosk")
    await world.refused("unknown_booking", lambda: bookings.check_in(world.app, kiosk, "demo", "ZZZZZZZZ", CheckIn()))
    await world.refused("token_needed", lambda: bookings.check_in(world.app, PUBLIC, "demo", created.code, CheckIn()))
    await world.refused("unknown_booking", lambda: bookings.check_in(
        world.app, PUBLIC, "demo", created.code, CheckIn(token="x" * 24)))
    done = await bookings.check_in(world.app, PUBLIC, "demo", created.code, CheckIn(token=created.token))
    assert done.ticket.number == "Y001"


async def test_a_late_arrival_becomes_a_walk_in_or_is_refused_as_the_branch_says(world):
    first = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021000"))
    second = await bookings.book(world.app, PUBLIC, "demo", booking("B-202603021000", phone="13900000000"))
    kiosk = await world.device("kiosk")
    world.clock.now = at(date(2026, 3, 2), "10:11")  # grace 10 min
    late = await bookings.check_in(world.app, kiosk, "demo", first.code, CheckIn())
    assert not late.on_time and late.ticket.number == "A001"
    await settings(world, late="refuse")
    await world.refused("too_late", lambda: bookings.check_in(world.app, kiosk, "demo", second.code, CheckIn()))


async def test_a_booking_of_another_day_cannot_check_in_today(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603031000"))
    kiosk = await world.device("kiosk")
    world.clock.now = at(TOMORROW, "10:05") + timedelta(days=1)
    await world.issue("A")  # the business day rolls over first (not part of the refusal)
    await world.refused("not_today", lambda: bookings.check_in(world.app, kiosk, "demo", created.code, CheckIn()))


async def test_a_checked_in_appointment_is_called_before_walk_ins_who_came_after_its_slot_began(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("C-202603021000"))
    teller = await world.staff("teller4")  # counter 4: C, A
    await counters.open_counter(world.app, teller, "demo", 4)
    early = await world.issue("C")  # 09:30, before the slot
    world.clock.now = at(date(2026, 3, 2), "10:02")
    after = await world.issue("C")
    world.clock.now = at(date(2026, 3, 2), "10:06")
    done = await bookings.check_in(world.app, await world.device("kiosk"), "demo", created.code, CheckIn())
    called = []
    for _ in range(3):
        answer = await counters.call_next(world.app, teller, "demo", 4)
        called.append(answer.ticket.number)
        await counters.finish(world.app, teller, "demo", 4)
    assert called == [early.number, done.ticket.number, after.number]


async def test_the_staff_queue_says_which_ticket_is_an_appointment_and_its_slot(world):
    from server.services import queries

    created = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021000"))
    await world.issue("A")
    world.clock.now = at(date(2026, 3, 2), "09:45")
    await bookings.check_in(world.app, await world.device("kiosk"), "demo", created.code, CheckIn())
    queue = await queries.queue(world.app, await world.staff("teller3"), "demo")
    marks = {e.number: e.appointment for e in queue.tickets}
    assert marks == {"A001": None, "Y001": at(date(2026, 3, 2), "10:00")}


async def test_a_holiday_added_over_a_booked_day_cancels_its_bookings_and_tells_each_customer(world):
    kept = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603031000"))
    gone = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603041000", phone="13900000000"))

    def holiday(current):
        spec = current.model_dump(mode="json", by_alias=True)
        spec["holidays"] = ["2026-03-04"]
        return branches.BranchSpec.model_validate(spec)

    await branches.change_config(world.app, "demo", holiday)
    assert (await bookings.public_booking(world.app, gone.token)).state == "cancelled_by_branch"
    assert (await bookings.public_booking(world.app, kept.token)).state == "booked"
    told = [m for m in await rows(world, t.BookingMessage) if m.kind == "cancelled_by_branch"]
    assert [m.booking_id for m in told] == [2]
    assert [m.key for m in await rows(world, t.OutboxMessage) if m.kind == "cancelled_by_branch"] == [
        "booking:2:cancelled_by_branch"]
    slots = await bookings.list_slots(world.app, PUBLIC, "demo", "A", date(2026, 3, 4))
    assert slots.slots == []


async def test_the_day_list_counts_checked_in_late_and_no_show_per_slot(world):
    a = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021000"))
    await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021000", phone="13900000001"))
    await bookings.book(world.app, PUBLIC, "demo", booking("A-202603021100", phone="13900000002"))
    world.clock.now = at(date(2026, 3, 2), "09:55")
    await bookings.check_in(world.app, await world.device("kiosk"), "demo", a.code, CheckIn())
    world.clock.now = at(date(2026, 3, 2), "11:20")
    day = await bookings.day_bookings(world.app, await world.staff("manager"), "demo", None)
    [a_service] = [s for s in day.services if s.service == "A"]
    ten = next(s for s in a_service.slots if s.slot == "A-202603021000")
    eleven = next(s for s in a_service.slots if s.slot == "A-202603021100")
    assert (ten.booked, ten.checked_in, ten.no_show) == (2, 1, 1)
    assert (eleven.booked, eleven.late) == (1, 1)
    assert {b.name for b in day.bookings} == {"李*"} and any(b.ticket == "Y001" for b in day.bookings)
    await world.refused("unauthenticated", lambda: bookings.day_bookings(world.app, PUBLIC, "demo", None))


async def test_remote_tickets_stop_at_the_cap_share_of_the_queue(world):
    first = await bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="E", travel_min=30))
    assert first.ticket.number == "E001" and first.status_url.startswith("/t/")
    await world.refused("remote_cap", lambda: bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="E")))
    for _ in range(3):
        await world.issue("E")
    second = await bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="E"))  # 2 of 5 ≤ 0.3 × 5
    assert second.ticket.number == "E005"


async def test_come_now_when_the_wait_is_no_longer_than_the_journey(world):
    teller = await world.staff("teller6")
    await counters.open_counter(world.app, teller, "demo", 6)
    answer = await bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="E", travel_min=20))
    assert answer.ticket.estimated_wait_s == 0 and answer.come_now


async def test_remote_tickets_are_refused_where_the_branch_turned_them_off(world):
    def off(current):
        spec = current.model_dump(mode="json", by_alias=True)
        spec["remote"] = {"services": ["A"]}
        return branches.BranchSpec.model_validate(spec)

    await branches.change_config(world.app, "demo", off)
    await world.refused("remote_off", lambda: bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="E")))
    assert (await bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="A"))).ticket.number == "A001"


async def test_a_service_without_appointments_offers_no_slots(world):
    await settings(world, services=["A"])
    await world.refused("no_appointments", lambda: bookings.list_slots(world.app, PUBLIC, "demo", "B", TOMORROW))


async def test_the_summary_reports_appointment_share_punctuality_no_shows_and_waits(world):
    from server.reports.appointments import appointment_figures

    on_time = await bookings.book(world.app, PUBLIC, "demo", booking("C-202603021000"))
    await bookings.book(world.app, PUBLIC, "demo", booking("C-202603021000", phone="13900000001"))  # never comes
    teller = await world.staff("teller4")
    await counters.open_counter(world.app, teller, "demo", 4)
    await world.issue("C")
    world.clock.now = at(date(2026, 3, 2), "09:58")
    await bookings.check_in(world.app, await world.device("kiosk"), "demo", on_time.code, CheckIn())
    world.clock.now = at(date(2026, 3, 2), "10:00")
    walk_in = await counters.call_next(world.app, teller, "demo", 4)
    assert walk_in.ticket.number == "C001"
    world.clock.now = at(date(2026, 3, 2), "10:04")
    await counters.finish(world.app, teller, "demo", 4)
    assert (await counters.call_next(world.app, teller, "demo", 4)).ticket.number == "Y001"
    world.clock.now = at(date(2026, 3, 2), "10:45")
    async with world.app.db.read() as conn:  # the summary report adds these (on its own connection)
        figures = await appointment_figures(conn, "demo", date(2026, 3, 2), date(2026, 3, 2), now=world.clock(),
                                            rules=bookings.appointment_rules({"late": "walk_in"}))
    assert figures["bookings"] == 2 and figures["checked_in"] == 1
    assert figures["appointment_share"] == 0.5 and figures["punctuality"] == 1.0
    assert figures["no_show_rate"] == 0.5
    assert figures["appointment_wait_s"] == 240 and figures["walk_in_wait_s"] == 30 * 60


async def test_rekey_re_encrypts_booking_contacts_so_the_old_key_can_go(world):
    from cryptography.fernet import Fernet

    from server.services import complaints
    from server.store.vault import Vault

    old, new, hashing = Fernet.generate_key(), Fernet.generate_key(), b"h" * 32
    world.app.vault = Vault([old], hashing)
    await bookings.book(world.app, PUBLIC, "demo", booking("A-202603031000"))
    world.app.vault = Vault([new, old], hashing)  # the new key first, the old one still there
    assert await complaints.rekey(world.app) == 1
    [row] = await rows(world, t.Booking)
    assert Vault([new], hashing).open(row.contact)["phone"] == PHONE


async def test_remote_tickets_only_while_the_branch_is_open(world):
    def hours(current):
        spec = current.model_dump(mode="json", by_alias=True)
        spec["hours"] = {"mon": [["10:00", "17:00"]]}
        return branches.BranchSpec.model_validate(spec)

    await branches.change_config(world.app, "demo", hours)  # 09:30 now: not open yet
    await world.refused("closed", lambda: bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="A")))
    world.clock.now = at(date(2026, 3, 2), "10:00")
    assert (await bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="A"))).ticket.number == "A001"


async def test_removing_a_service_cancels_its_bookings_and_keeps_it_retired_for_them(world):
    created = await bookings.book(world.app, PUBLIC, "demo", booking("D-202603031000"))

    def without_d(current):
        spec = current.model_dump(mode="json", by_alias=True)
        spec["services"] = [s for s in spec["services"] if s["code"] != "D"]
        for c in spec["counters"]:
            c["services"] = [code for code in c["services"] if code != "D"] or ["A"]
        return branches.BranchSpec.model_validate(spec)

    await branches.change_config(world.app, "demo", without_d)
    seen = await bookings.public_booking(world.app, created.token)
    assert seen.state == "cancelled_by_branch" and seen.service == "D"


async def test_the_phone_page_says_come_now_once_the_wait_drops_to_the_travel_time(world):
    from server.services import tickets

    teller = await world.staff("teller6")  # counter 6: E, A; E's service time is 15 min
    await counters.open_counter(world.app, teller, "demo", 6)
    for _ in range(3):
        await world.issue("E")
    remote = await bookings.remote_ticket(world.app, PUBLIC, "demo", RemoteIn(service="E", travel_min=20))
    assert not remote.come_now  # three ahead: 45 min
    page = await tickets.public_ticket(world.app, remote.ticket.token)
    assert page.travel_min == 20 and not page.come_now
    for _ in range(2):
        await counters.call_next(world.app, teller, "demo", 6)
        world.clock.advance(minutes=10)
    page = await tickets.public_ticket(world.app, remote.ticket.token)
    assert page.ahead == 1 and page.come_now  # one ahead: 15 min ≤ 20
    plain = await world.issue("E")
    assert not (await tickets.public_ticket(world.app, plain.token)).come_now


async def test_retention_erases_a_past_bookings_contact_and_keeps_the_booking(world):
    from server.services import retention

    created = await bookings.book(world.app, PUBLIC, "demo", booking("A-202603031000"))
    world.clock.advance(days=30)
    assert (await retention.erase_expired(world.app, days=90)).booking_contacts == 0, "not yet due"
    world.clock.advance(days=70)  # the slot ended more than 90 days ago
    erased = await retention.erase_expired(world.app, days=90)
    assert erased.booking_contacts == 1
    [row] = await rows(world, t.Booking)
    assert row.contact is None and row.contact_hash is None and row.code == created.code
    assert (await retention.erase_expired(world.app, days=90)).booking_contacts == 0, "once"
