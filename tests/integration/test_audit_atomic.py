"""An administrative change and its audit entry commit together, or neither does.

Each case makes one change through its use case while every unit of work that has
written an audit entry fails at its last step before commit (``UnitOfWork.flush``,
where the events are appended). Afterwards the whole database must be exactly as
before: no change, no audit entry, no event. A use case that committed the change
in one transaction and the audit entry (or the event) in another would leave the
change behind, and fail here.

The same change is then made without the failure, to show the case really changes
the tables it names: the snapshot comparison is not vacuous.

Every case runs on SQLite and on real PostgreSQL (the ``demo`` fixture).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from server.protocol import StaffIn
from server.services import admin, auth
from server.services.context import Actor, Services
from server.store import repository as repo
from server.store.uow import UnitOfWork
from tests.integration.snapshot import snapshot


class InjectedFailure(Exception):
    """The failure injected after a unit of work's audit entry and before its commit."""


@dataclass
class FailAfterAudit:
    """While armed, a unit of work that has written an audit entry fails just before commit."""

    armed: bool = False
    failed: int = 0
    """How many units of work it has failed so far (each after writing its audit entry)."""


@pytest.fixture
def fail_after_audit(monkeypatch) -> FailAfterAudit:
    state = FailAfterAudit()
    audited: list[UnitOfWork] = []  # by identity: a UnitOfWork is an unhashable dataclass
    real_audit, real_flush = UnitOfWork.audit, UnitOfWork.flush

    async def audit(self: UnitOfWork, *args: Any, **kwargs: Any) -> None:
        await real_audit(self, *args, **kwargs)
        audited.append(self)

    async def flush(self: UnitOfWork) -> None:
        if state.armed and any(u is self for u in audited):
            state.failed += 1
            raise InjectedFailure("after the audit entry, before the commit")
        await real_flush(self)

    monkeypatch.setattr(UnitOfWork, "audit", audit)
    monkeypatch.setattr(UnitOfWork, "flush", flush)
    return state


@dataclass(frozen=True)
class Case:
    """One administrative change, and the tables it writes when it succeeds."""

    prepare: Callable[[Services, Actor], Awaitable[Any]]
    """Run first, without the failure; what it returns is handed to ``change``."""
    change: Callable[[Services, Actor, Any], Awaitable[Any]]
    writes: frozenset[str]


async def nothing(app: Services, admin_actor: Actor) -> None:
    return None


async def staff_id(app: Services, username: str) -> int:
    async with app.db.read() as conn:
        return (await repo.staff_by_username(conn, username)).id


async def kiosk_id(app: Services, _admin: Actor) -> int:
    async with app.db.read() as conn:
        return (await repo.device_by_token_hash(conn, auth.token_hash("demo-kiosk"))).id


async def teller(app: Services, _admin: Actor) -> int:
    return await staff_id(app, "teller2")


async def enrollment_code(app: Services, admin_actor: Actor) -> str:
    return (await admin.create_enrollment(app, admin_actor, "demo", kind="display", name="lobby"))["code"]


NEW_STAFF = StaffIn(username="li.na", password="first-pass", role="teller", branch="demo", counters=[2])
NEW_SERVICE = {"code": "F", "names": {"zh-CN": "外汇", "en": "Foreign exchange"}}
NEW_BRANCH = {"id": "hk-central", "names": {"zh-CN": "中环支行", "en": "Central"}, "timezone": "Asia/Hong_Kong"}

CASES = {
    "create staff": Case(
        nothing, lambda app, a, _: admin.create_staff(app, a, NEW_STAFF), frozenset({"staff", "audit_log"})
    ),
    "update staff": Case(
        teller, lambda app, a, sid: admin.update_staff(app, a, sid, {"display_name": "Wang Fang", "counters": [2, 3]}),
        frozenset({"staff", "audit_log"}),
    ),
    "disable staff": Case(
        teller, lambda app, a, sid: admin.update_staff(app, a, sid, {"active": False}),
        frozenset({"staff", "audit_log", "ticket_events", "branches"}),  # the staff.disabled event and its seq
    ),
    "reset password": Case(
        teller, lambda app, a, sid: admin.reset_password(app, a, sid, "second-pass"),
        frozenset({"staff", "audit_log"}),
    ),
    "add service": Case(
        nothing, lambda app, a, _: admin.add_service(app, a, "demo", NEW_SERVICE),
        frozenset({"services", "branches", "audit_log", "ticket_events"}),
    ),
    "change counter profile": Case(
        nothing, lambda app, a, _: admin.update_counter(app, a, "demo", 2, {"services": ["A"], "mode": "longest_wait"}),
        frozenset({"counters", "counter_services", "branches", "audit_log", "ticket_events"}),
    ),
    "create branch": Case(
        nothing, lambda app, a, _: admin.create_branch(app, a, NEW_BRANCH), frozenset({"branches", "audit_log"})
    ),
    "revoke device": Case(
        kiosk_id, lambda app, a, did: admin.revoke_device(app, a, "demo", did),
        frozenset({"devices", "audit_log", "ticket_events", "branches"}),
    ),
    "create enrollment code": Case(
        nothing, lambda app, a, _: admin.create_enrollment(app, a, "demo", kind="kiosk", name="door"),
        frozenset({"enrollment_codes", "audit_log"}),
    ),
    "enroll a device": Case(
        enrollment_code, lambda app, _a, code: admin.enroll(app, code),
        frozenset({"devices", "enrollment_codes", "audit_log"}),
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_a_change_whose_audit_entry_fails_to_commit_leaves_no_trace(demo, fail_after_audit, case: Case):
    app = demo.services
    admin_actor = await auth.staff_actor(app, await staff_id(app, "admin"))
    assert admin_actor is not None
    prepared = await case.prepare(app, admin_actor)
    before = await snapshot(app)

    fail_after_audit.armed = True
    with pytest.raises(InjectedFailure):
        await case.change(app, admin_actor, prepared)
    assert fail_after_audit.failed == 1, "the failure came after the change's audit entry"
    after = await snapshot(app)
    changed = sorted(name for name in before if before[name] != after[name])
    assert not changed, f"left behind in {changed}: the change and its audit entry did not commit as one"

    fail_after_audit.armed = False
    await case.change(app, admin_actor, prepared)
    done = await snapshot(app)
    changed = {name for name in before if before[name] != done[name]}
    assert changed == case.writes, "without the failure, the change and its audit entry are stored"
    assert len(done["audit_log"]) == len(before["audit_log"]) + 1
