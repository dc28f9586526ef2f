"""Complaint cases: the workflow as a transition table, the deadlines, and the pure rules.

The bank's rules and the regulator's (2020) in one place:

    received ──accept──► accepted ──assign──► handling ──resolve──► resolved ──┐
       │                                        │ └──transfer──► transferred ──┤
       └─reject──► rejected                      └──────────────decide────────►├─► decided
                                                                               │
    decided ──close (satisfied, or no answer)──► closed                          │
    decided ──reopen (unsatisfied, first round)──► second_round ──decide──────────┘
    decided ──escalate (unsatisfied after the second round)──► escalated ──decide──► decided
    any open case ──escalate (overdue, or by hand)──► escalated
    any open case ──withdraw──► withdrawn;  received/accepted ──merge──► merged (into the first case)

- A case is closed only from ``decided``: no path closes a case without a decision.
- The handler is never the staff member complained about (assign and decide refuse it).
- Every case has a deadline: the day of receipt plus 15 calendar days (30 for a complex
  case), counted in the branch's zone; ``due_at`` is the end of that day there.
- Extensions: the first takes a 15-day case to 30 days and needs a reason; the second adds
  30 days and needs a reason and an approver (someone other than the one asking). No third.
- A repeated complaint on the same matter is merged into the first and keeps the first's
  deadline (the first's deadline does not move).
- An escalated case has an escalation step in its history (``escalations`` ≥ 1 and the
  superior it went to).
- Closing a case upheld against the branch needs a root cause and a fix (owner, due date).

Everything here is pure: the time comes in as an argument, nothing is read or written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import Forbidden, InvalidInput, InvalidTransition


class CaseState(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HANDLING = "handling"
    RESOLVED = "resolved"
    TRANSFERRED = "transferred"
    DECIDED = "decided"
    SECOND_ROUND = "second_round"
    ESCALATED = "escalated"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


class CaseAction(enum.StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    ASSIGN = "assign"
    RESOLVE = "resolve"
    TRANSFER = "transfer"
    EXTEND = "extend"
    DECIDE = "decide"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    CLOSE = "close"
    RECTIFY = "rectify"
    RECHECK = "recheck"
    WITHDRAW = "withdraw"
    MERGE = "merge"


class Channel(enum.StrEnum):
    BRANCH = "branch"  # at the branch: the phone page of a ticket, the evaluator, the lobby desk
    HOTLINE = "hotline"
    BOX = "box"
    ONLINE = "online"
    LETTER = "letter"
    REGULATOR = "regulator"  # forwarded by the regulator (12378)
    WALK_IN = "walk_in"


#: The channels a customer may file through without signing in.
PUBLIC_CHANNELS = (Channel.BRANCH, Channel.ONLINE)


class Category(enum.StrEnum):
    ATTITUDE = "attitude"
    WAITING = "waiting"
    FEES = "fees"
    MIS_SELLING = "mis_selling"
    ERROR = "error"
    ENVIRONMENT = "environment"
    PRIVACY = "privacy"
    OTHER = "other"


class Outcome(enum.StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"


class Remedy(enum.StrEnum):
    """The further remedies a decision names (the regulator's list)."""

    REVIEW = "review"  # review by a superior level
    MEDIATION = "mediation"
    ARBITRATION = "arbitration"
    LAWSUIT = "lawsuit"


class RootCause(enum.StrEnum):
    STAFF = "staff"  # a person's conduct or skill
    PROCESS = "process"
    SYSTEM = "system"
    PRODUCT = "product"
    FACILITY = "facility"
    OTHER = "other"


class Recheck(enum.StrEnum):
    DONE = "done"
    REOPENED = "reopened"


S, A = CaseState, CaseAction

OPEN_STATES = frozenset({S.RECEIVED, S.ACCEPTED, S.HANDLING, S.RESOLVED, S.TRANSFERRED, S.DECIDED,
                         S.SECOND_ROUND, S.ESCALATED})
ENDED_STATES = frozenset(set(CaseState) - OPEN_STATES)
#: States in which a decision is still owed (the deadline runs; extensions make sense).
AWAITING_DECISION = frozenset({S.RECEIVED, S.ACCEPTED, S.HANDLING, S.RESOLVED, S.TRANSFERRED,
                               S.SECOND_ROUND, S.ESCALATED})
_WORKING = frozenset({S.HANDLING, S.RESOLVED, S.TRANSFERRED, S.SECOND_ROUND, S.ESCALATED})

#: (state, action) → state after. A pair not in the table is refused (InvalidTransition).
TRANSITIONS: dict[tuple[CaseState, CaseAction], CaseState] = {
    (S.RECEIVED, A.ACCEPT): S.ACCEPTED,
    (S.RECEIVED, A.REJECT): S.REJECTED,
    (S.ACCEPTED, A.ASSIGN): S.HANDLING,
    (S.HANDLING, A.ASSIGN): S.HANDLING,
    (S.SECOND_ROUND, A.ASSIGN): S.SECOND_ROUND,
    (S.ESCALATED, A.ASSIGN): S.ESCALATED,
    (S.HANDLING, A.RESOLVE): S.RESOLVED,
    (S.HANDLING, A.TRANSFER): S.TRANSFERRED,
    (S.SECOND_ROUND, A.TRANSFER): S.TRANSFERRED,
    **{(s, A.DECIDE): S.DECIDED for s in _WORKING},
    **{(s, A.EXTEND): s for s in AWAITING_DECISION},
    (S.DECIDED, A.CLOSE): S.CLOSED,
    (S.DECIDED, A.REOPEN): S.SECOND_ROUND,
    **{(s, A.ESCALATE): S.ESCALATED for s in OPEN_STATES - {S.RECEIVED, S.ESCALATED}},
    **{(s, A.WITHDRAW): S.WITHDRAWN for s in OPEN_STATES},
    (S.RECEIVED, A.MERGE): S.MERGED,
    (S.ACCEPTED, A.MERGE): S.MERGED,
    (S.DECIDED, A.RECTIFY): S.DECIDED,
    (S.CLOSED, A.RECTIFY): S.CLOSED,
    (S.DECIDED, A.RECHECK): S.DECIDED,
    (S.CLOSED, A.RECHECK): S.CLOSED,
}


def allowed_actions(state: CaseState) -> list[CaseAction]:
    """The actions the table allows from ``state``, in the order of :class:`CaseAction`."""
    return [a for a in CaseAction if (state, a) in TRANSITIONS]


# --- deadlines ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineRules:
    """Calendar days to a decision, per bank (the branch YAML's ``complaints`` section)."""

    standard_days: int = 15
    complex_days: int = 30
    further_days: int = 30
    due_soon_days: int = 3
    """A case due within this many days shows as an alert and in the digest."""


def due_date(received_on: date, days: int) -> date:
    """The last day of a deadline of ``days`` calendar days from the day of receipt."""
    return received_on + timedelta(days=days)


def end_of_day(day: date, zone: str) -> datetime:
    """The last second of ``day`` on the branch's wall clock, as an aware datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(zone))


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def days_left(due_on: date, now: datetime, zone: str) -> int:
    """Whole days from today (branch zone) to the due day: 0 on the day itself, < 0 when overdue."""
    return (due_on - local_date(now, zone)).days


def is_overdue(due_on: date, now: datetime, zone: str) -> bool:
    return now > end_of_day(due_on, zone)


def is_due_soon(due_on: date, now: datetime, zone: str, rules: DeadlineRules) -> bool:
    """Due within ``rules.due_soon_days`` days and not yet overdue."""
    return not is_overdue(due_on, now, zone) and days_left(due_on, now, zone) <= rules.due_soon_days


# --- the case ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """What the rules need to know of a case (the store keeps the rest)."""

    state: CaseState
    received_on: date
    """The day of receipt on the branch's wall clock."""
    due_on: date
    deadline_days: int
    complained_staff: int | None = None
    handler: int | None = None
    round: int = 1
    extensions: int = 0
    escalations: int = 0
    escalated_to: int | None = None
    decided: bool = False
    """A decision has been sent in this case's life (the last one counts)."""
    outcome: Outcome | None = None
    rectified: bool = False
    rectification_checked: bool = False
    merged_into: int | None = None
    steps: tuple[CaseAction, ...] = field(default=())


def new_case(
    received_at: datetime, zone: str, rules: DeadlineRules, *, complex_case: bool = False,
    complained_staff: int | None = None,
) -> Case:
    """A case as received: its deadline counted from the day of receipt in the branch's zone."""
    days = rules.complex_days if complex_case else rules.standard_days
    received_on = local_date(received_at, zone)
    return Case(S.RECEIVED, received_on, due_date(received_on, days), days, complained_staff=complained_staff)


@dataclass(frozen=True, slots=True)
class Step:
    """One action on a case, with what it needs (the fields the action does not use stay None)."""

    action: CaseAction
    by: int | None = None
    """The staff member acting (None: the system, e.g. the overdue escalation)."""
    handler: int | None = None
    approver: int | None = None
    reason: str = ""
    outcome: Outcome | None = None
    superior: int | None = None
    merged_into: int | None = None
    primary_due_on: date | None = None
    """For a merge: the first case's due day, which the merged one takes."""
    recheck: Recheck | None = None


def _refuse(case: Case, action: CaseAction) -> InvalidTransition:
    allowed = ", ".join(a.value for a in allowed_actions(case.state)) or "nothing"
    return InvalidTransition(f"cannot {action.value} a case that is {case.state.value} (allowed: {allowed})")


def apply(case: Case, step: Step, rules: DeadlineRules) -> Case:
    """The case after ``step``, or raise: InvalidTransition (not from this state), InvalidInput
    (the step lacks what it needs), Forbidden (the staff complained about may not handle it)."""
    after = TRANSITIONS.get((case.state, step.action))
    if after is None:
        raise _refuse(case, step.action)
    changes = _check(case, step, rules)
    return replace(case, state=after, steps=(*case.steps, step.action), **changes)


def _check(case: Case, step: Step, rules: DeadlineRules) -> dict[str, Any]:
    """What ``step`` changes besides the state, after checking it may."""
    a = step.action
    if step.by is not None and step.by == case.complained_staff and a in (A.ASSIGN, A.DECIDE, A.RESOLVE):
        raise Forbidden("the staff member complained about may not handle the case", code="complained_staff")
    if a in (A.REJECT, A.WITHDRAW, A.REOPEN, A.ESCALATE, A.EXTEND, A.TRANSFER) and not step.reason.strip():
        raise InvalidInput(f"{a.value} needs a reason", code="reason_required")
    if a is A.ASSIGN:
        if step.handler is None:
            raise InvalidInput("assign needs a handler", code="handler_required")
        if step.handler == case.complained_staff:
            raise Forbidden("the staff member complained about may not handle the case",
                            code="complained_staff")
        return {"handler": step.handler}
    if a is A.EXTEND:
        return _extend(case, step, rules)
    if a is A.DECIDE:
        if step.outcome is None:
            raise InvalidInput("a decision needs an outcome", code="outcome_required")
        if case.handler is None and case.state is not S.ESCALATED:
            raise InvalidTransition("assign a handler before deciding", code="no_handler")
        return {"decided": True, "outcome": step.outcome}
    if a is A.CLOSE:
        if not case.decided:  # unreachable through the table; kept as the rule's own guard
            raise InvalidTransition("a case closes only after a decision")
        if case.outcome in (Outcome.UPHELD, Outcome.PARTLY_UPHELD) and not case.rectified:
            raise InvalidTransition("an upheld case needs a root cause and a fix before it closes",
                                    code="rectification_required")
        return {}
    if a is A.REOPEN:
        if case.round >= 2:
            raise InvalidTransition("the second round is over: escalate to a superior", code="second_round_done")
        return {"round": 2}
    if a is A.ESCALATE:
        if step.superior is None:
            raise InvalidInput("escalation needs a superior", code="superior_required")
        if step.superior == case.complained_staff:
            raise Forbidden("the staff member complained about may not handle the case", code="complained_staff")
        return {"escalations": case.escalations + 1, "escalated_to": step.superior,
                "handler": step.superior, "round": max(case.round, 2)}
    if a is A.RECTIFY:
        if case.outcome not in (Outcome.UPHELD, Outcome.PARTLY_UPHELD):
            raise InvalidTransition("only an upheld case takes a rectification", code="not_upheld")
        return {"rectified": True, "rectification_checked": False}
    if a is A.RECHECK:
        if not case.rectified:
            raise InvalidTransition("there is no rectification to check", code="no_rectification")
        if step.recheck is None:
            raise InvalidInput("a re-check is done or reopened", code="recheck_required")
        if step.recheck is Recheck.REOPENED:
            return {"rectification_checked": False}
        return {"rectification_checked": True}
    if a is A.MERGE:
        if step.merged_into is None or step.primary_due_on is None:
            raise InvalidInput("merge needs the case to merge into", code="merge_target_required")
        return {"merged_into": step.merged_into, "due_on": step.primary_due_on}
    return {}


def _extend(case: Case, step: Step, rules: DeadlineRules) -> dict[str, Any]:
    if case.extensions == 0 and case.deadline_days < rules.complex_days:
        extra = rules.complex_days - case.deadline_days
    elif case.extensions <= 1:
        if step.approver is None:
            raise InvalidInput("a further extension needs an approver", code="approver_required")
        if step.approver == step.by:
            raise Forbidden("an extension cannot be approved by the one asking for it", code="own_approval")
        extra = rules.further_days
        return {"extensions": 2, "deadline_days": case.deadline_days + extra,
                "due_on": case.due_on + timedelta(days=extra)}
    else:
        raise InvalidTransition("the deadline has been extended as far as the rules allow",
                                code="extension_limit")
    return {"extensions": 1, "deadline_days": case.deadline_days + extra,
            "due_on": case.due_on + timedelta(days=extra)}


# --- contacts ---------------------------------------------------------------------------


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``: the first three and last four digits show."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(email: str) -> str:
    """``zhang.san@example.com`` → ``z***@example.com``."""
    name, _, host = email.partition("@")
    return (name[:1] + "***@" + host) if host else "***"


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``: the surname shows, the rest is starred."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_id_number(number: str) -> str:
    """An ID number with only its last four characters showing."""
    return "*" * max(len(number) - 4, 0) + number[-4:]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values``, by the nearest-rank method (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n*q), at least 1
    return ordered[int(rank) - 1]


@dataclass(frozen=True, slots=True)
class DeadlineAlert:
    """A case whose deadline needs attention: ``complaint_overdue`` (severe) or ``complaint_due_soon``."""

    code: str
    severity: str
    case: int
    number: str
    due_on: date
    days_left: int


def deadline_alerts(
    cases: list[tuple[int, str, CaseState, date]], now: datetime, zone: str, rules: DeadlineRules
) -> list[DeadlineAlert]:
    """The dashboard's complaint alerts from (id, number, state, due day) of the branch's cases,
    overdue first, then by due day; only cases still awaiting a decision count."""
    out = []
    for case_id, number, state, due_on in cases:
        if state not in AWAITING_DECISION:
            continue
        left = days_left(due_on, now, zone)
        if is_overdue(due_on, now, zone):
            out.append(DeadlineAlert("complaint_overdue", "severe", case_id, number, due_on, left))
        elif is_due_soon(due_on, now, zone, rules):
            out.append(DeadlineAlert("complaint_due_soon", "warning", case_id, number, due_on, left))
    return sorted(out, key=lambda a: (a.severity != "severe", a.due_on, a.case))
