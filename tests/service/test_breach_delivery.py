"""Breach delivery beyond the dashboard: the branch's own escalation delay, and each message
handed to the notifier's queue in the breach's own transaction."""

from __future__ import annotations

from typing import Any

import pytest

from server.services import branches, standards


async def staff_recipients(world, *emails: str) -> None:
    """The branch's YAML names staff recipients of breaches (``notifications.staff``)."""
    from server.notify.templates import NotificationRules, StaffRecipients

    def edit(spec):
        assert spec is not None
        return spec.model_copy(update={"notifications": NotificationRules(staff=StaffRecipients(email=list(emails)))})

    await branches.change_config(world.app, "demo", edit)


async def queued(world) -> list[Any]:
    """The messages in the outbox (what the worker will send), oldest first."""
    from server.store import outbox

    async with world.app.db.read() as conn:
        return sorted(await outbox.messages(conn), key=lambda m: m.id)


async def escalate_after(world, minutes: int) -> None:
    def edit(spec):
        assert spec is not None
        return spec.model_copy(update={"standards": branches.StandardsSpec(escalate_after_min=minutes)})

    await branches.change_config(world.app, "demo", edit)


async def test_a_branch_sets_its_own_escalation_delay(world):
    await escalate_after(world, 3)
    await world.issue("E")  # counter 6 is closed: E waits
    world.clock.advance(minutes=21)  # past E's 20-minute target wait
    assert len((await standards.evaluate(world.app, "demo")).raise_) == 1
    world.clock.advance(minutes=2)
    assert (await standards.evaluate(world.app, "demo")).escalate == ()
    world.clock.advance(minutes=1)
    assert len((await standards.evaluate(world.app, "demo")).escalate) == 1


async def test_without_its_own_delay_a_branch_escalates_after_ten_minutes(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    world.clock.advance(minutes=9)
    assert (await standards.evaluate(world.app, "demo")).escalate == ()
    world.clock.advance(minutes=1)
    assert len((await standards.evaluate(world.app, "demo")).escalate) == 1


async def test_a_raised_and_an_escalated_breach_are_queued_for_each_staff_recipient_once(world):
    await staff_recipients(world, "duty@branch.example", "region@bank.example")
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    raised = [m for m in await queued(world) if m.kind == "breach"]
    assert sorted(m.key.rsplit(":", 1)[1] for m in raised) == ["duty@branch.example", "region@bank.example"]
    assert all(":raised:" in m.key and m.data["rule"] == "wait_target" and m.data["service"] == "E"
               and m.data["to"] == ["manager"] and m.language == "zh-CN" for m in raised)
    await standards.evaluate(world.app, "demo")  # the same breach evaluated again: nothing more
    assert len(await queued(world)) == 2
    world.clock.advance(minutes=10)
    await standards.evaluate(world.app, "demo")
    escalated = [m for m in await queued(world) if ":escalated:" in m.key]
    assert len(escalated) == 2 and all(m.data["level"] == 2 and "admin" in m.data["to"] for m in escalated)
    keys = [m.key for m in await queued(world)]
    assert len(set(keys)) == len(keys) == 4


async def test_with_no_staff_recipients_a_breach_is_only_on_the_screens(world):
    await world.issue("E")
    world.clock.advance(minutes=21)
    assert len((await standards.evaluate(world.app, "demo")).raise_) == 1
    assert await queued(world) == []


def test_the_escalation_delay_is_checked_in_the_branch_document():
    with pytest.raises(ValueError):
        branches.StandardsSpec(escalate_after_min=0)
    assert branches.StandardsSpec().escalate_after_min == 10


def test_breach_events_reach_every_staff_screen_and_no_device():
    from server.domain.events import ALERT_ACKNOWLEDGED, ALERT_CLEARED, ALERT_ESCALATED, ALERT_RAISED

    for kind in (ALERT_RAISED, ALERT_ACKNOWLEDGED, ALERT_CLEARED, ALERT_ESCALATED):
        assert kind.fields_for("counter") and kind.fields_for("dashboard")
        assert all(kind.fields_for(v) is None for v in ("display", "kiosk", "evaluator"))


async def test_a_counters_snapshot_holds_the_open_breaches_and_a_displays_does_not(world):
    from server.services.snapshot import branch_snapshot

    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    _seq, counter = await branch_snapshot(world.app, await world.staff("teller1"), "demo", "counter")
    assert [b["rule"] for b in counter["breaches"]] == ["wait_target"]
    _seq, display = await branch_snapshot(world.app, await world.device("display"), "demo", "display")
    assert "breaches" not in display
