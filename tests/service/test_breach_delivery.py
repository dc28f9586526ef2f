"""Breach delivery beyond the dashboard: the branch's own escalation delay, and each message
handed to the notifier's queue in the breach's own transaction."""

from __future__ import annotations

from typing import Any

import pytest

from server.services import branches, standards


@pytest.fixture
def queued(monkeypatch) -> list[dict[str, Any]]:
    """A notifier's ``enqueue`` that keeps what it is given (the real one is another module's)."""
    got: list[dict[str, Any]] = []

    async def enqueue(uow, *, kind, branch_id, contact, language, data, key, send_at=None):
        assert uow.conn is not None  # in the breach's transaction
        got.append({"kind": kind, "branch": branch_id, "contact": contact, "language": language,
                    "data": data, "key": key})

    monkeypatch.setattr(standards, "ENQUEUE", enqueue)
    return got


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


async def test_a_raised_and_an_escalated_breach_are_queued_for_each_person_once(world, queued):
    await world.issue("E")
    world.clock.advance(minutes=21)
    await standards.evaluate(world.app, "demo")
    raised = [q for q in queued if q["kind"] == "breach.raised"]
    assert [q["contact"] for q in raised] == [{"staff": "manager"}]
    assert raised[0]["data"]["rule"] == "wait_target" and raised[0]["data"]["service"] == "E"
    assert raised[0]["language"] == "zh-CN" and raised[0]["key"].endswith(":raised:manager")
    world.clock.advance(minutes=10)
    await standards.evaluate(world.app, "demo")
    escalated = [q for q in queued if q["kind"] == "breach.escalated"]
    assert {q["contact"]["staff"] for q in escalated} >= {"admin"}
    assert all(q["data"]["level"] == 2 for q in escalated)
    assert len({q["key"] for q in queued}) == len(queued)


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
