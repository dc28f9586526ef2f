"""Service-level tests: the use cases called directly, on an in-memory unit of work.

No HTTP, no sockets, no files: each test gets a private SQLite database in memory
(:func:`server.store.engine.open_memory_database`) with the demo branch, and calls the
handlers in :mod:`server.services` as the web layer would, with an :class:`Actor`. A test
takes milliseconds, so the business rules live here; the HTTP contract (status codes,
error shapes, headers) and the store on SQLite and PostgreSQL have suites of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from server.domain.access import Actor
from server.domain.errors import BranchqError
from server.protocol import IssueTicket, TicketIssued
from server.services import auth, tickets
from server.services.context import Services
from server.services.demo import DEMO_PASSWORD, DEMO_TOKENS, seed_demo
from server.store import repository as repo
from server.store.engine import create_schema, open_memory_database
from tests.conftest import MovableClock
from tests.integration.snapshot import snapshot

_HASH: dict[str, str] = {}


@pytest.fixture(autouse=True)
def one_password_hash(monkeypatch):
    """Argon2 costs ~100 ms a hash on purpose; the tests hash the demo password once per process."""
    real = auth.hash_password

    async def cached(password: str) -> str:
        if password not in _HASH:
            _HASH[password] = await real(password)
        return _HASH[password]

    monkeypatch.setattr(auth, "hash_password", cached)


@dataclass
class World:
    """The demo branch in memory, its actors, and what a test set up."""

    app: Services
    clock: MovableClock
    ctx: dict[str, Any] = field(default_factory=dict)

    async def staff(self, username: str) -> Actor:
        async with self.app.db.read() as conn:
            row = await repo.staff_by_username(conn, username)
        actor = await auth.staff_actor(self.app, row.id)
        assert actor is not None
        return actor

    async def device(self, kind: str) -> Actor:
        return await auth.device_actor(self.app, DEMO_TOKENS[kind])

    async def issue(self, service: str = "A", **fields: Any) -> TicketIssued:
        return await tickets.issue_ticket(
            self.app, await self.device("kiosk"), "demo", IssueTicket(service=service, **fields)
        )

    async def refused(self, code: str, call) -> BranchqError:
        """``call()`` must raise a :class:`BranchqError` with ``code`` and change nothing at all."""
        before = await snapshot(self.app)
        with pytest.raises(BranchqError) as refusal:
            await call()
        assert refusal.value.code == code, f"expected {code}, got {refusal.value.code}: {refusal.value.message}"
        assert await snapshot(self.app) == before, "a refused use case changed the database"
        return refusal.value


@pytest.fixture
async def world() -> AsyncIterator[World]:
    db = open_memory_database()
    await create_schema(db)
    clock = MovableClock()
    app = Services(db, clock, demo=True)
    await seed_demo(app)
    try:
        yield World(app, clock)
    finally:
        await db.dispose()


__all__ = ["DEMO_PASSWORD", "World"]
