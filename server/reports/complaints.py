"""Complaint statistics: what a regulator asks a branch for, as pure functions over anonymous facts.

A case enters the statistics as a :class:`CaseFact`, which holds no contact at all: the
complainant is known only as the first case they filed at the branch (``complainant``),
which retention keeps, so erasing contacts changes no figure. Cases count in the period of
their day of receipt (the branch's wall clock); a case merged into an earlier one counts
once, in the earlier one (``merged`` says how many were folded in).

The figures of a set of cases:

- ``received``: the cases; ``closed``: those closed after a decision.
- ``on_time_rate``: of the cases whose deadline has passed or that have a decision, the share
  whose first decision came by the due day (a case still undecided after its due day is late).
- ``avg_days``, ``p90_days``: calendar days from receipt to the first decision (P90 by the
  nearest rank, as :func:`server.domain.complaints.percentile`).
- ``overdue_now``: awaiting a decision past the due day, at ``now``.
- ``upheld_rate``: of the decided cases, the share upheld or partly upheld.
- ``second_round_rate``: of the decided cases, the share that went to a second round.
- ``escalation_rate``: of the cases, the share escalated to a superior at least once.
- ``satisfaction_rate``: of the cases whose customer answered (at closing, or "not satisfied" to a
  decision by the case token), the share satisfied with the handling; the last answer counts.
- ``repeat_complainants``: complainants of these cases who have another case at the branch
  received by the period's last day.

Weak points are the category × service pairs with the most upheld cases in the period,
beside the same count over the period of equal length just before it (the trend).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from server.domain.complaints import AWAITING_DECISION, CaseState, percentile

PeriodKind = Literal["day", "week", "month", "quarter"]
PERIODS: tuple[PeriodKind, ...] = ("day", "week", "month", "quarter")
GROUPS = ("period", "channel", "category", "service", "teller", "branch")
UPHELD = frozenset({"upheld", "partly_upheld"})
#: The figures of a row, in the order the tables and exports show them.
COLUMNS = ("received", "closed", "on_time_rate", "avg_days", "p90_days", "overdue_now", "upheld_rate",
           "second_round_rate", "escalation_rate", "satisfaction_rate", "repeat_complainants", "merged")
SHARES = frozenset({"on_time_rate", "upheld_rate", "second_round_rate", "escalation_rate", "satisfaction_rate"})
DAYS = frozenset({"avg_days", "p90_days"})
WEAK_POINTS = 5


@dataclass(frozen=True, slots=True)
class CaseFact:
    """What the statistics know of one case: no name, no phone, no text."""

    id: int
    branch: str
    complainant: int
    """The id of the first case this complainant filed at the branch (the case's own when none)."""
    channel: str
    category: str
    state: CaseState
    received_at: datetime
    received_on: date
    due_on: date
    overdue_now: bool
    """Awaiting a decision past the due day (computed by the caller in the branch's zone)."""
    first_decided_at: datetime | None = None
    decided_late: bool | None = None
    outcome: str | None = None
    round: int = 1
    escalations: int = 0
    satisfied: bool | None = None
    service: str | None = None
    teller: str | None = None
    merged_into: int | None = None


def period_start(day: date, kind: PeriodKind) -> date:
    """The first day of the day/week (Monday)/month/quarter that holds ``day``."""
    if kind == "day":
        return day
    if kind == "week":
        return day - timedelta(days=day.weekday())
    if kind == "month":
        return day.replace(day=1)
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


def period_label(start: date, kind: PeriodKind) -> str:
    """``2026-12-04``, ``2026-W49``, ``2026-12``, ``2026-Q4``."""
    if kind == "day":
        return start.isoformat()
    if kind == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{start:%Y-%m}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def days_to_decision(fact: CaseFact) -> float | None:
    if fact.first_decided_at is None:
        return None
    return (fact.first_decided_at - fact.received_at).total_seconds() / 86400


def complainants(history: Iterable[CaseFact], last: date) -> dict[tuple[str, int], int]:
    """How many cases (merged ones aside) each complainant of each branch filed by ``last``."""
    per_person: dict[tuple[str, int], int] = defaultdict(int)
    for h in history:
        if h.received_on <= last and h.merged_into is None:
            per_person[(h.branch, h.complainant)] += 1
    return per_person


def figures(cases: Sequence[CaseFact], history: Sequence[CaseFact], last: date) -> dict[str, Any]:
    """The figures of ``cases`` (see the module's docstring); ``history``: every case of the
    branches up to ``last``, for repeat complainants."""
    return _figures(cases, complainants(history, last))


def _figures(cases: Sequence[CaseFact], per_person: dict[tuple[str, int], int]) -> dict[str, Any]:
    counted = [c for c in cases if c.merged_into is None]
    decided = [c for c in counted if c.first_decided_at is not None]
    due = [c for c in counted if c.first_decided_at is not None or c.overdue_now]
    on_time = [c for c in decided if c.decided_late is False]
    days = [d for d in (days_to_decision(c) for c in decided) if d is not None]
    answered = [c for c in counted if c.satisfied is not None]
    people = {(c.branch, c.complainant) for c in counted}
    p90 = percentile(days, 0.9)
    return {
        "received": len(counted),
        "closed": sum(1 for c in counted if c.state is CaseState.CLOSED),
        "on_time_rate": _share(len(on_time), len(due)),
        "avg_days": round(sum(days) / len(days), 2) if days else None,
        "p90_days": round(p90, 2) if p90 is not None else None,
        "overdue_now": sum(1 for c in counted if c.overdue_now and c.state in AWAITING_DECISION),
        "upheld_rate": _share(sum(1 for c in decided if c.outcome in UPHELD), len(decided)),
        "second_round_rate": _share(sum(1 for c in decided if c.round >= 2), len(decided)),
        "escalation_rate": _share(sum(1 for c in counted if c.escalations > 0), len(counted)),
        "satisfaction_rate": _share(sum(1 for c in answered if c.satisfied), len(answered)),
        "repeat_complainants": sum(1 for p in people if per_person.get(p, 0) > 1),
        "merged": sum(1 for c in cases if c.merged_into is not None),
    }


def _key_of(group: str, kind: PeriodKind) -> Callable[[CaseFact], str | None]:
    if group == "period":
        return lambda c: period_label(period_start(c.received_on, kind), kind)
    return lambda c: getattr(c, group)


def weak_points(
    cases: Iterable[CaseFact], before: Iterable[CaseFact], *, top: int = WEAK_POINTS
) -> list[dict[str, Any]]:
    """The category × service pairs with the most upheld cases, and the count the period before."""

    def upheld(facts: Iterable[CaseFact]) -> dict[tuple[str, str | None], int]:
        out: dict[tuple[str, str | None], int] = defaultdict(int)
        for c in facts:
            if c.outcome in UPHELD and c.merged_into is None:
                out[(c.category, c.service)] += 1
        return out

    now, then = upheld(cases), upheld(before)
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1] or ""))[:top]
    return [
        {"category": cat, "service": service, "upheld": n, "previous": then.get((cat, service), 0),
         "trend": n - then.get((cat, service), 0)}
        for (cat, service), n in ranked
    ]


def complaint_stats(
    facts: Sequence[CaseFact], first: date, last: date, *, group: str = "period", period: PeriodKind = "month",
) -> dict[str, Any]:
    """The statistics of the cases received from ``first`` to ``last`` (both included): a row per
    ``group`` key (``period``: per day/week/month/quarter), the total, and the weak points
    against the period of equal length just before ``first``."""
    if group not in GROUPS:
        raise ValueError(f"group is one of {', '.join(GROUPS)}")
    history = [f for f in facts if f.received_on <= last]
    inside = [f for f in history if first <= f.received_on]
    span = (last - first).days + 1
    before_first = first - timedelta(days=span)
    before = [f for f in history if before_first <= f.received_on < first]
    per_person = complainants(history, last)
    key = _key_of(group, period)
    keyed: dict[str | None, list[CaseFact]] = defaultdict(list)
    for f in inside:
        keyed[key(f)].append(f)
    order = sorted(keyed, key=lambda k: (k is None, str(k)))
    return {
        "from": first.isoformat(), "to": last.isoformat(), "group": group, "period": period,
        "previous": {"from": before_first.isoformat(), "to": (first - timedelta(days=1)).isoformat()},
        "columns": list(COLUMNS),
        "rows": [{"key": k, **_figures(keyed[k], per_person)} for k in order],
        "total": _figures(inside, per_person),
        "weak_points": weak_points(inside, before),
    }


# --- as files ---------------------------------------------------------------------------------

WEAK_COLUMNS = ("category", "service", "upheld", "previous", "trend")


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report["rows"], {**report["total"], "key": "total"}]


def to_csv(report: dict[str, Any]) -> str:
    """The rows and the total, then (after a blank line) the weak points; columns headed by their keys."""
    from . import sheets

    return (sheets.to_csv(("key", *COLUMNS), _rows(report)) + "\n"
            + sheets.to_csv(WEAK_COLUMNS, report["weak_points"]))


def to_xlsx(report: dict[str, Any]) -> bytes:
    """A workbook with the sheets "complaints" (rows and total) and "weak points"."""
    from . import sheets

    return sheets.to_xlsx([("complaints", ("key", *COLUMNS), _rows(report)),
                           ("weak points", WEAK_COLUMNS, report["weak_points"])])
