"""The worker that sends the outbox: one in every server process, on the injected clock.

Each round (:meth:`Worker.run_once`) claims the due messages of the configured channels
in a short transaction of its own (see :mod:`server.store.outbox`), sends them outside
any transaction — concurrently, each within its backend's timeout — and records each
outcome in one more transaction: ``sent``, or the error and the next attempt (exponential
backoff with jitter, :mod:`server.notify.backoff`), or ``dead`` after the last attempt.
A call at a counter never waits for any of this: it only wrote a row.

The claim lasts the send timeout plus a margin; a worker that dies mid-send leaves its
messages to be claimed again when the claim runs out, and the receiver de-duplicates by
``Idempotency-Key`` (at-least-once delivery, exactly-once with an idempotent receiver).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.clock import Clock, system_clock
from server.settings import Settings
from server.store import outbox
from server.store import repository as repo
from server.store.engine import Database
from server.store.vault import Vault

from .backends import Backend, DeliveryFailed, Outgoing, SmtpBackend, WebhookBackend
from .backoff import next_attempt
from .templates import render, template_for

log = logging.getLogger(__name__)

BATCH = 50
NOT_CONFIGURED = "no channel configured: set BRANCHQ_SMTP_URL (e-mail) or BRANCHQ_WEBHOOK_URL (webhook)"


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard a message is tried."""

    max_attempts: int = 8
    backoff_s: float = 10.0
    backoff_max_s: float = 3600.0
    timeout_s: float = 10.0

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.notify_max_attempts, settings.notify_backoff_s, settings.notify_backoff_max_s,
                   settings.notify_timeout_s)

    @property
    def claim_s(self) -> float:
        """How long a claim lasts: longer than any attempt can take."""
        return self.timeout_s * 2 + 30


def backends_of(settings: Settings) -> dict[str, Backend]:
    """The channels the settings configure (none: every message stays pending, reported as undeliverable)."""
    found: dict[str, Backend] = {}
    if settings.smtp_url:
        found["email"] = SmtpBackend(settings.smtp_url, settings.smtp_from, timeout_s=settings.notify_timeout_s)
    if settings.webhook_url and settings.webhook_secret:
        found["webhook"] = WebhookBackend(settings.webhook_url, settings.webhook_secret,
                                          timeout_s=settings.notify_timeout_s)
    return found


@dataclass
class Round:
    """What one round did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.dead


class Worker:
    """Sends the outbox of ``db`` through ``backends`` (channel → backend)."""

    def __init__(
        self, db: Database, vault: Vault, backends: Mapping[str, Backend], *, policy: Policy | None = None,
        clock: Clock = system_clock, rng: random.Random | None = None, poll_s: float = 1.0,
    ) -> None:
        self.db, self.vault, self.backends = db, vault, dict(backends)
        self.policy = policy or Policy()
        self.clock, self.rng, self.poll_s = clock, rng or random.Random(), poll_s
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # --- running in the server ---

    def start(self) -> None:
        if self.backends and self._task is None:
            self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        """Look at once (a use case has just committed a message)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for backend in self.backends.values():
            await backend.close()

    async def _run(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except Exception:  # the database away a moment: try again at the next round
                log.exception("notification round failed")
                done = Round()
            if done.claimed < BATCH:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                except TimeoutError:
                    pass

    # --- one round ---

    async def run_once(self) -> Round:
        """Claim what is due now, send it, record the outcomes."""
        if not self.backends:
            return Round()
        now = self.clock()
        until = now + timedelta(seconds=self.policy.claim_s)
        async with self.db.write() as conn:
            rows = await outbox.claim(conn, now=now, until=until, channels=sorted(self.backends), limit=BATCH)
        if not rows:
            return Round()
        templates = await self._templates({r.branch_id for r in rows})
        outcomes = await asyncio.gather(*(self._attempt(r, templates.get(r.branch_id)) for r in rows))
        done = Round()
        after = self.clock()
        async with self.db.write() as conn:
            for row, error in zip(rows, outcomes, strict=True):
                values = self._outcome(row, error, after)
                await outbox.finish(conn, row.id, until, **values)
                if error is None:
                    done.sent += 1
                elif values["state"] == "dead":
                    done.dead += 1
                    log.warning("notification %s is dead after %s attempts: %s", row.key, row.attempts, error)
                else:
                    done.failed += 1
        return done

    async def _templates(self, branch_ids: set[str]) -> dict[str, tuple[dict[str, Any], str, dict[str, str]]]:
        """Per branch: its templates, language and name in each language."""
        found: dict[str, tuple[dict[str, Any], str, dict[str, str]]] = {}
        async with self.db.read() as conn:
            for branch_id in branch_ids:
                branch = await repo.load_branch(conn, branch_id)
                if branch is not None:
                    found[branch_id] = (branch.notifications or {}, branch.language, branch.names)
        return found

    def _outcome(self, row: Any, error: str | None, now: datetime) -> dict[str, Any]:
        if error is None:  # delivered: the contact is no longer needed here
            return {"state": "sent", "sent_at": now, "last_error": None, "recipient": None}
        if row.attempts >= self.policy.max_attempts:
            return {"state": "dead", "last_error": error}
        when = next_attempt(now, row.attempts, base_s=self.policy.backoff_s, max_s=self.policy.backoff_max_s,
                            rng=self.rng)
        return {"state": "pending", "last_error": error, "next_attempt_at": when}

    async def _attempt(self, row: Any, branch: Any) -> str | None:
        """Send ``row``; None when delivered, else why not."""
        try:
            message = self.outgoing(row, branch)
            await self.backends[row.channel].send(message)
        except DeliveryFailed as e:
            return str(e) or "failed"
        except Exception as e:  # a bug or a bad template must not stop the others: reported, retried
            log.exception("notification %s could not be sent", row.key)
            return f"{type(e).__name__}: {e}"[:300]
        return None

    def outgoing(self, row: Any, branch: Any) -> Outgoing:
        rules, branch_language, names = branch if branch is not None else ({}, "zh-CN", {})
        contact = self.vault.open(row.recipient) if row.recipient else {}
        data = dict(row.data or {})
        data.setdefault("branch", (names or {}).get(row.language) or row.branch_id)
        data.setdefault("name", contact.get("name") or "")
        subject, text = render(template_for(row.kind, row.language, rules, branch_language), data)
        return Outgoing(key=row.key, kind=row.kind, branch=row.branch_id, language=row.language,
                        subject=subject, text=text, contact=contact, data=data)
