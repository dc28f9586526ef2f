"""``branchq report complaints`` on a real database, before and after ``branchq retention run``
erased the complainants' contacts: the same figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select

from server.complaint_protocol import STEP_BODIES, StaffComplaintIn
from server.domain.complaints import CaseAction
from server.services import auth, complaints
from server.services.context import Services
from server.services.demo import seed_demo
from server.store import repository as repo
from server.store import tables as t
from server.store.engine import open_database
from tests.conftest import MovableClock
from tests.integration.test_cli import branchq, succeeded

LONG_AGO = datetime(2023, 3, 6, 2, 0, tzinfo=UTC)  # over three years ago: past the contacts' retention
A = CaseAction


async def cases_long_ago(url: str) -> None:
    """Three hotline cases of two complainants: one upheld and closed, one decided late, one withdrawn."""
    db = open_database(url)
    try:
        clock = MovableClock(LONG_AGO)
        app = Services(db, clock, demo=True)
        await seed_demo(app)
        async with db.read() as conn:
            manager = await auth.staff_actor(app, (await repo.staff_by_username(conn, "manager")).id)

        async def case(phone: str, category: str, steps: list[tuple[CaseAction, dict]]) -> None:
            made = await complaints.enter_complaint(app, manager, "demo", StaffComplaintIn.model_validate(
                {"channel": "hotline", "category": category, "text": "x", "contact": {"name": "张三", "phone": phone}}))
            for action, fields in steps:
                if action is A.DECIDE:
                    clock.advance(days=fields.pop("after_days"))
                await complaints.act(app, manager, "demo", made.id, action,
                                     STEP_BODIES[action].model_validate(fields))

        decide = {"text": "done", "sent_via": "sms", "remedies": ["review"]}
        await case("13800000001", "fees", [
            (A.ACCEPT, {}), (A.ASSIGN, {"handler": manager.id}),
            (A.DECIDE, {**decide, "outcome": "upheld", "after_days": 3}),
            (A.RECTIFY, {"cause": "process", "fix": "check", "owner": "王", "due": "2023-04-30"}),
            (A.CLOSE, {"satisfied": True})])
        await case("13800000001", "waiting", [
            (A.ACCEPT, {}), (A.ASSIGN, {"handler": manager.id}),
            (A.DECIDE, {**decide, "outcome": "not_upheld", "after_days": 20}), (A.CLOSE, {"satisfied": False})])
        await case("13800000002", "other", [(A.WITHDRAW, {"reason": "solved"})])
    finally:
        await db.dispose()


async def contacts(url: str) -> list:
    db = open_database(url)
    try:
        async with db.read() as conn:
            return list((await conn.execute(select(t.Complaint.contact).order_by(t.Complaint.id))).scalars())
    finally:
        await db.dispose()


def report(tmp_path, url: str, *options: str) -> str:
    return succeeded(branchq(tmp_path / "cli", "report", "complaints", "--branch", "demo", "--from", "2023-03-01",
                             "--to", "2023-03-31", *options, "--database", url))


async def test_report_complaints_counts_the_cases_and_keeps_its_figures_after_retention(tmp_path, db_url):
    await cases_long_ago(db_url)
    text = report(tmp_path, db_url, "--format", "csv")
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(text.split("\n\n")[0]))}
    total = rows["total"]
    assert (total["received"], total["closed"], total["repeat_complainants"]) == ("3", "2", "1")
    assert (total["on_time_rate"], total["avg_days"], total["p90_days"]) == ("0.5", "11.5", "20.0")
    assert total["satisfaction_rate"] == "0.5" and total["upheld_rate"] == "0.5"
    table = report(tmp_path, db_url, "--group", "category")
    assert "fees" in table and "weak point: fees" in table
    assert all(c is not None for c in await contacts(db_url))

    out = succeeded(branchq(tmp_path / "cli", "retention", "run", "--days", "30", "--database", db_url))
    assert "erased 3 contact(s)" in out, out
    assert await contacts(db_url) == [None, None, None]
    assert report(tmp_path, db_url, "--format", "csv") == text
    assert "13800000001" not in text and "张" not in text


async def test_report_complaints_refuses_a_summary_group(tmp_path, db_url):
    await cases_long_ago(db_url)
    done = branchq(tmp_path / "cli", "report", "complaints", "--group", "hour", "--database", db_url)
    assert done.returncode == 2 and "--group for complaints" in done.stderr
