"""Emergency mode's rules, as tables and properties: what stops, for how long, in which words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.emergency import (
    ALL,
    Incident,
    IncidentKind,
    IncidentState,
    check_scope,
    check_texts,
    figures,
    issuing_stopped,
    require_active,
    scope_json,
    scope_of,
    stopped_seconds,
    stopped_services,
    text_for,
)
from server.domain.errors import InvalidInput, InvalidTransition, NotFound

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SERVICES = ("A", "B", "C", "D", "E")


def incident(scope: frozenset[str] | None = None, *, drill: bool = False, ended: timedelta | None = None) -> Incident:
    return Incident(IncidentKind.CROWD, scope, drill, T0, T0 + ended if ended is not None else None)


@pytest.mark.parametrize(
    ("inc", "service", "at", "stopped"),
    [
        (None, "A", T0, False),
        (incident(), "A", T0, True),
        (incident(), "E", T0 + timedelta(hours=3), True),
        (incident(frozenset({"A", "B"})), "A", T0, True),
        (incident(frozenset({"A", "B"})), "C", T0, False),
        (incident(drill=True), "C", T0, True),  # a drill stops issuing as an incident does
        (incident(ended=timedelta(minutes=20)), "A", T0 + timedelta(minutes=19), True),
        (incident(ended=timedelta(minutes=20)), "A", T0 + timedelta(minutes=20), False),
        (incident(), "A", T0 - timedelta(seconds=1), False),
    ],
)
def test_issuing_is_stopped_for_the_scope_while_the_incident_is_active(inc, service, at, stopped):
    assert issuing_stopped(inc, service, at) is stopped


def test_stopped_services_keep_the_branchs_order():
    assert stopped_services(incident(frozenset({"D", "B"})), SERVICES, T0) == ["B", "D"]
    assert stopped_services(incident(), SERVICES, T0) == list(SERVICES)
    assert stopped_services(None, SERVICES, T0) == []


@pytest.mark.parametrize(
    ("texts", "language", "shown"),
    [
        ({"zh-CN": "疏散", "en": "Evacuate", "zh-TW": "疏散中"}, "zh-TW", "疏散中"),
        ({"zh-CN": "疏散", "en": "Evacuate"}, "zh-TW", "疏散"),  # zh-TW falls back to zh-CN
        ({"zh-CN": "疏散"}, "en", "疏散"),  # no English: the Chinese, not nothing
        ({"zh-CN": "疏散", "en": "Evacuate"}, "en", "Evacuate"),
        ({"zh-CN": "疏散", "en": "Evacuate"}, "fr", "疏散"),
    ],
)
def test_the_message_is_shown_in_the_screens_language_or_the_nearest_one(texts, language, shown):
    assert text_for(texts, language) == shown


@pytest.mark.parametrize(
    ("texts", "kept"),
    [
        ({"zh-CN": " 疏散 "}, {"zh-CN": "疏散"}),
        ({"zh-CN": "疏散", "en": "  "}, {"zh-CN": "疏散"}),
        ({"zh-CN": "疏散", "zh-TW": "疏散", "en": "Go"}, {"zh-CN": "疏散", "en": "Go", "zh-TW": "疏散"}),
    ],
)
def test_the_message_keeps_what_was_said(texts, kept):
    assert check_texts(texts) == kept


@pytest.mark.parametrize("texts", [{}, {"en": "Evacuate"}, {"zh-CN": "   "}, {"zh-CN": "疏散", "fr": "x"}])
def test_a_message_needs_its_chinese_text_and_known_languages(texts):
    with pytest.raises(InvalidInput):
        check_texts(texts)


@pytest.mark.parametrize(
    ("scope", "kept"),
    [(ALL, None), (["A"], frozenset({"A"})), (["B", "A"], frozenset({"A", "B"})), (list(SERVICES), None)],
)
def test_a_scope_is_all_or_some_of_the_branchs_services(scope, kept):
    assert check_scope(scope, SERVICES) == kept


@pytest.mark.parametrize(("scope", "error"), [("some", InvalidInput), ([], InvalidInput), (["Z"], NotFound),
                                             (["A", "Q"], NotFound)])
def test_a_scope_naming_nothing_or_unknown_services_is_refused(scope, error):
    with pytest.raises(error):
        check_scope(scope, SERVICES)


@given(st.none() | st.frozensets(st.sampled_from(SERVICES), min_size=1))
def test_the_scope_goes_to_the_wire_and_back_unchanged(scope):
    assert scope_of(scope_json(scope)) == scope


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_issuing_stood_still_from_start_to_end_or_to_now(ended_after_s, now_after_s):
    ended = incident(ended=timedelta(seconds=ended_after_s))
    assert stopped_seconds(ended, T0 + timedelta(seconds=now_after_s)) == ended_after_s
    assert stopped_seconds(incident(), T0 + timedelta(seconds=now_after_s)) == now_after_s
    assert stopped_seconds(incident(), T0 - timedelta(seconds=5)) == 0


@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=86400)), max_size=20))
def test_drills_are_counted_apart_from_incidents(runs):
    incidents = [incident(drill=d, ended=timedelta(seconds=s)) for d, s in runs]
    f = figures(incidents, T0 + timedelta(days=2))
    assert f.count == sum(1 for d, _ in runs if not d)
    assert f.drills == sum(1 for d, _ in runs if d)
    assert f.stopped_s == sum(s for d, s in runs if not d)
    assert f.drill_stopped_s == sum(s for d, s in runs if d)


def test_the_lifecycle_is_active_then_ended_once():
    assert incident().state is IncidentState.ACTIVE
    assert incident(ended=timedelta(0)).state is IncidentState.ENDED
    assert require_active(incident()) == incident()
    for ended in (None, incident(ended=timedelta(minutes=1))):
        with pytest.raises(InvalidTransition) as refusal:
            require_active(ended)
        assert refusal.value.code == "no_emergency"
