"""A booked customer's messages delivered for real, on SQLite and PostgreSQL: booked on the
phone, the reminder an hour before at a real SMTP server (aiosmtpd), checked in at the kiosk,
called on time — and the "called" message at the e-mail address of the booking, or signed at
the webhook (the bank's SMS gateway) for a phone number; a moved booking's old reminder never
goes. The server's own worker sends on the test's clock (see test_notify_delivery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server.app import NOTIFIER
from tests.conftest import KIOSK, login
from tests.integration.test_notify_delivery import eventually, mailbox, receiver, settings  # noqa: F401 - fixtures

B = "/api/v1/branches/demo"


def shanghai(hhmm: str) -> datetime:
    """That time on the demo clock's day (Monday 2026-03-02) in Shanghai."""
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 3, 2, h, m, tzinfo=UTC) - timedelta(hours=8)


async def ok(resp, status: int = 200) -> Any:
    assert resp.status == status, f"{resp.status} {await resp.text()}"
    return await resp.json()


def book(slot: str, contact: dict, language: str = "zh-CN") -> dict:
    return {"service": slot.split("-")[0], "slot": slot, "consent": True, "language": language,
            "contact": {"name": "王五", **contact}}


async def test_a_booked_customer_is_told_booked_reminded_and_called_by_mail_and_by_the_signed_webhook(
    demo, mailbox, receiver  # noqa: F811 - the fixtures imported above
):
    c = demo.client
    by_mail = await ok(await c.post(f"{B}/bookings", json=book("C-202603021100", {"email": "wang@example.com"}, "en")),
                       201)
    by_phone = await ok(await c.post(f"{B}/bookings", json=book("C-202603021100", {"phone": "13812345678"})), 201)
    await eventually(lambda: len(mailbox.received) == 1, what="the 'booked' mail")
    [(to, booked)] = mailbox.received
    assert to == ["wang@example.com"] and by_mail["code"] in booked.get_content()
    assert "11:00" in booked.get_content()
    await eventually(lambda: any(b["kind"] == "booked" for b in receiver.bodies), what="the 'booked' SMS")
    sms = next(b for b in receiver.bodies if b["kind"] == "booked")
    assert sms["to"]["phone"] == "13812345678" and by_phone["code"] in sms["text"]

    # A moved booking's reminders go for the new slot only: move the phone's to 11:30 and back.
    await ok(await c.post(f"/api/v1/bookings/{by_phone['token']}/reschedule", json={"slot": "C-202603021130"}))
    await ok(await c.post(f"/api/v1/bookings/{by_phone['token']}/reschedule", json={"slot": "C-202603021100"}))

    demo.clock.now = shanghai("10:00") + timedelta(seconds=5)  # an hour before the slot
    c.app[NOTIFIER].wake()
    await eventually(lambda: len(mailbox.received) == 2, what="the reminder an hour before")
    assert "11:00" in mailbox.received[1][1].get_content()
    await eventually(lambda: sum(b["kind"] == "reminder_hour" for b in receiver.bodies) == 1, what="the SMS reminder")

    demo.clock.now = shanghai("10:50")
    for booking in (by_mail, by_phone):
        done = await ok(await c.post(f"{B}/bookings/{booking['code']}/check-in", json={}, headers=KIOSK), 201)
        assert done["on_time"]
    demo.clock.now = shanghai("11:00")
    await login(c, "teller4")
    await ok(await c.post(f"{B}/counters/4/open"))
    first = await ok(await c.post(f"{B}/counters/4/call-next", json={}))
    assert first["ticket"]["number"] == "Y001"
    c.app[NOTIFIER].wake()
    await eventually(lambda: len(mailbox.received) == 3, what="the 'called' mail")
    called = mailbox.received[2][1]
    assert called.get_content().strip() == "Ticket Y001, please go to counter 4."
    await ok(await c.post(f"{B}/counters/4/finish", json={}))
    second = await ok(await c.post(f"{B}/counters/4/call-next", json={}))
    assert second["ticket"]["number"] == "Y002"
    c.app[NOTIFIER].wake()
    await eventually(lambda: any(b["kind"] == "called" for b in receiver.bodies), what="the 'called' SMS")
    sms_called = next(b for b in receiver.bodies if b["kind"] == "called")
    assert sms_called["data"]["counter"] == 4 and "Y002" in sms_called["text"]
    assert receiver.bad_signatures == 0 and len(receiver.keys) == len(set(receiver.keys))
    assert [b["kind"] for b in receiver.bodies].count("reminder_hour") == 1  # the moved slot's never went
