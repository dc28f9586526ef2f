"""Complaint statistics of a branch, or across the branches a regional manager oversees.

The store hands over anonymous facts (no contact, no text: :func:`server.store.complaints.stat_rows`);
:mod:`server.reports.complaints` counts them. Each branch's days are its own wall clock's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from server.domain import complaints as rules
from server.domain.access import Action, Actor, Role, require
from server.domain.complaints import CaseState
from server.domain.errors import InvalidInput, NotFound
from server.domain.numbering import business_date
from server.reports.complaints import GROUPS, PERIODS, CaseFact, complaint_stats
from server.reports.summary import Period
from server.store import complaints as store
from server.store import repository as repo
from server.store import supervision

from .context import Services

#: Without ``from`` and ``to``: the last 30 days up to today.
DEFAULT_DAYS = 30


def visible_branches(actor: Actor, all_ids: list[str]) -> list[str]:
    """The branches whose complaints ``actor`` may count: an admin all, a manager theirs."""
    if actor.is_staff and actor.role == Role.ADMIN:
        return all_ids
    mine = {b for b in (actor.branch_id, *actor.branches) if b is not None}
    return [b for b in all_ids if b in mine]


async def stats(
    app: Services, actor: Actor, branch_ids: list[str] | None, *, first: str | None, last: str | None,
    group: str = "period", period: str = "month",
) -> dict[str, Any]:
    """The statistics of one branch (``[b]``), of the branches named, or (None) of every branch the
    actor oversees; refused (Forbidden) for a branch the actor may not handle complaints of."""
    if group not in GROUPS:
        raise InvalidInput(f"group is one of {', '.join(GROUPS)}", code="invalid_group")
    if period not in PERIODS:
        raise InvalidInput(f"period is one of {', '.join(PERIODS)}", code="invalid_period")
    now = app.clock()
    async with app.db.read() as conn:
        if branch_ids is None:
            branch_ids = visible_branches(actor, await supervision.branch_ids(conn))
        if not branch_ids:
            require(actor, Action.HANDLE_COMPLAINTS, None)
            raise NotFound("no branch to count", code="no_branch")
        branches = []
        for b in branch_ids:
            require(actor, Action.HANDLE_COMPLAINTS, b)
            row = await repo.load_branch(conn, b)
            if row is None:
                raise NotFound(f"no branch {b!r}")
            branches.append(row)
        zone = branches[0].timezone
        span = Period.parse(first, last, today=business_date(now, zone))
        if first is None and last is None:
            span = Period(span.last - timedelta(days=DEFAULT_DAYS - 1), span.last)
        rows = await store.stat_rows(conn, branch_ids, span.last)
    zones = {b.id: b.timezone for b in branches}
    today = {b: rules.local_date(now, z) for b, z in zones.items()}
    facts = [_fact(r, now, zones[r[1]], today[r[1]]) for r in rows]
    report = complaint_stats(facts, span.first, span.last, group=group, period=period)
    return {
        "branches": [b.id for b in branches],
        "branch_names": {b.id: b.names for b in branches},
        "timezone": zone,
        "at": now.isoformat(),
        **report,
    }


_STATES = {s.value: s for s in CaseState}
_AWAITING = frozenset(s.value for s in rules.AWAITING_DECISION)


def _fact(r: Any, now: datetime, zone: str, today: date) -> CaseFact:
    """One row of :func:`server.store.complaints.stat_rows` (its columns in order) as a fact.

    Read by position and with the day's overdue line worked out once: a year of a region's
    cases is tens of thousands of rows (bench/complaint_stats.py).
    """
    (case_id, branch, channel, category, state, received_at, received_on, due_on, first_decided_at, decided_late,
     outcome, round_, escalations, satisfied, merged_into, complainant, service, teller) = r
    overdue = state in _AWAITING and (due_on < today or (due_on == today and rules.is_overdue(due_on, now, zone)))
    return CaseFact(case_id, branch, complainant, channel, category, _STATES[state], received_at, received_on,
                    due_on, overdue, first_decided_at, decided_late, outcome, round_, escalations, satisfied,
                    service, teller, merged_into)
