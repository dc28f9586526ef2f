"""The complaint workflow and deadlines: tables per rule, and properties over any sequence of steps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.complaints import (
    ENDED_STATES,
    TRANSITIONS,
    Case,
    CaseAction,
    CaseState,
    DeadlineRules,
    Outcome,
    Recheck,
    Step,
    apply,
    days_left,
    due_date,
    end_of_day,
    is_due_soon,
    is_overdue,
    mask_email,
    mask_id_number,
    mask_phone,
    new_case,
    percentile,
)
from server.domain.errors import BranchqError, Forbidden, InvalidInput, InvalidTransition

A, S = CaseAction, CaseState
RULES = DeadlineRules()
ZONE = "Asia/Shanghai"
TELLER, HANDLER, MANAGER, SUPERIOR = 5, 7, 2, 1


def case(state: CaseState = S.RECEIVED, **fields) -> Case:
    base = new_case(datetime(2026, 3, 2, 2, tzinfo=UTC), ZONE, RULES, complained_staff=TELLER)
    return Case(**{**{f: getattr(base, f) for f in base.__slots__}, "state": state, **fields})


def step(action: CaseAction, **fields) -> Step:
    defaults = {
        A.REJECT: {"reason": "not ours"}, A.WITHDRAW: {"reason": "sorted"}, A.REOPEN: {"reason": "unhappy"},
        A.ESCALATE: {"reason": "still unhappy", "superior": SUPERIOR}, A.EXTEND: {"reason": "complex"},
        A.TRANSFER: {"reason": "cards"}, A.ASSIGN: {"handler": HANDLER}, A.DECIDE: {"outcome": Outcome.NOT_UPHELD},
        A.MERGE: {"merged_into": 1, "primary_due_on": date(2026, 3, 10)}, A.RECHECK: {"recheck": Recheck.DONE},
    }.get(action, {})
    return Step(action, **{"by": MANAGER, **defaults, **fields})


# --- the transition table, every state × action -------------------------------------------

@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("action", list(CaseAction))
def test_every_state_and_action_is_either_in_the_table_or_refused_as_invalid_transition(state, action):
    ready = case(state, handler=HANDLER, decided=state in (S.DECIDED, S.CLOSED),
                 outcome=Outcome.UPHELD, rectified=True)
    if (state, action) not in TRANSITIONS:
        with pytest.raises(InvalidTransition):
            apply(ready, step(action), RULES)
        return
    try:
        after = apply(ready, step(action), RULES)
    except BranchqError as refusal:  # the table allows it, a rule of the step refuses this one
        assert not isinstance(refusal, InvalidTransition) or refusal.code != "invalid_transition"
        return
    assert after.state is TRANSITIONS[(state, action)]


@pytest.mark.parametrize("state", sorted(ENDED_STATES - {S.CLOSED}))
def test_an_ended_case_takes_no_step(state):
    for action in CaseAction:
        with pytest.raises(InvalidTransition):
            apply(case(state), step(action), RULES)


@pytest.mark.parametrize(("state", "action", "after"), [
    (S.RECEIVED, A.ACCEPT, S.ACCEPTED),
    (S.RECEIVED, A.REJECT, S.REJECTED),
    (S.ACCEPTED, A.ASSIGN, S.HANDLING),
    (S.HANDLING, A.RESOLVE, S.RESOLVED),
    (S.HANDLING, A.TRANSFER, S.TRANSFERRED),
    (S.TRANSFERRED, A.DECIDE, S.DECIDED),
    (S.DECIDED, A.CLOSE, S.CLOSED),
    (S.DECIDED, A.REOPEN, S.SECOND_ROUND),
    (S.SECOND_ROUND, A.DECIDE, S.DECIDED),
    (S.DECIDED, A.ESCALATE, S.ESCALATED),
    (S.ESCALATED, A.DECIDE, S.DECIDED),
    (S.HANDLING, A.WITHDRAW, S.WITHDRAWN),
    (S.RECEIVED, A.MERGE, S.MERGED),
])
def test_the_workflow_of_the_rules(state, action, after):
    ready = case(state, handler=HANDLER, decided=state is S.DECIDED)
    assert apply(ready, step(action), RULES).state is after


@pytest.mark.parametrize("state", [S.RECEIVED, S.ACCEPTED, S.HANDLING, S.RESOLVED, S.TRANSFERRED,
                                   S.SECOND_ROUND, S.ESCALATED])
def test_a_case_closes_only_after_a_decision(state):
    with pytest.raises(InvalidTransition):
        apply(case(state, handler=HANDLER), step(A.CLOSE), RULES)


# --- the staff complained about ----------------------------------------------------------

def test_the_staff_member_complained_about_may_not_be_assigned():
    with pytest.raises(Forbidden) as refusal:
        apply(case(S.ACCEPTED), step(A.ASSIGN, handler=TELLER), RULES)
    assert refusal.value.code == "complained_staff"


@pytest.mark.parametrize("action", [A.DECIDE, A.RESOLVE])
def test_the_staff_member_complained_about_may_not_decide_or_resolve(action):
    with pytest.raises(Forbidden):
        apply(case(S.HANDLING, handler=HANDLER), step(action, by=TELLER), RULES)


def test_a_decision_needs_a_handler():
    with pytest.raises(InvalidTransition) as refusal:
        apply(case(S.SECOND_ROUND), step(A.DECIDE), RULES)
    assert refusal.value.code == "no_handler"


# --- second round and escalation ----------------------------------------------------------

def test_the_second_round_comes_once_then_a_superior():
    c = case(S.HANDLING, handler=HANDLER)
    c = apply(c, step(A.DECIDE), RULES)
    c = apply(c, step(A.REOPEN), RULES)
    assert (c.state, c.round) == (S.SECOND_ROUND, 2)
    c = apply(c, step(A.DECIDE), RULES)
    with pytest.raises(InvalidTransition) as refusal:
        apply(c, step(A.REOPEN), RULES)
    assert refusal.value.code == "second_round_done"
    c = apply(c, step(A.ESCALATE), RULES)
    assert (c.state, c.escalations, c.escalated_to, c.handler) == (S.ESCALATED, 1, SUPERIOR, SUPERIOR)


def test_escalation_needs_a_superior_and_a_reason():
    with pytest.raises(InvalidInput):
        apply(case(S.HANDLING, handler=HANDLER), step(A.ESCALATE, superior=None), RULES)
    with pytest.raises(InvalidInput):
        apply(case(S.HANDLING, handler=HANDLER), step(A.ESCALATE, reason=" "), RULES)


# --- deadlines ----------------------------------------------------------------------------

@pytest.mark.parametrize(("received_utc", "complex_case", "due"), [
    (datetime(2026, 3, 2, 2, tzinfo=UTC), False, date(2026, 3, 17)),  # 10:00 in Shanghai on the 2nd
    (datetime(2026, 3, 1, 16, 30, tzinfo=UTC), False, date(2026, 3, 17)),  # 00:30 on the 2nd there
    (datetime(2026, 3, 1, 15, 59, tzinfo=UTC), False, date(2026, 3, 16)),  # 23:59 on the 1st there
    (datetime(2026, 3, 2, 2, tzinfo=UTC), True, date(2026, 4, 1)),
    (datetime(2026, 2, 14, 2, tzinfo=UTC), False, date(2026, 3, 1)),  # across February
])
def test_the_deadline_counts_calendar_days_from_the_day_of_receipt_in_the_branch_zone(received_utc, complex_case,
                                                                                     due):
    assert new_case(received_utc, ZONE, RULES, complex_case=complex_case).due_on == due


def test_due_at_is_the_end_of_the_due_day_on_the_branch_clock():
    end = end_of_day(date(2026, 3, 17), ZONE)
    assert end.astimezone(UTC) == datetime(2026, 3, 17, 15, 59, 59, tzinfo=UTC)
    assert not is_overdue(date(2026, 3, 17), datetime(2026, 3, 17, 15, 59, 59, tzinfo=UTC), ZONE)
    assert is_overdue(date(2026, 3, 17), datetime(2026, 3, 17, 16, 0, 0, tzinfo=UTC), ZONE)


@pytest.mark.parametrize(("now", "left", "soon"), [
    (datetime(2026, 3, 13, 15, 59, tzinfo=UTC), 4, False),  # 23:59 on the 13th in Shanghai
    (datetime(2026, 3, 13, 16, 0, tzinfo=UTC), 3, True),  # 00:00 on the 14th there
    (datetime(2026, 3, 17, 12, tzinfo=UTC), 0, True),
    (datetime(2026, 3, 17, 16, tzinfo=UTC), -1, False),  # overdue, no longer "due soon"
])
def test_due_soon_is_three_days_or_less_counted_in_the_branch_zone(now, left, soon):
    assert days_left(date(2026, 3, 17), now, ZONE) == left
    assert is_due_soon(date(2026, 3, 17), now, ZONE, RULES) is soon


def test_extensions_fifteen_to_thirty_with_a_reason_then_thirty_more_with_an_approver():
    c = case(S.HANDLING, handler=HANDLER)
    with pytest.raises(InvalidInput):
        apply(c, step(A.EXTEND, reason=""), RULES)
    c = apply(c, step(A.EXTEND), RULES)
    assert (c.deadline_days, c.due_on, c.extensions) == (30, date(2026, 4, 1), 1)
    with pytest.raises(InvalidInput) as refusal:
        apply(c, step(A.EXTEND), RULES)
    assert refusal.value.code == "approver_required"
    with pytest.raises(Forbidden):
        apply(c, step(A.EXTEND, approver=MANAGER), RULES)
    c = apply(c, step(A.EXTEND, approver=SUPERIOR), RULES)
    assert (c.deadline_days, c.due_on, c.extensions) == (60, date(2026, 5, 1), 2)
    with pytest.raises(InvalidTransition):
        apply(c, step(A.EXTEND, approver=SUPERIOR), RULES)


def test_a_merged_duplicate_takes_the_first_deadline():
    first = case(S.HANDLING, handler=HANDLER)
    duplicate = Case(S.RECEIVED, date(2026, 3, 9), due_date(date(2026, 3, 9), 15), 15)
    merged = apply(duplicate, step(A.MERGE, merged_into=1, primary_due_on=first.due_on), RULES)
    assert (merged.state, merged.due_on, merged.merged_into) == (S.MERGED, first.due_on, 1)


def test_an_upheld_case_closes_only_with_a_rectification():
    c = apply(case(S.HANDLING, handler=HANDLER), step(A.DECIDE, outcome=Outcome.UPHELD), RULES)
    with pytest.raises(InvalidTransition) as refusal:
        apply(c, step(A.CLOSE), RULES)
    assert refusal.value.code == "rectification_required"
    c = apply(c, step(A.RECTIFY), RULES)
    c = apply(apply(c, step(A.CLOSE), RULES), step(A.RECHECK, recheck=Recheck.REOPENED), RULES)
    assert (c.state, c.rectification_checked) == (S.CLOSED, False)
    assert apply(c, step(A.RECHECK), RULES).rectification_checked


@pytest.mark.parametrize(("value", "masked"), [
    ("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"), ("12345", "*****"),
])
def test_phone_numbers_are_masked_to_their_first_three_and_last_four_digits(value, masked):
    assert mask_phone(value) == masked


def test_other_masks():
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    assert mask_id_number("11010519491231002X") == "**************002X"


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9), ([5], 0.9, 5), ([], 0.9, None), ([3, 1, 2], 0.5, 2),
])
def test_percentile_by_nearest_rank(values, q, expected):
    assert percentile(values, q) == expected


# --- properties over any sequence of steps -------------------------------------------------

staff = st.sampled_from([TELLER, HANDLER, MANAGER, SUPERIOR, None])
steps = st.builds(
    Step,
    action=st.sampled_from(list(CaseAction)),
    by=staff,
    handler=staff,
    approver=staff,
    reason=st.sampled_from(["", "why"]),
    outcome=st.sampled_from([None, *Outcome]),
    superior=staff,
    merged_into=st.sampled_from([None, 1]),
    primary_due_on=st.sampled_from([None, date(2026, 3, 5)]),
    recheck=st.sampled_from([None, *Recheck]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=30), st.booleans())
def test_any_sequence_keeps_the_rules(sequence, complex_case):
    c = new_case(datetime(2026, 3, 2, 2, tzinfo=UTC), ZONE, RULES, complex_case=complex_case,
                 complained_staff=TELLER)
    assert c.due_on is not None
    first_due = c.due_on
    history: list[CaseAction] = []
    for s in sequence:
        try:
            c = apply(c, s, RULES)
        except BranchqError:
            continue
        history.append(s.action)
        # every case has a deadline, never before the first one, never beyond 15/30 + 30 days
        assert first_due <= c.due_on or c.state is S.MERGED
        assert c.deadline_days <= RULES.complex_days + RULES.further_days
        # the handler is never the staff member complained about
        assert c.handler != TELLER
        # an escalated case has an escalation step
        if c.state is S.ESCALATED:
            assert A.ESCALATE in history and c.escalations >= 1 and c.escalated_to is not None
        # no path closes a case without a decision
        if c.state is S.CLOSED:
            assert A.DECIDE in history and c.decided
            assert history[history.index(A.CLOSE) - 1] in (A.DECIDE, A.RECTIFY, A.RECHECK)
        assert c.steps == tuple(history)
