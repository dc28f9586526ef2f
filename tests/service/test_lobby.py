"""The lobby manager's operations, and the green channel a branch has staff confirm."""

from __future__ import annotations

import pytest

from server.domain.errors import Forbidden, InvalidConfig
from server.protocol import BranchPatch, ChangeService, IssueTicket, Requeue
from server.services import admin, counters, queries, tickets
from server.store import repository as repo

from .conftest import World


async def no_show(w: World, service: str = "A") -> int:
    """A ticket of ``service`` called at counter 3 whose customer did not come; its id."""
    issued = await w.issue(service)
    teller = await w.staff("teller3")
    await counters.open_counter(w.app, teller, "demo", 3)
    await counters.call_ticket(w.app, teller, "demo", 3, _call(issued.number))
    await counters.no_show(w.app, teller, "demo", 3)
    return issued.id


def _call(number: str):
    from server.protocol import CallTicket

    return CallTicket(ticket=number)


async def ticket_row(w: World, ticket_id: int):
    async with w.app.db.read() as conn:
        return await repo.ticket_by_id(conn, ticket_id)


async def audit_actions(w: World) -> list[str]:
    from sqlalchemy import select

    from server.store import tables as t

    async with w.app.db.read() as conn:
        return [r.action for r in (await conn.execute(select(t.AuditEntry.__table__))).all()]


# --- requeue --------------------------------------------------------------------------


async def test_the_lobby_manager_requeues_a_no_show_long_after_the_tellers_grace_time(world: World):
    ticket = await no_show(world)
    world.clock.advance(minutes=45)
    teller = await world.staff("teller3")
    await world.refused("grace_expired", lambda: tickets.requeue_ticket(world.app, teller, "demo", ticket, Requeue()))
    answer = await tickets.requeue_ticket(world.app, await world.staff("manager"), "demo", ticket, Requeue())
    assert answer.state == "waiting"
    assert "ticket.requeue" in await audit_actions(world)


async def test_the_lobby_manager_requeues_a_cancelled_ticket_of_today_and_a_teller_may_not(world: World):
    issued = await world.issue("A")
    await tickets.cancel_ticket(world.app, issued.token)
    teller = await world.staff("teller3")
    await world.refused("invalid_transition",
                        lambda: tickets.requeue_ticket(world.app, teller, "demo", issued.id, Requeue()))
    answer = await tickets.requeue_ticket(world.app, await world.staff("manager"), "demo", issued.id, Requeue())
    assert answer.state == "waiting"


async def test_a_second_requeue_changes_nothing(world: World):
    ticket = await no_show(world)
    manager = await world.staff("manager")
    await tickets.requeue_ticket(world.app, manager, "demo", ticket, Requeue())
    await world.refused("invalid_transition",
                        lambda: tickets.requeue_ticket(world.app, manager, "demo", ticket, Requeue()))


async def test_a_ticket_of_an_earlier_day_is_not_requeued(world: World):
    ticket = await no_show(world)
    world.clock.advance(days=1)
    await world.issue("B")  # the new business day begins
    manager = await world.staff("manager")
    await world.refused("ticket_expired",
                        lambda: tickets.requeue_ticket(world.app, manager, "demo", ticket, Requeue()))


# --- cancel and change of service -------------------------------------------------------


async def test_the_lobby_manager_cancels_a_waiting_ticket_once(world: World):
    issued = await world.issue("A")
    manager = await world.staff("manager")
    answer = await tickets.cancel_for_customer(world.app, manager, "demo", issued.id)
    assert answer.state == "cancelled"
    assert "ticket.cancel" in await audit_actions(world)
    await world.refused("invalid_transition",
                        lambda: tickets.cancel_for_customer(world.app, manager, "demo", issued.id))


async def test_a_teller_may_not_cancel_for_a_customer(world: World):
    issued = await world.issue("A")
    teller = await world.staff("teller3")
    await world.refused("forbidden", lambda: tickets.cancel_for_customer(world.app, teller, "demo", issued.id))


async def test_a_changed_service_keeps_the_number_and_the_place_by_issue_time(world: World):
    early = await world.issue("A")
    world.clock.advance(minutes=5)
    await world.issue("B")
    manager = await world.staff("manager")
    answer = await tickets.change_service(world.app, manager, "demo", early.id, ChangeService(service="B"))
    assert (answer.number, answer.service) == (early.number, "B")
    assert answer.queued_at == answer.issued_at
    queue = await queries.queue(world.app, manager, "demo")
    b_queue = [t.number for t in queue.tickets if t.service == "B"]
    assert b_queue[0] == early.number, "the moved ticket keeps its place by issue time"
    await world.refused("unchanged", lambda: tickets.change_service(
        world.app, manager, "demo", early.id, ChangeService(service="B")))


async def test_a_ticket_is_not_moved_to_a_suspended_service(world: World):
    issued = await world.issue("A")
    manager = await world.staff("manager")
    await admin.set_service_active(world.app, manager, "demo", "B", False)
    await world.refused("suspended", lambda: tickets.change_service(
        world.app, manager, "demo", issued.id, ChangeService(service="B")))


async def test_only_a_waiting_ticket_changes_service(world: World):
    ticket = await no_show(world)
    manager = await world.staff("manager")
    await world.refused("not_waiting", lambda: tickets.change_service(
        world.app, manager, "demo", ticket, ChangeService(service="B")))


async def test_the_lobby_manager_finds_todays_ticket_by_number(world: World):
    issued = await world.issue("A")
    manager = await world.staff("manager")
    assert (await tickets.find_ticket(world.app, manager, "demo", issued.number)).id == issued.id
    await world.refused("no_such_ticket", lambda: tickets.find_ticket(world.app, manager, "demo", "A999"))


# --- suspend and resume -----------------------------------------------------------------


async def test_a_suspended_service_refuses_issue_and_the_kiosk_sees_it_suspended(world: World):
    manager = await world.staff("manager")
    await admin.set_service_active(world.app, manager, "demo", "A", False)
    await world.refused("suspended", lambda: world.issue("A"))
    services = {s.code: s for s in await queries.list_services(world.app, await world.device("kiosk"), "demo")}
    assert (services["A"].available, services["A"].unavailable_reason) == (False, "suspended")
    assert "service.suspend" in await audit_actions(world)
    await admin.set_service_active(world.app, manager, "demo", "A", True)
    assert (await world.issue("A")).service == "A"


async def test_suspending_twice_changes_nothing_the_second_time(world: World):
    from tests.integration.snapshot import snapshot

    manager = await world.staff("manager")
    await admin.set_service_active(world.app, manager, "demo", "A", False)
    before = await snapshot(world.app)
    await admin.set_service_active(world.app, manager, "demo", "A", False)
    assert await snapshot(world.app) == before


async def test_a_teller_may_not_suspend_a_service(world: World):
    teller = await world.staff("teller3")
    await world.refused("forbidden", lambda: admin.set_service_active(world.app, teller, "demo", "A", False))


async def test_the_admin_api_suspends_a_service_with_active_false(world: World):
    admin_ = await world.staff("admin")
    answer = await admin.update_service(world.app, admin_, "demo", "A", {"active": False})
    assert answer["active"] is False
    await world.refused("suspended", lambda: world.issue("A"))


async def test_a_configuration_applied_later_keeps_a_service_suspended(world: World):
    admin_ = await world.staff("admin")
    await admin.set_service_active(world.app, admin_, "demo", "A", False)
    await admin.update_service(world.app, admin_, "demo", "A", {"target_wait_s": 700})
    await world.refused("suspended", lambda: world.issue("A"))


# --- green channel confirmed by staff ---------------------------------------------------


async def confirm(w: World, *reasons: str) -> None:
    await admin.update_branch(w.app, await w.staff("manager"), "demo",
                              BranchPatch.model_validate({"green_confirm": list(reasons)}))


async def test_a_kiosk_may_not_issue_a_green_reason_the_branch_has_staff_confirm(world: World):
    await confirm(world, "urgent")
    await world.refused("needs_confirmation",
                        lambda: world.issue("A", priority="green", green_reason="urgent"))
    assert (await world.issue("A", priority="green", green_reason="elderly")).priority == "green"


async def test_a_green_ticket_issued_by_staff_records_who_confirmed_it(world: World):
    await confirm(world, "urgent")
    manager = await world.staff("manager")
    issued = await tickets.issue_ticket(world.app, manager, "demo",
                                        IssueTicket(service="A", priority="green", green_reason="urgent"))
    row = await ticket_row(world, issued.id)
    assert (row.green_reason, row.green_confirmed_by) == ("urgent", manager.id)
    kiosk_green = await world.issue("A", priority="green", green_reason="elderly")
    assert (await ticket_row(world, kiosk_green.id)).green_confirmed_by is None


@pytest.mark.parametrize("value", [["sleepy"], ["urgent", "urgent"], ["URGENT"]])
async def test_green_confirm_takes_known_reasons_once_each(world: World, value):
    with pytest.raises(InvalidConfig):
        await admin.update_branch(world.app, await world.staff("admin"), "demo",
                                  BranchPatch.model_validate({"green_confirm": value}))


async def test_green_confirm_is_in_the_branch_document(world: World):
    await confirm(world, "urgent", "pregnant")
    detail = await admin.branch_detail(world.app, await world.staff("manager"), "demo")
    assert detail["green_confirm"] == ["urgent", "pregnant"]
    assert "green_confirm:" in await admin.export_yaml(world.app, await world.staff("manager"), "demo")


async def test_a_teller_may_not_set_green_confirm(world: World):
    with pytest.raises(Forbidden):
        await admin.update_branch(world.app, await world.staff("teller3"), "demo",
                                  BranchPatch.model_validate({"green_confirm": ["urgent"]}))


async def test_the_teller_sees_the_green_reason_in_the_queue_and_at_the_counter(world: World):
    issued = await world.issue("A", priority="green", green_reason="pregnant")
    teller = await world.staff("teller3")
    queue = await queries.queue(world.app, teller, "demo", counter=3)
    assert [(t.number, t.green_reason) for t in queue.tickets] == [(issued.number, "pregnant")]
    await counters.open_counter(world.app, teller, "demo", 3)
    called = await counters.call_next(world.app, teller, "demo", 3)
    assert called.counter.current.green_reason == "pregnant"
