"""A service's daily cap keeps a share for the lobby staff; a branch sets its own kiosk limits."""

from __future__ import annotations

import pytest

from server.domain.errors import Forbidden, InvalidConfig
from server.protocol import BranchPatch, IssueTicket
from server.services import admin, branches, queries, tickets
from server.store import repository as repo

from .conftest import World


async def cap_a(w: World, daily_cap: int | None, staff_reserve: int) -> None:
    await admin.update_service(w.app, await w.staff("admin"), "demo", "A",
                               {"daily_cap": daily_cap, "staff_reserve": staff_reserve})


async def test_a_kiosk_stops_at_the_cap_less_the_staff_reserve_and_staff_go_on_to_the_cap(world: World):
    await cap_a(world, 5, 2)
    for _ in range(3):
        await world.issue("A")
    await world.refused("daily_cap_reached", lambda: world.issue("A"))

    manager = await world.staff("manager")
    for _ in range(2):
        await tickets.issue_ticket(world.app, manager, "demo", IssueTicket(service="A"))
    await world.refused(
        "daily_cap_reached", lambda: tickets.issue_ticket(world.app, manager, "demo", IssueTicket(service="A"))
    )


async def test_the_kiosk_shows_the_service_taken_once_its_share_is_gone_while_staff_still_see_it(world: World):
    await cap_a(world, 2, 1)
    await world.issue("A")
    kiosk, manager = await world.device("kiosk"), await world.staff("manager")
    at_kiosk = {s.code: s for s in await queries.list_services(world.app, kiosk, "demo")}
    for_staff = {s.code: s for s in await queries.list_services(world.app, manager, "demo")}
    assert (at_kiosk["A"].available, at_kiosk["A"].unavailable_reason) == (False, "daily_cap_reached")
    assert for_staff["A"].available


async def test_a_cap_without_a_reserve_is_the_same_for_everyone(world: World):
    await cap_a(world, 2, 0)
    await world.issue("A")
    await world.issue("A")
    await world.refused("daily_cap_reached", lambda: world.issue("A"))


@pytest.mark.parametrize(
    ("daily_cap", "staff_reserve"), [(None, 1), (3, 4), (3, -1)], ids=["no-cap", "over-cap", "negative"]
)
async def test_a_staff_reserve_is_a_share_of_the_daily_cap(world: World, daily_cap, staff_reserve):
    with pytest.raises(InvalidConfig) as refused:
        await cap_a(world, daily_cap, staff_reserve)
    assert any("staff_reserve" in f"{path} {message}" for path, message in refused.value.problems)


async def test_the_staff_reserve_and_branch_limits_are_in_the_branch_document(world: World):
    await cap_a(world, 80, 20)
    await admin.update_branch(world.app, await world.staff("admin"), "demo",
                              _patch(limits={"kiosk_issue": "4/10 seconds;12/minute"}))
    text = branches.dump_yaml(await branches.export_config(world.app, "demo"))
    spec = branches.load_yaml(text)
    assert spec.service("A").staff_reserve == 20
    assert spec.limits.kiosk_issue == "4/10 seconds;12/minute"
    async with world.app.db.read() as conn:
        assert (await repo.load_branch(conn, "demo")).limits == {"kiosk_issue": "4/10 seconds;12/minute"}


@pytest.mark.parametrize("rules", ["ten a second", "0/minute", "5/fortnight", "", "1/second;" * 40])
async def test_a_branch_kiosk_limit_must_be_a_limit_the_server_can_count(world: World, rules):
    with pytest.raises(InvalidConfig) as refused:
        await admin.update_branch(world.app, await world.staff("admin"), "demo", _patch(limits={"kiosk_issue": rules}))
    assert any(path.startswith("limits") for path, _ in refused.value.problems), refused.value.problems


async def test_a_manager_may_not_change_the_branch_limits(world: World):
    with pytest.raises(Forbidden):
        await admin.update_branch(world.app, await world.staff("manager"), "demo",
                                  _patch(limits={"kiosk_issue": "1000/second"}))


def _patch(**fields):
    return BranchPatch.model_validate(fields)
