"""How a message leaves the server: e-mail over SMTP, or a signed JSON POST to a webhook.

Each backend's ``send`` delivers one rendered message or raises :class:`DeliveryFailed`
with a reason short enough for the admin page; it never waits longer than its timeout.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiohttp
import aiosmtplib
import orjson

SIGNATURE_HEADER = "X-Branchq-Signature"


class DeliveryFailed(Exception):
    """The attempt failed; the message is tried again later (or is dead after the last attempt)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message, rendered, with its recipient in clear (in memory only)."""

    key: str
    kind: str
    branch: str
    language: str
    subject: str
    text: str
    contact: dict[str, Any]
    data: dict[str, Any]


class Backend(Protocol):
    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


def sign(secret: str, body: bytes) -> str:
    """The value of ``X-Branchq-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks (constant-time)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class WebhookBackend:
    """POST ``{key, kind, branch, language, subject, text, to, data}`` as JSON, signed.

    2xx is delivered; anything else, a refused connection or the timeout is a failure.
    """

    def __init__(self, url: str, secret: str, *, timeout_s: float) -> None:
        self.url, self.secret = url, secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def body(self, message: Outgoing) -> bytes:
        return orjson.dumps({
            "key": message.key, "kind": message.kind, "branch": message.branch, "language": message.language,
            "subject": message.subject, "text": message.text, "to": message.contact, "data": message.data,
        })

    async def send(self, message: Outgoing) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        body = self.body(message)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
                   "Idempotency-Key": message.key}
        try:
            async with self._session.post(self.url, data=body, headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    detail = (await resp.text())[:200]
                    raise DeliveryFailed(f"webhook answered {resp.status}: {detail}".strip())
        except (aiohttp.ClientError, TimeoutError) as e:
            raise DeliveryFailed(f"webhook unreachable: {type(e).__name__} {e}"[:300]) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class SmtpBackend:
    """One e-mail per message, over ``smtp://`` (STARTTLS when offered) or ``smtps://`` (TLS).

    The Message-ID is made from the key, so a repeat after a lost acknowledgement can be
    recognised by the mail system.
    """

    def __init__(self, url: str, sender: str, *, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender, self.timeout_s = sender, timeout_s

    def email(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.contact["email"]
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        mail["Message-ID"] = make_msgid(idstring=digest, domain=self.sender.partition("@")[2] or "branchq")
        mail["X-Branchq-Key"] = message.key
        mail.set_content(message.text)
        return mail

    async def send(self, message: Outgoing) -> None:
        if not message.contact.get("email"):
            raise DeliveryFailed("no e-mail address")
        try:
            await aiosmtplib.send(
                self.email(message), hostname=self.host, port=self.port, username=self.username,
                password=self.password, use_tls=self.implicit_tls, start_tls=None if not self.implicit_tls else False,
                timeout=self.timeout_s,
            )
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as e:
            raise DeliveryFailed(f"mail server: {type(e).__name__} {e}"[:300]) from None

    async def close(self) -> None:
        return None
