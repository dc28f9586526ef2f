"""The notifier's models: a contact, a customer's wish, and what the admin page is answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.complaint_protocol import Email, Name, Phone
from server.protocol import Answer, Body

Channel = Literal["email", "webhook"]
State = Literal["pending", "sent", "dead"]
#: The most "N ahead" a customer may ask for.
MAX_AHEAD = 20


class Contact(Body):
    """Whom a message is for: an e-mail address (sent by e-mail) or a phone (sent to the webhook,
    the bank's SMS gateway). Staff messages may have neither: they go to the webhook as they are."""

    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None


class NotifyWish(Body):
    """A customer on the phone page: tell me when N or fewer are ahead of me, and when I am called."""

    email: Email | None = None
    phone: Phone | None = None
    ahead: Annotated[int, Field(ge=1, le=MAX_AHEAD)]
    consent: Literal[True]
    """The customer agrees to be contacted about this ticket (required)."""
    language: Literal["zh-CN", "en", "zh-TW"] | None = None
    """The messages' language; default: the branch's."""

    @model_validator(mode="after")
    def _reachable(self) -> NotifyWish:
        if not self.phone and not self.email:
            raise ValueError("a contact needs a phone number or an e-mail address")
        return self


class NotifyWishAnswer(Answer):
    ticket: str
    """The ticket's number."""
    ahead: int
    channel: Channel
    contact: str
    """The contact, masked."""


class OutboxEntry(Answer):
    id: int
    key: str
    kind: str
    branch: str
    channel: Channel
    recipient: str | None
    """The recipient, masked (None: a staff message to the webhook, or erased)."""
    language: str
    state: State
    attempts: int
    created_at: datetime
    send_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    undeliverable: str | None = None
    """Why no attempt is made (its channel is not configured on this server)."""


class DeliveryCount(Answer):
    kind: str
    channel: Channel
    sent: int
    pending: int
    dead: int
    rate: float | None
    """sent / (sent + dead): what share of the finished messages arrived (None: none finished)."""


class OutboxOverview(Answer):
    channels: dict[str, bool]
    """Which channels this server has configured."""
    counts: list[DeliveryCount]
    messages: list[OutboxEntry]
