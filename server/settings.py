"""Settings from the command line and ``BRANCHQ_*`` environment variables."""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRANCHQ_", extra="ignore")

    database: str = Field(
        default="sqlite:///var/branchq.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str | None = Field(
        default=None,
        description="32 url-safe base64 bytes for the session cookie; generated into var/ when unset",
    )
    secret_file: str = "var/secret.key"
    public_url: str | None = Field(
        default=None,
        description="the address customers reach the server at (https://queue.bank.example): QR codes "
        "and printed links are built from it, not from the request (behind TLS that says http://)",
    )
    demo: bool = False
    photo_dir: str = Field(default="var/photos", description="where inspection photos are stored")
    photo_max_bytes: int = Field(default=3 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024,
                                 description="the largest inspection photo accepted")
    standards_every_s: float = Field(default=30.0, ge=0.2, le=3600,
                                     description="how often the service standards are evaluated (seconds)")
    notice_check_s: float = Field(default=10.0, ge=0.2, le=3600,
                                  description="how often notices past their end time are taken down (seconds)")
    checklist: str | None = Field(default=None, description="an inspection checklist YAML file "
                                  "(default: the bank-branch checklist shipped with branchq)")
    max_body_bytes: int = 64 * 1024
    session_max_age_s: int = 12 * 3600
    cookie_secure: bool = False
    pool_size: int = 10
    trusted_origins: list[str] = Field(default_factory=list)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For "
        "names the client; empty: the peer is the client",
    )
    issue_rate_limit: str = Field(
        default="5/10 seconds;20/minute;360/hour",
        description="per kiosk: a line of people at one screen, a burst as at opening time, then a "
        "ticket every few seconds (never applies to signed-in staff); a branch may set its own "
        "(limits.kiosk_issue)",
    )
    public_rate_limit: str = Field(
        default="20/second;300/minute", description="per client address, on public endpoints"
    )
    retention_days: int = Field(
        default=90, ge=1, le=3650,
        description="after this many days, tickets' green-channel reasons and ratings' comments are "
        "erased (branchq retention run, and daily in the server); the figures are kept",
    )
    complaint_retention_days: int = Field(
        default=1095, ge=1, le=36500,
        description="closed complaint cases keep the complainant's contact this many days (3 years), then "
        "branchq retention run (and the daily task) erases it; the anonymous case stays for statistics",
    )
    data_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Fernet keys (comma-separated, newest first) that encrypt complainants' contacts: the "
        "first encrypts, all decrypt; empty: one derived from the secret key (branchq secret --data makes one)",
    )
    contact_hash_key: str | None = Field(
        default=None,
        description="the key of the contacts' keyed hash (repeat complainants, per-contact limits); "
        "default: derived from the secret key",
    )
    complaint_rate_limit: str = Field(
        default="3/minute;20/day", description="per client address, on the public complaint form",
    )
    booking_rate_limit: str = Field(
        default="5/minute;20/day",
        description="per client address: bookings made, moved or cancelled and remote tickets taken from phones",
    )
    complaint_guess_limit: str = Field(
        default="10/minute;100/day",
        description="per client address: unknown case tokens asked for before every lookup is refused",
    )
    abandoned_after_s: int = Field(
        default=300, ge=60, le=86400,
        description="a counter open or paused whose teller has not been seen for this long (no request, "
        "command or open staff socket on any process) is paused with code system, and a customer "
        "called to it goes back to the head of the queue",
    )
    smtp_url: str | None = Field(
        default=None,
        description="the mail server for e-mail notifications: smtp://user:password@host:587 (STARTTLS when "
        "the server offers it), smtps://host:465 (TLS from the start), or smtp://host:25; empty: no e-mail",
    )
    smtp_from: str = Field(default="branchq@localhost", description="the From address of notification e-mails")
    webhook_url: str | None = Field(
        default=None,
        description="where notifications are POSTed as signed JSON (the bank's SMS gateway or WeChat template "
        "service, and staff alerts); empty: no webhook",
    )
    webhook_secret: str | None = Field(
        default=None, description="the HMAC-SHA256 key of the X-Branchq-Signature header (needed with webhook_url)",
    )
    notify_timeout_s: float = Field(default=10.0, ge=0.1, le=300, description="one delivery attempt's time limit")
    notify_max_attempts: int = Field(default=8, ge=1, le=50,
                                     description="delivery attempts before a message is a dead letter")
    notify_backoff_s: float = Field(default=10.0, ge=0.01, le=3600,
                                    description="the wait after the first failed attempt; it doubles each time")
    notify_backoff_max_s: float = Field(default=3600.0, ge=0.01, le=86400, description="the longest wait")
    notify_poll_s: float = Field(default=1.0, ge=0.01, le=60, description="how often the worker looks for messages")
    notify_rate_limit: str = Field(
        default="3/minute;20/hour", description="per client address, on a ticket's notification wish",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="uvloop where installed (Linux, macOS), else asyncio's own loop",
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("must be like smtp://user:password@mail.bank.example:587 or smtps://host:465")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _webhook_signed(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("BRANCHQ_WEBHOOK_SECRET is needed with BRANCHQ_WEBHOOK_URL: receivers check the signature")
        return self

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        """Url-safe base64 of at least 32 random bytes (``branchq secret`` prints one)."""
        if value is None or value == "":
            return None
        try:
            raw = base64.urlsafe_b64decode(value.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) < 32:
            raise ValueError("must be at least 32 bytes in url-safe base64; make one with `branchq secret`")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError("must be like https://queue.bank.example (a scheme, a host, perhaps a path)")
        return value.rstrip("/")

    @field_validator("data_keys", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        """``key1,key2`` (or a JSON list), each a Fernet key: 32 url-safe base64 bytes."""
        if isinstance(value, str):
            value = [k.strip() for k in value.split(",") if k.strip()]
        if isinstance(value, list):
            for key in value:
                try:
                    ok = len(base64.urlsafe_b64decode(str(key).encode("ascii"))) == 32
                except (ValueError, UnicodeEncodeError):
                    ok = False
                if not ok:
                    raise ValueError("each data key is 32 url-safe base64 bytes; make one with `branchq secret --data`")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        """``10.0.0.5, 10.1.0.0/16`` (or a JSON list), each checked to be an address or range."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list):
            value = [str(v).strip() for v in value if str(v).strip()]
            for entry in value:
                ipaddress.ip_network(entry, strict=False)  # ValueError names the entry that is neither
        return value
