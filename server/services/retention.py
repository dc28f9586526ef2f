"""Retention: what is personal in old records is erased; the anonymous figures stay.

After ``BRANCHQ_RETENTION_DAYS`` (``branchq retention run``, and once a day in every
server) tickets lose their green-channel reason (elderly, disabled, pregnant: sensitive),
ratings their free-text comment, and events those fields wherever they hold them. Counts,
priorities, waits, service times, scores and tags are kept, so every report still adds
up. A ticket's token needs no erasing: it stops working when its business day ends
(:mod:`server.services.tickets`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from server.domain.errors import InvalidInput
from server.store import bookings as booking_store
from server.store import outbox
from server.store import retention as store

from .context import Services

#: What an event's data may hold that retention erases.
SENSITIVE_EVENT_FIELDS = frozenset({"green_reason", "comment"})


@dataclass(frozen=True, slots=True)
class Erased:
    """What one run erased, in rows, from records made before ``before``."""

    before: datetime
    green_reasons: int = 0
    comments: int = 0
    events: int = 0
    notify_wishes: int = 0
    """Customers' wishes to be told about a ticket, dropped the day after."""
    notify_contacts: int = 0
    """Contacts of notifications never delivered (a delivered one keeps none)."""
    booking_contacts: int = 0
    """Contacts of bookings whose slot ended before the period (the booking's figures stay)."""

    @property
    def total(self) -> int:
        return (self.green_reasons + self.comments + self.events + self.notify_wishes + self.notify_contacts
                + self.booking_contacts)


async def erase_expired(app: Services, *, days: int, full: bool = False) -> Erased:
    """Erase green-channel reasons and comments of records older than ``days`` days.

    Incremental: each run starts where the last one stopped, so running it again (or on
    several processes) is cheap and changes nothing more; ``full`` reads every old record
    again (for records written into the past, e.g. imported). Audited when it erased anything.

    Raises:
        InvalidInput: ``days`` is less than 1.
    """
    if days < 1:
        raise InvalidInput("the retention period is at least one day")
    async with app.unit_of_work(None) as uow:
        before = uow.now - timedelta(days=days)
        last = await store.erased_before(uow.conn)
        since = None if full else last
        conn = uow.conn
        # A wish is about today's ticket: it goes the next day, whatever the period.
        wishes = await outbox.drop_wishes(conn, before=uow.now - timedelta(days=1))
        contacts = await outbox.erase_recipients(conn, before=before)
        booked = await booking_store.erase_contacts(conn, before=before)
        if since is not None and since >= before:
            return Erased(before, notify_wishes=wishes, notify_contacts=contacts, booking_contacts=booked)
        erased = Erased(
            before,
            notify_wishes=wishes,
            notify_contacts=contacts,
            booking_contacts=booked,
            green_reasons=await store.erase_green_reasons(conn, since=since, before=before),
            comments=await store.erase_comments(conn, since=since, before=before),
            events=await store.erase_event_fields(conn, SENSITIVE_EVENT_FIELDS, since=since, before=before),
        )
        if last is None or before > last:
            await store.set_erased_before(conn, before)
        if erased.total:
            counts = {k: v for k, v in asdict(erased).items() if k != "before"}
            await uow.audit(None, "retention.run", f"records before {before.isoformat()}", None, counts)
    return erased
