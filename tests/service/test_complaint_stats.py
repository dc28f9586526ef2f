"""Complaint statistics, intake retries and the smaller rules of cases, at the handler level."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.complaint_protocol import STEP_BODIES, ComplaintIn, PublicWithdraw, StaffComplaintIn
from server.domain.access import PUBLIC, Actor
from server.domain.complaints import CaseAction
from server.domain.errors import IdempotencyMismatch
from server.services import complaint_stats, complaints
from server.services.branches import BranchSpec, create_branch
from server.store import repository as repo

A = CaseAction
NORTH = BranchSpec.model_validate(
    {"id": "north", "names": {"zh-CN": "北门支行", "en": "North Gate"},
     "services": [{"code": "A", "names": {"zh-CN": "现金", "en": "Cash"}}],
     "counters": [{"number": 1, "services": ["A"]}]}
)


def step(action: CaseAction, **fields):
    return STEP_BODIES[action].model_validate(fields)


def hotline(phone: str, category: str = "fees") -> StaffComplaintIn:
    return StaffComplaintIn.model_validate(
        {"channel": "hotline", "category": category, "text": "charged twice",
         "contact": {"name": "张三", "phone": phone}})


async def decided(world, manager, phone: str, *, outcome: str = "upheld", after_days: int = 0, category: str = "fees"):
    created = await complaints.enter_complaint(world.app, manager, "demo", hotline(phone, category))
    for a, f in [(A.ACCEPT, {}), (A.ASSIGN, {"handler": manager.id})]:
        await complaints.act(world.app, manager, "demo", created.id, a, step(a, **f))
    world.clock.advance(days=after_days)
    await complaints.act(world.app, manager, "demo", created.id, A.DECIDE, step(
        A.DECIDE, text="done", sent_via="sms", outcome=outcome, remedies=["review"]))
    return created


async def test_statistics_of_a_branch_count_cases_made_by_hand_and_survive_retention(world):
    manager = await world.staff("manager")
    start = world.clock.now
    one = await decided(world, manager, "13800000001", after_days=2)  # on time, 2 days
    await complaints.act(world.app, manager, "demo", one.id, A.RECTIFY, step(
        A.RECTIFY, cause="process", fix="check", owner="王", due="2027-01-31"))
    await complaints.act(world.app, manager, "demo", one.id, A.CLOSE, step(A.CLOSE, satisfied=True))
    await decided(world, manager, "13800000001", outcome="not_upheld", after_days=20, category="waiting")  # late
    await complaints.enter_complaint(world.app, manager, "demo", hotline("13800000003"))  # open
    world.clock.advance(days=20)  # the open case is now overdue
    first = start.date().isoformat()
    last = world.clock.now.date().isoformat()
    report = await complaint_stats.stats(world.app, manager, ["demo"], first=first, last=last)
    total = report["total"]
    assert total["received"] == 3 and total["closed"] == 1 and total["overdue_now"] == 1
    # on time: 1 of (2 decided + 1 overdue); days: 2 and 20 → mean 11, P90 20
    assert total["on_time_rate"] == round(1 / 3, 4)
    assert total["avg_days"] == 11.0 and total["p90_days"] == 20.0
    assert total["upheld_rate"] == 0.5 and total["satisfaction_rate"] == 1.0
    assert total["repeat_complainants"] == 1
    assert report["weak_points"][0] | {} == {"category": "fees", "service": None, "upheld": 1, "previous": 0,
                                             "trend": 1}
    assert "13800000001" not in repr(report) and "张" not in repr(report)
    # Retention erases the closed case's contact: not one figure moves.
    world.clock.advance(days=1200)
    assert await complaints.erase_contacts(world.app, days=1095) >= 1
    again = await complaint_stats.stats(world.app, manager, ["demo"], first=first, last=last)
    assert {k: v for k, v in again["total"].items() if k != "overdue_now"} == \
           {k: v for k, v in total.items() if k != "overdue_now"}
    assert again["weak_points"] == report["weak_points"]


async def test_statistics_across_a_regional_managers_branches(world):
    await create_branch(world.app, NORTH)
    manager = await world.staff("manager")
    regional = Actor("staff", manager.id, "manager", "demo", branches=("north",), name="manager")
    await complaints.enter_complaint(world.app, regional, "demo", hotline("13800000001"))
    await complaints.enter_complaint(world.app, regional, "north", hotline("13800000001"))
    report = await complaint_stats.stats(world.app, regional, None, first=None, last=None, group="branch")
    assert report["branches"] == ["demo", "north"]
    assert [(r["key"], r["received"]) for r in report["rows"]] == [("demo", 1), ("north", 1)]
    # another branch's manager may not count this one
    await world.refused("forbidden", lambda: complaint_stats.stats(world.app, manager, ["north"], first=None,
                                                                   last=None))


@pytest.mark.parametrize(("field", "value", "code"), [("group", "colour", "invalid_group"),
                                                      ("period", "year", "invalid_period")])
async def test_statistics_refuse_an_unknown_group_or_period(world, field, value, code):
    manager = await world.staff("manager")
    args = {"group": "period", "period": "month", field: value}
    await world.refused(code, lambda: complaint_stats.stats(world.app, manager, ["demo"], first=None, last=None,
                                                            **args))


async def test_tellers_and_devices_are_refused_the_statistics(world):
    for actor, code in ((await world.staff("teller1"), "forbidden"), (await world.device("kiosk"), "forbidden"),
                        (PUBLIC, "unauthenticated")):
        await world.refused(code, lambda a=actor: complaint_stats.stats(world.app, a, ["demo"], first=None, last=None))


async def test_a_retried_public_intake_with_the_same_key_returns_the_same_case(world):
    body = ComplaintIn.model_validate({"category": "waiting", "text": "slow", "contact": {"name": "李四",
                                                                                         "phone": "13911112222"}})
    first = await complaints.file_complaint(world.app, PUBLIC, "demo", body, idempotency_key="k-1")
    again = await complaints.file_complaint(world.app, PUBLIC, "demo", body, idempotency_key="k-1")
    assert again == first
    listed = await complaints.list_complaints(world.app, await world.staff("manager"), "demo")
    assert [c.id for c in listed] == [first.id]
    other = ComplaintIn.model_validate({**body.model_dump(), "text": "something else"})
    with pytest.raises(IdempotencyMismatch):
        await complaints.file_complaint(world.app, PUBLIC, "demo", other, idempotency_key="k-1")


async def test_a_retried_staff_entry_returns_the_same_case_and_another_key_files_a_new_one(world):
    manager = await world.staff("manager")
    first = await complaints.enter_complaint(world.app, manager, "demo", hotline("13800000009"), idempotency_key="x")
    again = await complaints.enter_complaint(world.app, manager, "demo", hotline("13800000009"), idempotency_key="x")
    assert again.id == first.id and again.token == first.token
    other = await complaints.enter_complaint(world.app, manager, "demo", hotline("13800000009"), idempotency_key="y")
    assert other.id != first.id and other.state == "merged"  # the same matter: merged, as without a key


async def test_an_extensions_approver_must_oversee_that_branch(world):
    await create_branch(world.app, NORTH)
    manager = await world.staff("manager")
    async with world.app.db.write() as conn:  # teller2 becomes the manager of another branch
        staff = repo.t.Staff.__table__
        await conn.execute(staff.update().where(staff.c.username == "teller2").values(role="manager",
                                                                                       branch_id="north"))
        elsewhere = (await conn.execute(staff.select().where(staff.c.username == "teller2"))).first()
    created = await complaints.enter_complaint(world.app, manager, "demo", hotline("13800000004"))
    for a, f in [(A.ACCEPT, {}), (A.ASSIGN, {"handler": manager.id}), (A.EXTEND, {"reason": "complex"})]:
        await complaints.act(world.app, manager, "demo", created.id, a, step(a, **f))
    await world.refused("not_an_approver", lambda: complaints.act(
        world.app, manager, "demo", created.id, A.EXTEND, step(A.EXTEND, reason="more", approver=elsewhere.id)))
    admin = await world.staff("admin")
    case = await complaints.act(world.app, manager, "demo", created.id, A.EXTEND,
                                step(A.EXTEND, reason="more", approver=admin.id))
    assert case.extensions == 2


async def test_the_customer_withdraws_by_the_case_token(world):
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"category": "other", "text": "x", "contact": {"name": "王五", "phone": "13600001111"}}))
    view = await complaints.public_withdraw(world.app, created.token, PublicWithdraw(reason="solved myself"))
    assert view.state == "withdrawn"
    case = await complaints.complaint_case(world.app, await world.staff("manager"), "demo", created.id)
    assert case.timeline[-1].action == "withdraw" and case.timeline[-1].data["reason"] == "solved myself"
    await world.refused("invalid_transition", lambda: complaints.public_withdraw(
        world.app, created.token, PublicWithdraw(reason="again")))


async def test_the_statistics_default_to_the_last_thirty_days(world):
    manager = await world.staff("manager")
    await complaints.enter_complaint(world.app, manager, "demo", hotline("13800000005"))
    report = await complaint_stats.stats(world.app, manager, ["demo"], first=None, last=None)
    assert report["total"]["received"] == 1
    assert (world.clock.now.date() - timedelta(days=29)).isoformat() <= report["from"]


async def test_complaints_upheld_against_a_teller_show_in_the_scorecard_and_its_workbook(world):
    import io

    import openpyxl

    from server.reports import export
    from server.services import reports

    from .test_complaints import served_ticket

    token, _teller = await served_ticket(world)
    manager = await world.staff("manager")
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"ticket_token": token, "category": "attitude", "text": "rude",
         "contact": {"name": "赵", "phone": "13512340000"}}))
    for a, f in [(A.ACCEPT, {}), (A.ASSIGN, {"handler": manager.id}),
                 (A.DECIDE, {"text": "apologised", "sent_via": "phone", "outcome": "upheld", "remedies": ["review"],
                             "against_teller": True})]:
        await complaints.act(world.app, manager, "demo", created.id, a, step(a, **f))
    card = await reports.scorecard(world.app, manager, "demo", first=None, last=None)
    [teller1] = [t for t in card["tellers"] if t["teller"] == "teller1"]
    assert teller1["upheld_complaints"] == 1 and teller1["served"] == 1
    assert all(t["upheld_complaints"] == 0 for t in card["tellers"] if t["teller"] != "teller1")
    from tests.unit.test_export import report

    sheet = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(report([]), "en", tellers=card)))["tellers"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[2]
    assert header[-1] == "Upheld complaints"
    assert [r[-1] for r in rows[3:] if r[0] == "teller1"] == [1]


async def test_the_dashboard_snapshot_carries_complaint_deadlines_and_the_digest_for_managers_only(world):
    from server.services.snapshot import branch_snapshot

    manager = await world.staff("manager")
    late = StaffComplaintIn.model_validate({**hotline("13800000021").model_dump(),
                                            "received_at": world.clock.now - timedelta(days=20)})
    created = await complaints.enter_complaint(world.app, manager, "demo", late)
    soon = StaffComplaintIn.model_validate({**hotline("13800000022", "waiting").model_dump(),
                                            "received_at": world.clock.now - timedelta(days=13)})
    await complaints.enter_complaint(world.app, manager, "demo", soon)
    _seq, dash = await branch_snapshot(world.app, manager, "demo", "dashboard")
    part = dash["complaints"]
    assert [a["code"] for a in part["alerts"]] == ["complaint_overdue", "complaint_due_soon"]
    assert part["alerts"][0]["number"] == created.number and part["alerts"][0]["days_left"] < 0
    assert part["digest"]["open"] == 2 and len(part["digest"]["overdue"]) == 1
    assert part == {"alerts": await complaints.deadline_alerts(world.app, manager, "demo"),
                    "digest": await complaints.digest(world.app, manager, "demo")}
    assert "13800000021" not in repr(dash)
    _seq, teller_view = await branch_snapshot(world.app, await world.staff("teller1"), "demo", "dashboard")
    assert "complaints" not in teller_view
    _seq, board = await branch_snapshot(world.app, await world.device("display"), "demo", "display")
    assert "complaints" not in board


async def test_the_customers_not_satisfied_counts_against_satisfaction_until_a_later_answer(world):
    from server.complaint_protocol import PublicReply

    manager = await world.staff("manager")
    created = await decided(world, manager, "13800000031", outcome="not_upheld")
    await complaints.public_reply(world.app, created.token, PublicReply(satisfied=False))
    day = world.clock.now.date().isoformat()
    figures = (await complaint_stats.stats(world.app, manager, ["demo"], first=day, last=day))["total"]
    assert figures["satisfaction_rate"] == 0.0 and figures["second_round_rate"] == 1.0
    await complaints.act(world.app, manager, "demo", created.id, A.DECIDE, step(
        A.DECIDE, text="again", sent_via="sms", outcome="not_upheld", remedies=["review"]))
    await complaints.public_reply(world.app, created.token, PublicReply(satisfied=True))
    figures = (await complaint_stats.stats(world.app, manager, ["demo"], first=day, last=day))["total"]
    assert figures["satisfaction_rate"] == 1.0 and figures["second_round_rate"] == 1.0
