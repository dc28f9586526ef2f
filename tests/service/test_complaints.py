"""Complaint cases at the handler level: intake, the whole life of a case, refusals, privacy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.complaint_protocol import STEP_BODIES, ComplaintIn, PublicReply, StaffComplaintIn
from server.domain.access import PUBLIC
from server.domain.complaints import CaseAction
from server.services import complaints
from server.store import repository as repo

PHONE = "13812345678"


def contact(phone: str = PHONE) -> dict:
    return {"name": "张三", "phone": phone, "id_number": "11010519491231002X"}


async def served_ticket(world) -> tuple[str, int]:
    """A ticket served and finished by teller1 at counter 1: its token and the teller's id."""
    from server.services import counters

    issued = await world.issue("A")
    teller = await world.staff("teller1")
    await counters.open_counter(world.app, teller, "demo", 1)
    await counters.call_next(world.app, teller, "demo", 1)
    await counters.finish(world.app, teller, "demo", 1)
    return issued.token, teller.id


def step(action: CaseAction, **fields):
    return STEP_BODIES[action].model_validate(fields)


async def test_a_complaint_from_the_phone_page_links_the_ticket_and_its_teller_and_gets_a_deadline(world):
    token, teller_id = await served_ticket(world)
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"ticket_token": token, "category": "attitude", "text": "rude", "contact": contact()}))
    assert created.state == "received" and created.number.endswith(f"{created.id:05d}")
    assert (created.due_at - created.received_at) > timedelta(days=14)
    manager = await world.staff("manager")
    case = await complaints.complaint_case(world.app, manager, "demo", created.id)
    assert case.teller == teller_id and case.ticket is not None and case.counter == 1
    assert case.contact.phone == "138****5678" and case.contact_full.phone == PHONE
    listed = await complaints.list_complaints(world.app, manager, "demo")
    assert listed[0].contact.phone == "138****5678"
    assert "contact_full" not in listed[0].model_dump()


async def test_the_whole_life_second_round_escalation_rectification_recheck(world):
    manager = await world.staff("manager")
    admin = await world.staff("admin")
    created = await complaints.enter_complaint(world.app, manager, "demo", StaffComplaintIn.model_validate(
        {"channel": "hotline", "category": "fees", "text": "charged twice", "contact": contact()}))
    cid = created.id
    act = lambda a, who=manager, **f: complaints.act(world.app, who, "demo", cid, a, step(a, **f))  # noqa: E731
    await act(CaseAction.ACCEPT)
    await act(CaseAction.ASSIGN, handler=manager.id)
    await act(CaseAction.EXTEND, reason="needs the card centre")
    refusal = await world.refused("approver_required", lambda: act(CaseAction.EXTEND, reason="more"))
    assert refusal.message
    case = await act(CaseAction.EXTEND, reason="more", approver=admin.id)
    assert case.extensions == 2
    decision = dict(text="refunded", sent_via="sms", outcome="not_upheld", remedies=["review"])
    await act(CaseAction.DECIDE, **decision)
    await act(CaseAction.REOPEN, reason="unhappy")
    await act(CaseAction.DECIDE, **{**decision, "outcome": "upheld"})
    case = await act(CaseAction.ESCALATE, reason="still unhappy")
    assert case.state == "escalated" and case.escalations == 1 and case.handler == admin.id
    await complaints.act(world.app, admin, "demo", cid, CaseAction.DECIDE, step(CaseAction.DECIDE, **{
        **decision, "outcome": "upheld"}))
    await world.refused("rectification_required", lambda: act(CaseAction.CLOSE, satisfied=True))
    await act(CaseAction.RECTIFY, cause="process", fix="double charge check", owner="王经理", due="2026-12-31")
    case = await act(CaseAction.CLOSE, satisfied=True)
    case = await act(CaseAction.RECHECK, result="done")
    assert case.state == "closed" and case.rectification.checked == "done"
    assert [e.action for e in case.timeline][:3] == ["receive", "accept", "assign"]


async def test_a_repeated_complaint_is_merged_and_keeps_the_first_deadline(world):
    body = ComplaintIn.model_validate({"category": "waiting", "text": "long wait", "contact": contact()})
    first = await complaints.file_complaint(world.app, PUBLIC, "demo", body)
    world.clock.advance(days=2)
    again = await complaints.file_complaint(world.app, PUBLIC, "demo", body)
    assert again.state == "merged" and again.merged_into == first.number and again.due_at == first.due_at


async def test_the_customer_replies_unsatisfied_then_withdraws(world):
    manager = await world.staff("manager")
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"category": "error", "text": "wrong amount", "contact": contact("13900001111")}))
    for a, f in [(CaseAction.ACCEPT, {}), (CaseAction.ASSIGN, {"handler": manager.id}),
                 (CaseAction.DECIDE, {"text": "checked", "sent_via": "phone", "outcome": "not_upheld",
                                      "remedies": ["mediation"]})]:
        await complaints.act(world.app, manager, "demo", created.id, a, step(a, **f))
    view = await complaints.public_reply(world.app, created.token, PublicReply(satisfied=False))
    assert view.state == "second_round"


@pytest.mark.parametrize("who", ["teller1", "kiosk", "display", "evaluator"])
async def test_tellers_and_devices_are_refused_the_cases(world, who):
    actor = await world.staff(who) if who.startswith("teller") else await world.device(who)
    await world.refused("forbidden", lambda: complaints.list_complaints(world.app, actor, "demo"))


async def test_the_teller_complained_about_may_not_handle_it(world):
    token, teller_id = await served_ticket(world)
    async with world.app.db.write() as conn:
        await conn.execute(repo.t.Staff.__table__.update().where(repo.t.Staff.__table__.c.id == teller_id)
                           .values(role="manager"))
    manager = await world.staff("manager")
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"ticket_token": token, "category": "attitude", "text": "rude", "contact": contact()}))
    await complaints.act(world.app, manager, "demo", created.id, CaseAction.ACCEPT, step(CaseAction.ACCEPT))
    await world.refused("complained_staff", lambda: complaints.act(
        world.app, manager, "demo", created.id, CaseAction.ASSIGN, step(CaseAction.ASSIGN, handler=teller_id)))


async def test_out_of_order_and_unknown_ticket_are_refused_and_change_nothing(world):
    manager = await world.staff("manager")
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"category": "other", "text": "x", "contact": contact()}))
    await world.refused("invalid_transition", lambda: complaints.act(
        world.app, manager, "demo", created.id, CaseAction.CLOSE, step(CaseAction.CLOSE)))
    await world.refused("unknown_ticket", lambda: complaints.file_complaint(
        world.app, PUBLIC, "demo", ComplaintIn.model_validate(
            {"ticket_token": "nosuchtoken123", "category": "other", "text": "x", "contact": contact()})))


async def test_due_soon_then_overdue_escalation_with_a_moved_clock_at_the_branch_day_boundary(world):
    manager = await world.staff("manager")
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"category": "waiting", "text": "slow", "contact": contact("13700002222")}))
    await complaints.act(world.app, manager, "demo", created.id, CaseAction.ACCEPT, step(CaseAction.ACCEPT))
    due_end = created.due_at  # 23:59:59 on the due day in Shanghai
    assert await complaints.deadline_alerts(world.app, manager, "demo") == []
    world.clock.now = due_end - timedelta(days=3)
    assert [a["code"] for a in await complaints.deadline_alerts(world.app, manager, "demo")] == ["complaint_due_soon"]
    world.clock.now = due_end
    assert await complaints.escalate_overdue(world.app) == []  # the last second of the day is still on time
    world.clock.now = due_end + timedelta(seconds=1)  # midnight in the branch's zone
    digest = await complaints.digest(world.app, manager, "demo")
    assert [a["number"] for a in digest["overdue"]] == [created.number]
    assert await complaints.escalate_overdue(world.app) == [created.number]
    assert await complaints.escalate_overdue(world.app) == []  # once only
    case = await complaints.complaint_case(world.app, manager, "demo", created.id)
    assert case.state == "escalated" and case.timeline[-1].actor == "system"


async def test_retention_erases_contacts_of_closed_cases_and_keeps_the_case(world):
    manager = await world.staff("manager")
    created = await complaints.file_complaint(world.app, PUBLIC, "demo", ComplaintIn.model_validate(
        {"category": "other", "text": "x", "contact": contact("13600003333")}))
    await complaints.act(world.app, manager, "demo", created.id, CaseAction.WITHDRAW,
                         step(CaseAction.WITHDRAW, reason="no longer needed"))
    assert await complaints.erase_contacts(world.app, days=1095) == 0
    world.clock.advance(days=1096)
    assert await complaints.erase_contacts(world.app, days=1095) == 1
    case = await complaints.complaint_case(world.app, manager, "demo", created.id)
    assert case.contact_full is None and case.category == "other" and case.state == "withdrawn"


async def test_the_demo_has_cases_in_many_states(world):
    assert await complaints.seed_demo_complaints(world.app) == 7
    states = {c.state for c in await complaints.list_complaints(world.app, await world.staff("manager"), "demo")}
    assert states >= {"received", "accepted", "handling", "transferred", "decided", "rejected", "withdrawn"}
    assert await complaints.seed_demo_complaints(world.app) == 0
