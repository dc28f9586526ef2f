"""``branchq retention run`` on a real database: personal data of old records erased, figures kept."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select

from server.protocol import FeedbackIn, IssueTicket
from server.services import auth, counters, tickets
from server.services.context import Services
from server.services.demo import DEMO_TOKENS, seed_demo
from server.store import repository as repo
from server.store import tables as t
from server.store.engine import open_database
from tests.conftest import MovableClock
from tests.integration.test_cli import branchq, succeeded

LONG_AGO = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)  # a Monday morning in Shanghai


async def a_day_long_ago(url: str) -> None:
    """The demo branch with one green-channel customer (elderly) served and rated with a comment."""
    db = open_database(url)
    try:
        app = Services(db, MovableClock(LONG_AGO), demo=True)
        await seed_demo(app)
        kiosk = await auth.device_actor(app, DEMO_TOKENS["kiosk"])
        issued = await tickets.issue_ticket(
            app, kiosk, "demo", IssueTicket(service="A", priority="green", green_reason="elderly")
        )
        async with db.read() as conn:
            teller = await auth.staff_actor(app, (await repo.staff_by_username(conn, "teller1")).id)
        await counters.open_counter(app, teller, "demo", 1)
        await counters.call_next(app, teller, "demo", 1)
        await counters.finish(app, teller, "demo", 1)
        await tickets.give_feedback(app, issued.token, FeedbackIn(score=4, comment="call me on 139…"))
    finally:
        await db.dispose()


async def stored(url: str) -> tuple:
    db = open_database(url)
    try:
        async with db.read() as conn:
            ticket = (await conn.execute(select(t.Ticket.green_reason, t.Ticket.priority))).one()
            rating = (await conn.execute(select(t.Feedback.comment, t.Feedback.score))).one()
        return tuple(ticket), tuple(rating)
    finally:
        await db.dispose()


def report(tmp_path, url: str) -> list[dict]:
    out = succeeded(branchq(tmp_path / "cli", "report", "--branch", "demo", "--from", "2024-03-04",
                            "--group", "priority", "--format", "csv", "--database", url))
    return list(csv.DictReader(io.StringIO(out)))


async def test_retention_run_erases_old_green_reasons_and_comments_and_keeps_the_figures(tmp_path, db_url):
    await a_day_long_ago(db_url)
    before = report(tmp_path, db_url)
    assert await stored(db_url) == (("elderly", "green"), ("call me on 139…", 4))

    out = succeeded(branchq(tmp_path / "cli", "retention", "run", "--days", "30", "--database", db_url))

    assert "1 green-channel reason(s), 1 comment(s)" in out, out
    assert await stored(db_url) == ((None, "green"), ("", 4))
    assert report(tmp_path, db_url) == before, "counts, waits and scores are the same"
    again = succeeded(branchq(tmp_path / "cli", "retention", "run", "--days", "30", "--database", db_url))
    assert "0 green-channel reason(s), 0 comment(s)" in again
