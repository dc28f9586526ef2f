"""Staff assessment (server/domain/assessment.py) against cases computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.assessment import (
    DEFAULT_BANDS,
    AssessmentRules,
    ServiceMix,
    TellerRecord,
    assess,
    band_of,
    idle_with_queue_s,
    mix_index,
    overlap_s,
    subtract,
    union,
)

RULES = AssessmentRules()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def at(minutes: float) -> datetime:
    return T0 + minutes * MIN


def record(**kw) -> TellerRecord:
    return TellerRecord(staff_id=1, username="teller1", **kw)


# The worked example, by hand:
#   ratings 6×5, 2×4, 2×3: mean 4.4 → rating part (4.4−1)/4 = 85
#   10 finished, 8 shown the evaluator, 6 of those answered: coverage 0.6
#   attitude = 0.7 × 85 + 0.3 × 60 = 77.5
#   mix: 6 A in 1500 s (target 300) + 4 C in 4000 s (target 900): should 5400 s, took 5500 s
#   speed = 100 × 5400/5500 = 98.1818; utilisation 5500/9000 = 0.6111 → 0.6111/0.75 = 81.4815
#   10 idle minutes with a queue → 100 − 2×10 = 80
#   efficiency = 0.5×98.1818 + 0.3×81.4815 + 0.2×80 = 89.5354
#   1 upheld complaint → 75; no findings → 100
#   score = 0.35×77.5 + 0.35×89.5354 + 0.2×75 + 0.1×100 = 83.4624 → good
WORKED = record(
    ratings={5: 6, 4: 2, 3: 2}, finished=10, prompted=8, prompted_answered=6,
    mix=(ServiceMix("A", 6, 1500, 300), ServiceMix("C", 4, 4000, 900)),
    open_s=9000, serving_s=5500, idle_queue_s=600, upheld_complaints=1, findings=0,
)


def test_worked_example_weighs_every_part_as_computed_by_hand():
    a = assess(WORKED, RULES)
    assert a.parts["attitude"] == pytest.approx(77.5)
    assert a.parts["efficiency"] == pytest.approx(89.5354, abs=0.01)
    assert a.parts["complaints"] == 75
    assert a.parts["inspection"] == 100
    assert a.score == pytest.approx(83.46, abs=0.01)
    assert a.band == "good"
    f = a.figures
    assert f["rating_mean"] == pytest.approx(4.4)
    assert f["distribution"] == {"1": 0, "2": 0, "3": 2, "4": 2, "5": 6}
    assert f["coverage"] == pytest.approx(0.6)
    assert f["expected_service_s"] == 5400 and f["actual_service_s"] == 5500
    assert f["utilisation"] == pytest.approx(5500 / 9000)
    assert f["idle_queue_min"] == 10


def test_changing_the_weights_changes_the_score_as_the_weighted_mean_says():
    only_complaints = AssessmentRules(weights={"attitude": 0, "efficiency": 0, "complaints": 1, "inspection": 0})
    assert assess(WORKED, only_complaints).score == 75
    half = AssessmentRules(weights={"attitude": 1, "efficiency": 1, "complaints": 0, "inspection": 0})
    assert assess(WORKED, half).score == pytest.approx((77.5 + 89.5354) / 2, abs=0.01)


@pytest.mark.parametrize(
    ("mix", "expected_speed"),
    [
        # Same average service time (600 s), different mix: judged against each service's target.
        ((ServiceMix("A", 10, 6000, 300),), 50.0),  # cash at twice its target
        ((ServiceMix("C", 10, 6000, 900),), 100.0),  # accounts well within theirs (capped at 100)
        # 5 A at 300 s + 5 C at 1200 s: should 5×300 + 5×900 = 6000 s, took 7500 s → 80
        ((ServiceMix("A", 5, 1500, 300), ServiceMix("C", 5, 6000, 900)), 80.0),
        # 9 fast A (200 s, target 300) do not hide one very slow D (3000 s, target 600):
        # should 9×300 + 600 = 3300, took 1800 + 3000 = 4800 → 68.75
        ((ServiceMix("A", 9, 1800, 300), ServiceMix("D", 1, 3000, 600)), 68.75),
    ],
)
def test_service_time_is_judged_against_the_mix_served(mix, expected_speed):
    a = assess(record(mix=mix, finished=10), AssessmentRules(efficiency_weights={"speed": 1}))
    assert a.figures["efficiency_parts"]["speed"] == pytest.approx(expected_speed)  # type: ignore[index]
    assert a.parts["efficiency"] == pytest.approx(expected_speed)


def test_mix_index_sums_tickets_times_target_against_time_taken():
    assert mix_index([ServiceMix("A", 3, 1000, 300), ServiceMix("B", 2, 500, 200)]) == (1300, 1500)


@pytest.mark.parametrize(
    ("finished", "prompted", "answered", "coverage", "shown", "answered_share"),
    [
        (20, 10, 5, 0.25, 0.5, 0.5),
        (20, 20, 20, 1.0, 1.0, 1.0),
        (20, 0, 0, 0.0, 0.0, None),  # the prompt was never shown: coverage 0, not "unknown"
        (0, 0, 0, None, None, None),  # nothing finished: no coverage at all
    ],
)
def test_coverage_is_answered_prompts_over_finished_tickets(finished, prompted, answered, coverage, shown,
                                                            answered_share):
    f = assess(record(finished=finished, prompted=prompted, prompted_answered=answered), RULES).figures
    assert f["coverage"] == coverage
    assert f["shown_share"] == shown
    assert f["answered_share"] == answered_share


def test_skipping_the_evaluator_shows_in_attitude_even_with_perfect_ratings():
    asked = assess(record(ratings={5: 4}, finished=4, prompted=4, prompted_answered=4), RULES)
    skipped = assess(record(ratings={5: 4}, finished=40, prompted=4, prompted_answered=4), RULES)
    assert asked.parts["attitude"] == 100
    # 4 answered of 40 finished: coverage 0.1 → 0.7×100 + 0.3×10 = 73
    assert skipped.parts["attitude"] == pytest.approx(73)


def test_a_part_without_data_is_left_out_and_the_weights_renormalised():
    a = assess(record(upheld_complaints=2, findings=1), RULES)  # no ratings, never served, never open
    assert a.parts["attitude"] is None and a.parts["efficiency"] is None
    # complaints 50 (w 0.2), inspection 80 (w 0.1): (0.2×50 + 0.1×80) / 0.3 = 60
    assert a.score == pytest.approx(60)
    assert a.band == "fair"


def test_penalties_never_go_below_zero():
    a = assess(record(upheld_complaints=9, findings=9, open_s=3600, idle_queue_s=3600), RULES)
    assert a.parts["complaints"] == 0 and a.parts["inspection"] == 0
    assert a.figures["efficiency_parts"]["idle"] == 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("score", "band"),
    [(100, "excellent"), (90, "excellent"), (89.99, "good"), (75, "good"), (60, "fair"), (59.9, "poor"),
     (0, "poor"), (None, None)],
)
def test_bands_take_the_highest_lower_bound_reached(score, band):
    assert band_of(score, DEFAULT_BANDS) == band


@given(st.dictionaries(st.integers(1, 5), st.integers(0, 50)), st.integers(0, 100), st.integers(0, 5),
       st.integers(0, 5), st.floats(0, 20000), st.floats(0, 20000))
def test_every_score_is_between_0_and_100(ratings, finished, upheld, findings, open_s, idle_s):
    prompted = finished // 2
    a = assess(record(ratings=ratings, finished=finished, prompted=prompted, prompted_answered=prompted // 2,
                      open_s=open_s, serving_s=open_s / 2, idle_queue_s=min(idle_s, open_s),
                      upheld_complaints=upheld, findings=findings,
                      mix=(ServiceMix("A", finished, finished * 250.0, 300),)), RULES)
    assert a.score is not None and 0 <= a.score <= 100
    assert all(v is None or 0 <= v <= 100 for v in a.parts.values())


# --- the interval arithmetic of the idle figure ----------------------------------------------


def test_union_and_subtract_of_spans():
    assert union([(at(0), at(10)), (at(5), at(20)), (at(30), at(40)), (at(40), at(45))]) == [
        (at(0), at(20)), (at(30), at(45))]
    assert subtract([(at(0), at(60))], [(at(0), at(20)), (at(30), at(60))]) == [(at(20), at(30))]
    assert overlap_s([(at(0), at(10))], [(at(5), at(20))]) == 300


def test_idle_with_queue_counts_idle_minutes_beyond_the_grace_while_tickets_wait():
    # Open 9:00–10:00, serving 9:00–9:20 and 9:30–10:00: idle 9:20–9:30, less a minute's grace
    # → 9:21–9:30; tickets waited 9:25–9:40 → idle with a queue 9:25–9:30 = 300 s.
    seconds = idle_with_queue_s([(at(0), at(60))], [(at(0), at(20)), (at(30), at(60))],
                                [(at(25), at(40))], grace_s=60)
    assert seconds == 300


def test_idle_with_nobody_waiting_or_within_the_grace_does_not_count():
    open_ = [(at(0), at(60))]
    assert idle_with_queue_s(open_, [(at(0), at(59.5))], [(at(0), at(60))], grace_s=60) == 0
    assert idle_with_queue_s(open_, [(at(0), at(20))], [], grace_s=60) == 0


_spans = st.lists(st.tuples(st.integers(0, 600), st.integers(1, 120)).map(lambda p: (at(p[0]), at(p[0] + p[1]))),
                  max_size=8)


@given(_spans, _spans)
def test_idle_and_busy_time_add_up_to_the_time_open(open_, busy):
    total = sum((b - a).total_seconds() for a, b in union(open_))
    idle = sum((b - a).total_seconds() for a, b in subtract(open_, busy))
    assert idle + overlap_s(open_, busy) == pytest.approx(total)
    assert idle_with_queue_s(open_, busy, open_, grace_s=0) == pytest.approx(idle)  # a queue all along
