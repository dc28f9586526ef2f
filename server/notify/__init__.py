"""Notifications: one outbox, written inside the use case's own transaction, sent by a worker.

Other use cases call :func:`enqueue` inside their unit of work: the message is a row of
the ``outbox`` table, committed with the change it tells of or not at all, and nothing is
sent before the commit. A worker in every server process (:mod:`server.notify.worker`)
claims due rows, renders them in the customer's language (:mod:`server.notify.templates`)
and delivers them by e-mail (SMTP) or to a signed webhook (the bank's SMS gateway or WeChat
template service), retrying with backoff until a message is sent or, after the last
attempt, dead: a dead letter the admin page lists and can retry. A message whose channel
the server has not configured stays pending and is reported there as undeliverable.

The idempotency ``key`` makes a message once-only: enqueueing a key that exists changes
nothing and answers False, and the webhook carries it as ``Idempotency-Key`` so the receiver
can drop a repeat (a worker that died between sending and recording sends again).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.store import outbox
from server.store.uow import UnitOfWork
from server.store.vault import Vault

from .models import Contact
from .templates import KINDS, LANGUAGES, STAFF_KINDS

__all__ = ["KINDS", "Contact", "channel_for", "enqueue", "mask"]

KEY_MAX = 200


def channel_for(kind: str, contact: Contact) -> str:
    """E-mail when the contact has an address, else the webhook (a phone, or a staff message)."""
    if contact.email:
        return "email"
    if contact.phone or kind in STAFF_KINDS:
        return "webhook"
    raise ValueError(f"a {kind} message needs a phone number or an e-mail address")


def mask(contact: Mapping[str, Any]) -> str | None:
    """``138****5678`` or ``a***@bank.example``: enough to recognise, not to use."""
    phone, email = contact.get("phone"), contact.get("email")
    if email:
        user, _, domain = str(email).partition("@")
        return f"{user[:1]}***@{domain}"
    if phone:
        digits = str(phone)
        return digits[:3] + "****" + digits[-4:] if len(digits) > 7 else digits[:1] + "****"
    return None


async def enqueue(
    uow_or_conn: UnitOfWork | AsyncConnection,
    *,
    kind: str,
    branch_id: str,
    contact: Contact,
    language: str,
    data: Mapping[str, Any],
    key: str,
    send_at: datetime | None = None,
    vault: Vault | None = None,
    now: datetime | None = None,
) -> bool:
    """Write a message to the outbox in the caller's transaction; False when ``key`` is there already.

    Args:
        uow_or_conn: the use case's unit of work (its time and vault are used), or a bare
            connection inside a transaction (then pass ``vault`` and ``now``).
        kind: one of :data:`KINDS`.
        contact: whom to tell; sealed with the vault, never stored in clear.
        language: zh-CN, en or zh-TW (the templates fall back to zh-CN).
        data: the template's placeholders (JSON values: numbers, text).
        key: unique per message, e.g. ``called:<ticket id>:<called at>``; at most 200 characters.
        send_at: not before this instant (a reminder); default: now.

    Raises:
        ValueError: an unknown kind or language, a key too long, or a customer message with
            no phone or e-mail — a programming error of the caller, never the customer's.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"the key must be 1 to {KEY_MAX} characters")
    if isinstance(uow_or_conn, UnitOfWork):
        conn = uow_or_conn.conn
        vault = vault or uow_or_conn.vault
        now = now or uow_or_conn.now
        uow_or_conn.outbox_written = True
    else:
        conn = uow_or_conn
    if vault is None or now is None:
        raise ValueError("a bare connection needs vault= and now=")
    channel = channel_for(kind, contact)
    sealed = contact.model_dump(exclude_none=True)
    at = send_at or now
    found = await outbox.insert_message(conn, {
        "key": key, "kind": kind, "branch_id": branch_id, "channel": channel,
        "recipient": vault.seal(sealed) if sealed else None, "language": language, "data": dict(data),
        "created_at": now, "send_at": at, "state": "pending", "attempts": 0, "next_attempt_at": at,
    })
    return found is not None
