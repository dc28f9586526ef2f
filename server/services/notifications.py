"""Notification use cases: a customer's wish to be told, the hooks of the counter, the admin's outbox.

The hooks run inside the counter's own unit of work and only write outbox rows (one
indexed lookup of the ticket's wish, one of the service's wishes still waiting to hear
"N ahead", usually none); the worker sends after the commit, so a call never waits for
a mail server or a gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server import notify
from server.domain.access import Action, Actor, require
from server.domain.errors import Conflict, NotFound
from server.domain.estimation import ahead_of_each
from server.domain.model import TicketState
from server.notify.models import (
    MAX_AHEAD,
    Contact,
    DeliveryCount,
    NotifyWish,
    NotifyWishAnswer,
    OutboxEntry,
    OutboxOverview,
)
from server.notify.worker import NOT_CONFIGURED
from server.store import outbox
from server.store import repository as repo

from .context import BranchTx, Services
from .tickets import _refuse_expired, _ticket_branch

#: The most recent messages the admin page lists.
LISTED = 200


def _vault_contact(tx: BranchTx, sealed: str) -> Contact:
    assert tx.vault is not None
    return Contact.model_validate(tx.vault.open(sealed))


def _service_name(tx: BranchTx, service_id: int, language: str) -> str:
    names = tx.config.service_by_id(service_id).names
    return names.get(language) or names.get("zh-CN") or ""


# --- the customer's wish ---------------------------------------------------------------


async def ask_to_notify(app: Services, token: str, body: NotifyWish) -> NotifyWishAnswer:
    """Tell the ticket's holder when ``body.ahead`` or fewer are ahead, when called and when transferred.

    Asking again replaces the wish. When the ticket already has so few ahead, the message
    goes at once.

    Raises:
        NotFound: no such ticket, or one of an earlier day.
        Conflict: the ticket no longer waits (``not_waiting``): nothing is stored.
    """
    branch_id = await _ticket_branch(app, token)
    async with app.unit_of_work(branch_id) as tx:
        row = await repo.ticket_by_token(tx.conn, token, lock=True)
        if row is None:
            raise NotFound("no such ticket")
        _refuse_expired(row, tx.today)
        if row.state != TicketState.WAITING:
            raise Conflict(f"ticket {row.number} is {row.state}: there is nothing left to tell", code="not_waiting")
        contact = Contact(phone=body.phone, email=body.email)
        assert tx.vault is not None
        await outbox.put_wish(tx.conn, {
            "ticket_id": row.id, "branch_id": branch_id,
            "contact": tx.vault.seal(contact.model_dump(exclude_none=True)),
            "language": body.language or tx.branch.language, "ahead": body.ahead, "ahead_sent": False,
            "created_at": tx.now,
        })
        await _tell_ahead(tx, row.service_id)
    return NotifyWishAnswer(ticket=row.number, ahead=body.ahead, channel=notify.channel_for("ahead", contact),
                            contact=notify.mask(contact.model_dump()) or "")


# --- hooks: inside the counter's unit of work --------------------------------------------


async def ticket_called(tx: BranchTx, row: Any, counter: int) -> None:
    """``row`` was just called to ``counter``: tell its holder, and those who are now N ahead."""
    wish = await outbox.wish_of(tx.conn, row.id)
    if wish is not None:
        called_at = repo.aware(row.called_at)
        await notify.enqueue(
            tx, kind="called", branch_id=tx.branch.id, contact=_vault_contact(tx, wish.contact),
            language=wish.language, key=f"called:{row.id}:{called_at.isoformat()}",
            data={"number": row.number, "counter": counter,
                  "service": _service_name(tx, row.service_id, wish.language)},
        )
        if not wish.ahead_sent:
            await outbox.update_wish(tx.conn, wish.id, ahead_sent=True)  # called: "N ahead" is moot now
    await _tell_ahead(tx, row.service_id)


async def ticket_transferred(tx: BranchTx, row: Any, *, to_counter: int | None) -> None:
    """``row`` was sent to another service or counter: tell its holder, and follow the new queue."""
    wish = await outbox.wish_of(tx.conn, row.id)
    if wish is None:
        return
    await notify.enqueue(
        tx, kind="transferred", branch_id=tx.branch.id, contact=_vault_contact(tx, wish.contact),
        language=wish.language, key=f"transferred:{row.id}:{row.transfers}",
        data={"number": row.number, "counter": to_counter,
              "service": _service_name(tx, row.service_id, wish.language)},
    )
    await outbox.update_wish(tx.conn, wish.id, ahead_sent=False)  # a new queue: a new "N ahead"
    await _tell_ahead(tx, row.service_id)


async def _tell_ahead(tx: BranchTx, service_id: int) -> None:
    """Every wish of the service whose ticket now has its N or fewer ahead gets its message, once.

    Only the head of the queue can have N ≤ :data:`MAX_AHEAD` ahead, so the oldest
    ``MAX_AHEAD + 1`` of each of the service's queues (green, normal) and the head-placed
    tickets are read (ordered ranges of the queue index, as call-next reads them), and only
    their wishes are looked up: the cost does not grow with the queue. A ticket outside what
    was read has more than MAX_AHEAD ahead of it, and within it the count is exact.
    """
    head = await repo.call_candidates(tx.conn, tx.branch.id, service_ids=[service_id], counter_id=0,
                                      per_queue=MAX_AHEAD + 1)
    positions = ahead_of_each([repo.to_candidate(r, tx.config) for r in head], rules=tx.config.rules(), now=tx.now)
    near = [ticket_id for ticket_id, ahead in positions.items() if ahead <= MAX_AHEAD]
    if not near:
        return
    rows = {r.id: r for r in head}
    for wish in await outbox.unsent_ahead(tx.conn, near):
        ahead = positions[wish.ticket_id]
        if ahead > wish.ahead:
            continue
        ticket = rows[wish.ticket_id]
        await notify.enqueue(
            tx, kind="ahead", branch_id=tx.branch.id, contact=_vault_contact(tx, wish.contact),
            language=wish.language, key=f"ahead:{ticket.id}:{ticket.transfers}",
            data={"number": ticket.number, "ahead": ahead,
                  "service": _service_name(tx, ticket.service_id, wish.language)},
        )
        await outbox.update_wish(tx.conn, wish.id, ahead_sent=True)


async def tell_staff(tx: BranchTx, kind: str, key: str, data: dict[str, Any]) -> None:
    """A ``breach`` or ``complaint`` message to the staff the branch's YAML names (``notifications.staff``)."""
    staff = (tx.branch.notifications or {}).get("staff") or {}
    recipients = [Contact(email=e) for e in staff.get("email") or []]
    if staff.get("webhook"):
        recipients.append(Contact())
    for contact in recipients:
        await notify.enqueue(tx, kind=kind, branch_id=tx.branch.id, contact=contact, language=tx.branch.language,
                             key=f"{key}:{contact.email or 'webhook'}", data={**data, "audience": "staff"})


# --- the admin's view ------------------------------------------------------------------------


def _entry(app: Services, row: Any) -> OutboxEntry:
    try:
        shown = notify.mask(app.vault.open(row.recipient)) if row.recipient else None
    except ValueError:
        shown = "(sealed under a retired key)"
    configured = row.channel in app.notify_channels
    return OutboxEntry(
        id=row.id, key=row.key, kind=row.kind, branch=row.branch_id, channel=row.channel, recipient=shown,
        language=row.language, state=row.state, attempts=row.attempts, created_at=repo.aware(row.created_at),
        send_at=repo.aware(row.send_at), next_attempt_at=repo.aware(row.next_attempt_at),
        sent_at=repo.aware(row.sent_at) if row.sent_at else None, last_error=row.last_error,
        undeliverable=NOT_CONFIGURED if row.state == "pending" and not configured else None,
    )


def delivery_counts(rows: Any) -> list[DeliveryCount]:
    """Per kind and channel: sent, pending, dead, and the delivery rate of the finished ones."""
    table: dict[tuple[str, str], dict[str, int]] = {}
    for kind, channel, state, n in rows:
        table.setdefault((kind, channel), {"sent": 0, "pending": 0, "dead": 0})[state] += int(n)
    return [
        DeliveryCount(kind=kind, channel=channel, **c,
                      rate=round(c["sent"] / (c["sent"] + c["dead"]), 4) if c["sent"] + c["dead"] else None)
        for (kind, channel), c in sorted(table.items())
    ]


async def overview(app: Services, actor: Actor, *, state: str | None = None) -> OutboxOverview:
    """Admin: the latest messages (``state``: only those), delivery counts, the channels configured."""
    require(actor, Action.ADMINISTER)
    async with app.db.read() as conn:
        rows = await outbox.messages(conn, states=[state] if state else None, limit=LISTED)
        counted = await outbox.counts(conn)
    return OutboxOverview(
        channels={c: c in app.notify_channels for c in ("email", "webhook")},
        counts=delivery_counts(counted), messages=[_entry(app, r) for r in rows],
    )


async def retry(app: Services, actor: Actor, message_id: int) -> OutboxEntry:
    """Admin: a dead letter (or a pending message) is tried again now, with a fresh count of attempts.

    Raises:
        NotFound: no such message.
        Conflict: it was sent already (``already_sent``).
    """
    require(actor, Action.ADMINISTER)
    async with app.unit_of_work(None) as uow:
        row = await outbox.message(uow.conn, message_id)
        if row is None:
            raise NotFound(f"no notification {message_id}")
        if row.state == "sent":
            raise Conflict(f"notification {message_id} was sent already", code="already_sent")
        await outbox.revive(uow.conn, message_id, uow.now)
        await uow.audit(actor, "notify.retry", f"notification {message_id}", {"state": row.state,
                        "attempts": row.attempts}, {"state": "pending", "attempts": 0}, branch_id=row.branch_id)
        uow.outbox_written = True
        after = await outbox.message(uow.conn, message_id)
    return _entry(app, after)


async def delivery_rates(
    app: Services, branch_id: str, *, since: datetime | None = None, until: datetime | None = None
) -> list[DeliveryCount]:
    """The branch's messages created in [since, until), per kind and channel (the reports show it)."""
    async with app.db.read() as conn:
        return delivery_counts(await outbox.counts(conn, branch_ids=[branch_id], since=since, until=until))
