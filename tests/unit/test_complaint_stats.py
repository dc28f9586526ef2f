"""Complaint statistics against cases made by hand: every figure worked out in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.complaints import CaseState
from server.reports.complaints import CaseFact, complaint_stats, figures, period_label, period_start

S = CaseState
DAY0 = date(2026, 11, 2)  # a Monday
AT0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def case(n: int, *, day: int = 0, decided_after: float | None = None, late: bool | None = None,
         state: CaseState = S.CLOSED, outcome: str | None = None, round: int = 1, escalations: int = 0,
         satisfied: bool | None = None, overdue: bool = False, complainant: int | None = None,
         category: str = "fees", service: str | None = "A", channel: str = "hotline",
         teller: str | None = "teller1", merged_into: int | None = None, branch: str = "demo") -> CaseFact:
    received_at = AT0 + timedelta(days=day)
    decided = received_at + timedelta(days=decided_after) if decided_after is not None else None
    return CaseFact(
        id=n, branch=branch, complainant=complainant or n, channel=channel, category=category, state=state,
        received_at=received_at, received_on=DAY0 + timedelta(days=day), due_on=DAY0 + timedelta(days=day + 15),
        overdue_now=overdue, first_decided_at=decided, decided_late=late, outcome=outcome, round=round,
        escalations=escalations, satisfied=satisfied, service=service, teller=teller, merged_into=merged_into,
    )


# Ten cases in November 2026, decided after 1..9 days and one late (20 days), one still open and
# overdue, one open within its deadline, one merged into case 1.
HAND = [
    case(1, decided_after=1, late=False, outcome="upheld", satisfied=True),
    case(2, decided_after=2, late=False, outcome="not_upheld", satisfied=True, complainant=1),
    case(3, decided_after=3, late=False, outcome="partly_upheld", round=2, satisfied=False),
    case(4, decided_after=4, late=False, outcome="not_upheld", state=S.DECIDED),
    case(5, decided_after=5, late=False, outcome="upheld", escalations=1, round=2, satisfied=True),
    case(6, decided_after=6, late=False, outcome="not_upheld"),
    case(7, decided_after=7, late=False, outcome="not_upheld"),
    case(8, decided_after=20, late=True, outcome="upheld", category="attitude", service="B"),
    case(9, state=S.HANDLING, overdue=True, escalations=1),
    case(10, state=S.ACCEPTED, day=20),
    case(11, state=S.MERGED, merged_into=1, complainant=1),
]


def test_figures_of_cases_made_by_hand():
    f = figures(HAND, HAND, date(2026, 11, 30))
    assert f["received"] == 10  # the merged case counts in the first one
    assert f["merged"] == 1
    assert f["closed"] == 7  # 1, 2, 3, 5, 6, 7, 8 (4 decided, 9 and 10 open)
    # On time: 7 decided in time / (8 decided + 1 undecided past its due day) = 7/9.
    assert f["on_time_rate"] == round(7 / 9, 4)
    # Days to the first decision: 1, 2, 3, 4, 5, 6, 7, 20 → mean 48/8 = 6.0;
    # P90 by nearest rank: ceil(0.9 × 8) = 8th of the sorted eight = 20.
    assert f["avg_days"] == 6.0 and f["p90_days"] == 20.0
    assert f["overdue_now"] == 1
    # Upheld or partly: 1, 3, 5, 8 of the 8 decided.
    assert f["upheld_rate"] == 0.5
    # Second round: 3 and 5 of 8 decided; escalated: 5 and 9 of 10 cases.
    assert f["second_round_rate"] == 0.25 and f["escalation_rate"] == 0.2
    # Answered: 1, 2, 5 satisfied, 3 not → 3/4.
    assert f["satisfaction_rate"] == 0.75
    # Complainant 1 filed cases 1 and 2 (the merged 11 is the same matter, not a repeat).
    assert f["repeat_complainants"] == 1


def test_p90_of_ten_decisions_is_the_ninth_by_nearest_rank():
    cases = [case(i, decided_after=float(i), late=False) for i in range(1, 11)]
    f = figures(cases, cases, date(2026, 11, 30))
    assert f["p90_days"] == 9.0 and f["avg_days"] == 5.5 and f["on_time_rate"] == 1.0


def test_no_cases_give_no_rates_rather_than_zero():
    f = figures([], [], date(2026, 11, 30))
    assert f["received"] == 0 and f["on_time_rate"] is None and f["p90_days"] is None
    assert f["satisfaction_rate"] is None


def test_a_repeat_complainant_counts_with_an_earlier_case_outside_the_period():
    earlier = case(1, day=-40)
    now = case(2, day=1, complainant=1)
    report = complaint_stats([earlier, now], date(2026, 11, 1), date(2026, 11, 30))
    assert report["total"]["received"] == 1 and report["total"]["repeat_complainants"] == 1


def test_a_later_case_does_not_make_a_repeat_complainant_of_the_period():
    first = case(1, day=0)
    later = case(2, day=40, complainant=1)
    report = complaint_stats([first, later], date(2026, 11, 1), date(2026, 11, 30))
    assert report["total"]["repeat_complainants"] == 0


@pytest.mark.parametrize(("group", "keys"), [
    ("channel", [("hotline", 10)]),
    ("category", [("attitude", 1), ("fees", 9)]),
    ("service", [("A", 9), ("B", 1)]),
    ("teller", [("teller1", 10)]),
    ("period", [("2026-11", 10)]),
])
def test_rows_per_group_add_up_to_the_total(group, keys):
    report = complaint_stats(HAND, date(2026, 11, 1), date(2026, 11, 30), group=group)
    assert [(r["key"], r["received"]) for r in report["rows"]] == keys
    assert sum(r["received"] for r in report["rows"]) == report["total"]["received"] == 10


def test_weeks_start_on_monday_and_quarters_on_their_first_month():
    assert period_start(date(2026, 11, 8), "week") == date(2026, 11, 2)
    assert period_label(date(2026, 11, 2), "week") == "2026-W45"
    assert period_start(date(2026, 11, 8), "quarter") == date(2026, 10, 1)
    assert period_label(date(2026, 10, 1), "quarter") == "2026-Q4"
    assert period_label(date(2026, 11, 8), "day") == "2026-11-08"


def test_rows_per_week():
    report = complaint_stats(HAND, date(2026, 11, 1), date(2026, 11, 30), group="period", period="week")
    # 22 November is a Sunday: still week 47
    assert [(r["key"], r["received"]) for r in report["rows"]] == [("2026-W45", 9), ("2026-W47", 1)]


def test_weak_points_rank_upheld_pairs_and_compare_with_the_period_before():
    before = [case(100 + i, day=-20, outcome="upheld", category="attitude", service="B") for i in range(3)]
    report = complaint_stats([*before, *HAND], date(2026, 11, 1), date(2026, 11, 30))
    assert report["previous"] == {"from": "2026-10-02", "to": "2026-10-31"}
    assert report["weak_points"] == [
        {"category": "fees", "service": "A", "upheld": 3, "previous": 0, "trend": 3},
        {"category": "attitude", "service": "B", "upheld": 1, "previous": 3, "trend": -2},
    ]


def test_statistics_span_several_branches():
    other = [case(200, branch="north", complainant=1), case(201, branch="north", complainant=1)]
    report = complaint_stats([*HAND, *other], date(2026, 11, 1), date(2026, 11, 30), group="branch")
    assert [(r["key"], r["received"], r["repeat_complainants"]) for r in report["rows"]] == [
        ("demo", 10, 1), ("north", 2, 1)]
    # complainant 1 at "north" is another person than complainant 1 at "demo"
    assert report["total"]["repeat_complainants"] == 2


@given(st.lists(st.tuples(st.integers(0, 29), st.sampled_from([None, 1.0, 5.0, 30.0]), st.booleans(),
                          st.sampled_from(["fees", "waiting"])), max_size=30))
def test_rates_are_shares_and_groups_add_up(spec):
    facts = [case(i + 1, day=d, decided_after=after, late=(after or 0) > 15 if after else None,
                  overdue=after is None and flag, category=cat,
                  state=S.CLOSED if after else S.HANDLING, outcome="upheld" if flag and after else None)
             for i, (d, after, flag, cat) in enumerate(spec)]
    report = complaint_stats(facts, date(2026, 11, 1), date(2026, 12, 31), group="category")
    total = report["total"]
    for key in ("on_time_rate", "upheld_rate", "second_round_rate", "escalation_rate", "satisfaction_rate"):
        assert total[key] is None or 0 <= total[key] <= 1
    for key in ("received", "closed", "overdue_now"):
        assert sum(r[key] for r in report["rows"]) == total[key]
    assert (total["p90_days"] is None) == (total["avg_days"] is None)
