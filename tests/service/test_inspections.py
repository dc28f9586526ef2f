"""Inspections: checklist → failed item → rectification → report → re-check, overdue escalation, roles."""

from __future__ import annotations

from datetime import date

import pytest

from server.domain.errors import Forbidden
from server.protocol import FindingIn, InspectionIn, RecheckIn, RectificationReportIn
from server.services import counters, inspections
from server.services.inspections import the_checklist

TODAY = date(2026, 3, 2)  # the moved clock's business day in Shanghai


def walk(failed: dict[str, date] | None = None) -> InspectionIn:
    """Every checklist item answered: those in ``failed`` fail, with the manager as owner."""
    failed = failed or {}
    return InspectionIn(items=[
        FindingIn(item=i.code, passed=i.code not in failed,
                  **({"note": "dusty signs", "owner": "manager", "requirement": "clean and fix the signs",
                      "deadline": failed[i.code]} if i.code in failed else {}))
        for i in the_checklist().items
    ])


def test_the_default_checklist_covers_the_six_areas_in_three_languages():
    cl = the_checklist()
    assert list(cl.categories) == ["environment", "facilities", "conduct", "process", "efficiency", "security"]
    assert {i.category for i in cl.items} == set(cl.categories)
    assert all(set(i.texts) == {"zh-CN", "en", "zh-TW"} for i in cl.items)


async def test_an_inspection_goes_from_checklist_to_rectification_to_recheck(world):
    inspector, manager = await world.staff("inspector"), await world.staff("manager")
    record = await inspections.record_inspection(world.app, inspector, "demo",
                                                 walk({"env_signage": date(2026, 3, 5)}))
    assert sum(not i["passed"] for i in record["items"]) == 1
    [rect] = record["rectifications"]
    assert (rect["item"], rect["owner"], rect["state"]) == ("env_signage", "manager", "open")

    reported = await inspections.report_fix(world.app, manager, "demo", rect["id"],
                                            RectificationReportIn(report="signs replaced"))
    assert reported["state"] == "reported"
    reopened = await inspections.recheck(world.app, inspector, "demo", rect["id"],
                                         RecheckIn(outcome="reopen", note="one sign still wrong",
                                                   deadline=date(2026, 3, 9)))
    assert (reopened["state"], reopened["rounds"]) == ("reopened", 1)
    await inspections.report_fix(world.app, manager, "demo", rect["id"], RectificationReportIn(report="fixed"))
    closed = await inspections.recheck(world.app, inspector, "demo", rect["id"], RecheckIn(outcome="close"))
    assert closed["state"] == "closed"
    await world.refused("bad_state", lambda: inspections.recheck(world.app, inspector, "demo", rect["id"],
                                                                 RecheckIn(outcome="close")))


async def test_an_overdue_rectification_is_escalated_once_and_again_after_a_reopen_with_a_new_deadline(world):
    inspector, manager = await world.staff("inspector"), await world.staff("manager")
    record = await inspections.record_inspection(world.app, inspector, "demo", walk({"sec_screen": TODAY}))
    rid = record["rectifications"][0]["id"]
    assert await inspections.escalate_overdue(world.app) == []  # the deadline is the end of today
    world.clock.advance(days=1)
    assert await inspections.escalate_overdue(world.app) == [rid]
    assert await inspections.escalate_overdue(world.app) == []  # once
    await inspections.report_fix(world.app, manager, "demo", rid, RectificationReportIn(report="screens lock"))
    await inspections.recheck(world.app, inspector, "demo", rid,
                              RecheckIn(outcome="reopen", deadline=date(2026, 3, 4)))
    world.clock.advance(days=1)
    assert await inspections.escalate_overdue(world.app) == []
    world.clock.advance(days=2)
    assert await inspections.escalate_overdue(world.app) == [rid]


async def test_a_reported_fix_is_not_overdue(world):
    inspector, manager = await world.staff("inspector"), await world.staff("manager")
    record = await inspections.record_inspection(world.app, inspector, "demo", walk({"sec_screen": TODAY}))
    await inspections.report_fix(world.app, manager, "demo", record["rectifications"][0]["id"],
                                 RectificationReportIn(report="done"))
    world.clock.advance(days=3)
    assert await inspections.escalate_overdue(world.app) == []


async def test_every_item_is_answered_once_and_owners_belong_to_the_branch(world):
    inspector = await world.staff("inspector")
    partial = InspectionIn(items=[FindingIn(item="env_clean", passed=True)])
    await world.refused("invalid_input", lambda: inspections.record_inspection(world.app, inspector, "demo",
                                                                              partial))
    bad_owner = walk({"env_clean": TODAY})
    bad_owner.items[0].owner = "nobody"
    await world.refused("invalid_input", lambda: inspections.record_inspection(world.app, inspector, "demo",
                                                                              bad_owner))
    await world.refused("invalid_input", lambda: inspections.record_inspection(
        world.app, inspector, "demo", walk({"env_clean": date(2026, 3, 1)})))


async def test_a_teller_cannot_write_inspections_and_an_inspector_cannot_operate_a_counter(world):
    teller, inspector = await world.staff("teller1"), await world.staff("inspector")
    await world.refused("forbidden", lambda: inspections.record_inspection(world.app, teller, "demo", walk()))
    await world.refused("forbidden", lambda: inspections.list_inspections(world.app, teller, "demo"))
    await world.refused("forbidden", lambda: counters.open_counter(world.app, inspector, "demo", 1))
    with pytest.raises(Forbidden):
        await inspections.report_fix(world.app, inspector, "demo", 1, RectificationReportIn(report="x"))


async def test_photos_are_checked_by_their_bytes_and_size(world, tmp_path):
    inspector = await world.staff("inspector")
    record = await inspections.record_inspection(world.app, inspector, "demo", walk())
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100

    def add(data: bytes, content_type: str = "image/png", max_bytes: int = 10_000):
        return inspections.add_photo(world.app, inspector, "demo", record["id"], item="env_clean",
                                     content_type=content_type, data=data, photo_dir=tmp_path, max_bytes=max_bytes)

    photo = await add(png)
    path, kind = await inspections.photo_file(world.app, await world.staff("manager"), "demo", record["id"],
                                              photo["id"], photo_dir=tmp_path)
    assert path.read_bytes() == png and kind == "image/png"
    await world.refused("unsupported_type", lambda: add(b"<svg onload=alert(1)>", "image/png"))
    await world.refused("unsupported_type", lambda: add(png, "image/svg+xml"))
    await world.refused("too_large", lambda: add(png, max_bytes=50))
    teller = await world.staff("teller1")
    await world.refused("forbidden", lambda: inspections.photo_file(world.app, teller, "demo",
                                                                    record["id"], photo["id"], photo_dir=tmp_path))


async def test_the_bulletin_gives_pass_rates_open_and_overdue_and_ranks_branches(world):
    inspector = await world.staff("inspector")
    await inspections.record_inspection(world.app, inspector, "demo", walk({"env_clean": TODAY, "sec_screen": TODAY}))
    world.clock.advance(days=1)
    result = await inspections.monthly_bulletin(world.app, inspector, ["demo"], "2026-03")
    n = len(the_checklist().items)
    [branch] = result["branches"]
    assert (branch["passed"], branch["checked"], branch["open"], branch["overdue"]) == (n - 2, n, 2, 2)
    rates = {i["item"]: i["pass_rate"] for i in result["items"]}
    assert rates["env_clean"] == 0 and rates["env_signage"] == 1
    assert result["best"] == result["worst"] == ["demo"]
