"""Staff assessment at the handler level: a day at counter 5 computed by hand, the evaluator's
prompt that coverage counts, findings about a person, and a teller who sees only their own."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from server.domain.errors import Forbidden
from server.protocol import FeedbackIn, FindingIn, InspectionIn, RatingPromptIn
from server.services import assessment, counters, tickets
from server.services.inspections import inspection_detail, record_inspection, the_checklist


async def _prompt(world, number: str | None = None):
    if number is None:
        async with world.app.db.read() as conn:
            last = text("SELECT number FROM tickets WHERE state = 'done' ORDER BY finished_at DESC LIMIT 1")
            number = (await conn.execute(last)).scalar() or "D999"
    return await assessment.record_prompt(world.app, await world.device("evaluator"), "demo", 5,
                                          RatingPromptIn(number=number))


async def a_day_at_counter_5(world) -> None:
    """Teller 5 (counter 5 serves D, target service 900 s; the demo evaluator faces it):

    09:30 opens, two D tickets issued, calls the first; 09:40 finishes it (600 s), the
    evaluator asks and the customer rates 5; idle 09:40–09:45 while the second waits;
    09:45 calls it, 10:05 finishes it (1200 s), the evaluator asks, nobody answers; closes.
    """
    teller = await world.staff("teller5")
    await counters.open_counter(world.app, teller, "demo", 5)
    await world.issue("D")
    await world.issue("D")
    await counters.call_next(world.app, teller, "demo", 5)
    world.clock.advance(minutes=10)
    await counters.finish(world.app, teller, "demo", 5)
    assert (await _prompt(world))["recorded"] is True
    await tickets.rate_at_counter(world.app, await world.device("evaluator"), "demo", 5, FeedbackIn(score=5))
    world.clock.advance(minutes=5)
    await counters.call_next(world.app, teller, "demo", 5)
    world.clock.advance(minutes=20)
    await counters.finish(world.app, teller, "demo", 5)
    await _prompt(world)
    await counters.close_counter(world.app, teller, "demo", 5)


def failing_conduct_about(username: str) -> InspectionIn:
    return InspectionIn(items=[
        FindingIn(item=i.code, passed=i.code != "con_manner",
                  **({"owner": "manager", "requirement": "coach on manner", "deadline": date(2026, 3, 9),
                      "staff": username} if i.code == "con_manner" else {}))
        for i in the_checklist().items
    ])


async def test_a_tellers_day_is_assessed_as_computed_by_hand(world):
    await a_day_at_counter_5(world)
    await record_inspection(world.app, await world.staff("inspector"), "demo", failing_conduct_about("teller5"))
    report = await assessment.assessment_report(world.app, await world.staff("manager"), "demo",
                                                first=None, last=None)
    [t5] = [t for t in report["tellers"] if t["username"] == "teller5"]
    f = t5["figures"]
    assert (f["finished"], f["prompted"], f["prompted_answered"], f["coverage"]) == (2, 2, 1, 0.5)
    assert f["distribution"]["5"] == 1 and f["rating_mean"] == 5
    assert f["mix"] == [{"service": "D", "served": 2, "service_avg_s": 900, "target_s": 900}]
    assert (f["open_s"], f["serving_s"]) == (2100, 1800)
    # idle 09:40–09:45 less a minute's grace, while the second ticket waited: 4 minutes
    assert f["idle_queue_min"] == 4
    assert f["findings"] == 1
    # attitude 0.7×100 + 0.3×50 = 85; efficiency 0.5×100 + 0.3×100 + 0.2×(100 − 2×4) = 98.4
    assert t5["parts"] == {"attitude": 85, "efficiency": 98.4, "complaints": 100, "inspection": 80}
    # 0.35×85 + 0.35×98.4 + 0.2×100 + 0.1×80 = 92.19
    assert t5["score"] == pytest.approx(92.19)
    assert t5["band"] == "excellent"
    assert {t["username"] for t in report["tellers"]} >= {f"teller{n}" for n in range(1, 7)}


async def test_the_branch_rules_weigh_the_parts(world):
    from server.services import branches

    await a_day_at_counter_5(world)

    def only_attitude(spec):
        assert spec is not None
        return spec.model_copy(update={"assessment": branches.AssessmentSpec(
            weights={"attitude": 1, "efficiency": 0, "complaints": 0, "inspection": 0})})

    await branches.change_config(world.app, "demo", only_attitude)
    report = await assessment.assessment_report(world.app, await world.staff("manager"), "demo",
                                                first=None, last=None)
    [t5] = [t for t in report["tellers"] if t["username"] == "teller5"]
    assert t5["score"] == 85
    assert report["rules"]["weights"]["attitude"] == 1


async def test_a_teller_sees_only_their_own_assessment(world):
    await a_day_at_counter_5(world)
    for name in ("teller5", "teller1"):
        report = await assessment.assessment_report(world.app, await world.staff(name), "demo",
                                                    first=None, last=None)
        assert [t["username"] for t in report["tellers"]] == [name]
        assert report["everyone"] is False


async def test_an_inspector_or_a_device_reads_no_assessment(world):
    for who in (await world.staff("inspector"), await world.device("kiosk")):
        with pytest.raises(Forbidden):
            await assessment.assessment_report(world.app, who, "demo", first=None, last=None)


async def test_the_evaluator_prompt_is_recorded_once_per_ticket(world):
    teller = await world.staff("teller5")
    await counters.open_counter(world.app, teller, "demo", 5)
    await world.issue("D")
    await counters.call_next(world.app, teller, "demo", 5)
    await counters.finish(world.app, teller, "demo", 5)
    first = await _prompt(world)
    again = await _prompt(world)
    assert (first["recorded"], again["recorded"]) == (True, False)
    assert first["number"] == again["number"] == "D001"


async def test_an_evaluator_prompt_with_nobody_served_or_elsewhere_is_refused(world):
    await world.refused("nothing_to_rate", lambda: _prompt(world))
    evaluator = await world.device("evaluator")
    body = RatingPromptIn(number="D001")
    await world.refused("not_this_counter", lambda: assessment.record_prompt(world.app, evaluator, "demo", 3, body))
    kiosk = await world.device("kiosk")
    await world.refused("forbidden", lambda: assessment.record_prompt(world.app, kiosk, "demo", 5, body))
    teller = await world.staff("teller5")
    await counters.open_counter(world.app, teller, "demo", 5)
    await world.issue("D")
    await counters.call_next(world.app, teller, "demo", 5)
    await counters.finish(world.app, teller, "demo", 5)
    await world.refused("nothing_to_rate", lambda: _prompt(world, "D002"))  # not the ticket just served


async def test_a_finding_names_a_staff_member_of_the_branch_only(world):
    inspector = await world.staff("inspector")
    await world.refused("invalid_input", lambda: record_inspection(world.app, inspector, "demo",
                                                                    failing_conduct_about("nobody-here")))
    done = await record_inspection(world.app, inspector, "demo", failing_conduct_about("teller2"))
    detail = await inspection_detail(world.app, inspector, "demo", done["id"])
    assert [(i["item"], i["staff"]) for i in detail["items"] if not i["passed"]] == [("con_manner", "teller2")]
