"""Emergency mode: an incident (or a drill) that stops issuing for some or all services.

A branch manager starts an incident with a kind, a scope and a message; while it is
active, no kiosk issues a ticket of a service in its scope, and no counter calls a new
one of those services (counters finish the tickets already called: a customer at the
window is served to the end, but nobody new is called to a counter of a branch that is
evacuating or whose systems are down). Ending it restores everything.

The rules, each a pure function of the incident and ``now``:

:func:`issuing_stopped`
    Issuing of service S is stopped now when an incident is active and its scope is the
    whole branch or holds S. A drill stops issuing exactly as an incident does (a drill
    that does not act is not a drill); it is only kept out of the KPIs.
:func:`text_for`
    The message in a screen's language: the language's own text when given, else the
    nearest one (zh-TW falls back to zh-CN, zh-CN to zh-TW, en to zh-CN); zh-CN is required.
:func:`stopped_seconds`
    How long issuing stopped: from start to end (or to ``now`` while active).
:func:`check_scope`
    A scope is ``"all"`` or a non-empty list of the branch's service codes.

The lifecycle is ``active → ended`` (once; an ended incident is history). One incident is
active per branch at most: a second start while one is active is refused (409
``emergency_active``) rather than merged, so that what every screen shows was said by one
manager once; a wider scope is the first one's end and a new start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import InvalidInput, InvalidTransition, NotFound

#: The scope that covers every service of the branch.
ALL = "all"
#: The languages an incident's message may be given in, zh-CN first (required).
LANGUAGES = ("zh-CN", "en", "zh-TW")
#: Where a language without its own text looks next.
FALLBACK: dict[str, tuple[str, ...]] = {
    "zh-CN": ("zh-CN", "zh-TW", "en"),
    "zh-TW": ("zh-TW", "zh-CN", "en"),
    "en": ("en", "zh-CN", "zh-TW"),
}


class IncidentKind(StrEnum):
    """What happened (the bank's emergency plans: system failure, natural disaster, crowd incident)."""

    SYSTEM_FAILURE = "system_failure"
    DISASTER = "disaster"
    CROWD = "crowd"
    OTHER = "other"


class IncidentState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EntryKind(StrEnum):
    """One line of an incident's timeline."""

    STARTED = "started"
    NOTE = "note"
    ACTION = "action"
    REPORTED_UPWARD = "reported_upward"
    ENDED = "ended"


#: What a manager may add to an active incident's timeline by hand.
MANUAL_ENTRIES = (EntryKind.NOTE, EntryKind.ACTION)


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as the rules see it. ``scope`` None: the whole branch."""

    kind: IncidentKind
    scope: frozenset[str] | None
    drill: bool
    started_at: datetime
    ended_at: datetime | None = None

    @property
    def state(self) -> IncidentState:
        return IncidentState.ACTIVE if self.ended_at is None else IncidentState.ENDED

    def covers(self, service: str) -> bool:
        """Whether ``service`` is in the scope (whatever the state)."""
        return self.scope is None or service in self.scope


def issuing_stopped(incident: Incident | None, service: str, now: datetime) -> bool:
    """Whether issuing (and calling new tickets) of ``service`` is stopped at ``now``."""
    if incident is None or not incident.covers(service):
        return False
    if now < incident.started_at:
        return False
    return incident.ended_at is None or now < incident.ended_at


def stopped_services(incident: Incident | None, services: Iterable[str], now: datetime) -> list[str]:
    """The codes of ``services`` whose issuing is stopped at ``now``, in their order."""
    return [s for s in services if issuing_stopped(incident, s, now)]


def stopped_seconds(incident: Incident, now: datetime) -> int:
    """Seconds issuing stood still: start to end, or to ``now`` while active (never negative)."""
    end = incident.ended_at if incident.ended_at is not None else now
    return max(0, int((end - incident.started_at).total_seconds()))


def text_for(texts: Mapping[str, str], language: str) -> str:
    """The message in ``language``, or the nearest one given (see :data:`FALLBACK`)."""
    for lang in FALLBACK.get(language, LANGUAGES):
        text = texts.get(lang)
        if text:
            return text
    return ""


def check_texts(texts: Mapping[Any, str]) -> dict[str, str]:
    """The message's texts, blanks dropped: zh-CN is required, other languages are optional.

    Raises:
        InvalidInput: no zh-CN text, or a language that is not one of :data:`LANGUAGES`.
    """
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise InvalidInput(f"no language {', '.join(unknown)}: the message is in {', '.join(LANGUAGES)}")
    kept = {lang: texts[lang].strip() for lang in LANGUAGES if texts.get(lang, "").strip()}
    if "zh-CN" not in kept:
        raise InvalidInput("an emergency needs its zh-CN message")
    return kept


def check_scope(scope: str | Sequence[str], services: Iterable[str]) -> frozenset[str] | None:
    """``scope`` as the rules keep it (None: every service).

    Raises:
        InvalidInput: an empty list, or a word other than ``"all"``.
        NotFound: a service code the branch has not.
    """
    if isinstance(scope, str):
        if scope != ALL:
            raise InvalidInput(f'the scope is "{ALL}" or a list of service codes, not {scope!r}')
        return None
    if not scope:
        raise InvalidInput("the scope names at least one service (or is \"all\")")
    known = set(services)
    unknown = sorted(set(scope) - known)
    if unknown:
        raise NotFound(f"no service {', '.join(unknown)} in this branch")
    if set(scope) == known:
        return None
    return frozenset(scope)


def scope_json(scope: frozenset[str] | None) -> str | list[str]:
    """The scope as the wire and the database carry it: ``"all"`` or the sorted codes."""
    return ALL if scope is None else sorted(scope)


def scope_of(value: object) -> frozenset[str] | None:
    """The inverse of :func:`scope_json`."""
    if value == ALL or value is None:
        return None
    assert isinstance(value, list)
    return frozenset(str(v) for v in value)


def require_active(incident: Incident | None) -> Incident:
    """The active incident, or :class:`InvalidTransition` (nothing to add to, nothing to end)."""
    if incident is None or incident.state is not IncidentState.ACTIVE:
        raise InvalidTransition("no emergency is in force in this branch", code="no_emergency")
    return incident


@dataclass(frozen=True, slots=True)
class IncidentFigures:
    """What the summary report says of a period's incidents (drills apart)."""

    count: int
    stopped_s: int
    drills: int
    drill_stopped_s: int


def figures(incidents: Iterable[Incident], now: datetime) -> IncidentFigures:
    """Count and stopped-issuing time of real incidents, with drills counted apart (kept out of KPIs)."""
    real = drills = real_s = drill_s = 0
    for incident in incidents:
        seconds = stopped_seconds(incident, now)
        if incident.drill:
            drills, drill_s = drills + 1, drill_s + seconds
        else:
            real, real_s = real + 1, real_s + seconds
    return IncidentFigures(real, real_s, drills, drill_s)
