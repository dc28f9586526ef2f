"""Inspections and rectification (整改): the checklist, the rectification's lifecycle, the bulletin.

A :class:`Checklist` is a list of items in categories, each with its text in zh-CN, en and
zh-TW (configured in YAML; :func:`checklist_from` reads the parsed document). An
inspection answers every item, passed or failed; each failed item gets a rectification
notice (owner, requirement, deadline), which then goes:

    open ──report──► reported ──close──► closed
                        │
                        └──reopen──► reopened ──report──► reported …

The owner reports the fix; the inspector re-checks it and closes or reopens it (with a new
deadline, or the old one). A notice still ``open`` or ``reopened`` past its deadline is
overdue: it is escalated once per deadline (:func:`is_overdue`).

The monthly bulletin (:func:`bulletin`) gives the pass rate by item and by branch, the
open and overdue rectifications, and the best and worst branches by pass rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import Conflict, InvalidInput

LANGUAGES = ("zh-CN", "en", "zh-TW")


@dataclass(frozen=True)
class Item:
    code: str
    category: str
    texts: Mapping[str, str]


@dataclass(frozen=True)
class Checklist:
    name: str
    categories: Mapping[str, Mapping[str, str]]
    """Category code → its name in each language, in order."""
    items: tuple[Item, ...]

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name,
                "categories": [{"code": c, "texts": dict(t)} for c, t in self.categories.items()],
                "items": [{"code": i.code, "category": i.category, "texts": dict(i.texts)} for i in self.items]}


def _texts(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) or not value[lang].strip()
                                          for lang in LANGUAGES):
        raise InvalidInput(f"{where}: texts in {', '.join(LANGUAGES)}")
    return {lang: value[lang] for lang in LANGUAGES}


def checklist_from(doc: object) -> Checklist:
    """The checklist a YAML document describes: ``name``, ``categories`` (code → texts), ``items``
    (each ``code``, ``category``, ``texts``); item codes unique, each in a known category."""
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise InvalidInput("a checklist has a name, categories and items")
    cats = doc.get("categories")
    items = doc.get("items")
    if not isinstance(cats, dict) or not cats or not isinstance(items, list) or not items:
        raise InvalidInput("a checklist has categories and items")
    categories = {str(code): _texts(texts, f"category {code}") for code, texts in cats.items()}
    seen: set[str] = set()
    out = []
    for raw in items:
        if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
            raise InvalidInput("each item has a code")
        code = raw["code"]
        if code in seen or len(code) > 40:
            raise InvalidInput(f"item {code}: codes are unique, at most 40 characters")
        if raw.get("category") not in categories:
            raise InvalidInput(f"item {code}: its category is not among the checklist's")
        seen.add(code)
        out.append(Item(code, raw["category"], _texts(raw.get("texts"), f"item {code}")))
    return Checklist(doc["name"], categories, tuple(out))


# --- rectification ------------------------------------------------------------------------


class RectState(StrEnum):
    OPEN = "open"
    REPORTED = "reported"
    REOPENED = "reopened"
    CLOSED = "closed"


class RectAction(StrEnum):
    REPORT = "report"
    CLOSE = "close"
    REOPEN = "reopen"


TRANSITIONS: dict[tuple[RectState, RectAction], RectState] = {
    (RectState.OPEN, RectAction.REPORT): RectState.REPORTED,
    (RectState.REOPENED, RectAction.REPORT): RectState.REPORTED,
    (RectState.REPORTED, RectAction.CLOSE): RectState.CLOSED,
    (RectState.REPORTED, RectAction.REOPEN): RectState.REOPENED,
}
#: The states in which the owner still has to act (and a deadline can pass).
OWNER_TO_ACT = frozenset({RectState.OPEN, RectState.REOPENED})


def next_state(state: str, action: RectAction) -> RectState:
    """The state after ``action``; :class:`Conflict` (``bad_state``) when it does not apply."""
    found = TRANSITIONS.get((RectState(state), action))
    if found is None:
        raise Conflict(f"a rectification that is {state} cannot be {action.value}ed", code="bad_state")
    return found


def is_overdue(state: str, deadline: datetime, escalated_at: datetime | None, now: datetime) -> bool:
    """Whether to escalate now: the owner still has to act, the deadline has passed, and it was
    not escalated since that deadline was set (a reopen with a new deadline starts again)."""
    return RectState(state) in OWNER_TO_ACT and now > deadline and escalated_at is None


# --- the bulletin -------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    branch: str
    item: str
    passed: bool


@dataclass(frozen=True)
class RectView:
    branch: str
    state: str
    deadline: datetime


def _rate(passed: int, total: int) -> float | None:
    return round(passed / total, 4) if total else None


def bulletin(findings: Iterable[Finding], rects: Iterable[RectView], *, now: datetime,
             top: int = 3) -> dict[str, object]:
    """Pass rates by item and by branch, open and overdue rectifications, best and worst branches.

    Best: highest pass rate first (ties by fewer overdue, then by id); worst: the reverse.
    Branches without findings are listed with a rate of None and ranked in neither.
    """
    by_item: dict[str, list[int]] = {}
    by_branch: dict[str, dict[str, int]] = {}
    for f in findings:
        tally = by_item.setdefault(f.item, [0, 0])
        tally[0] += f.passed
        tally[1] += 1
        b = by_branch.setdefault(f.branch, {"passed": 0, "checked": 0, "open": 0, "overdue": 0})
        b["passed"] += f.passed
        b["checked"] += 1
    for r in rects:
        b = by_branch.setdefault(r.branch, {"passed": 0, "checked": 0, "open": 0, "overdue": 0})
        if r.state != RectState.CLOSED:
            b["open"] += 1
            if RectState(r.state) in OWNER_TO_ACT and now > r.deadline:
                b["overdue"] += 1
    branches = [
        {"branch": bid, **t, "pass_rate": _rate(t["passed"], t["checked"])} for bid, t in sorted(by_branch.items())
    ]
    ranked = [b for b in branches if b["pass_rate"] is not None]
    best = sorted(ranked, key=lambda b: (-b["pass_rate"], b["overdue"], b["branch"]))  # type: ignore[operator]
    worst = sorted(ranked, key=lambda b: (b["pass_rate"], -b["overdue"], b["branch"]))  # type: ignore[operator]
    return {
        "items": [{"item": code, "passed": p, "checked": n, "pass_rate": _rate(p, n)}
                  for code, (p, n) in sorted(by_item.items())],
        "branches": branches,
        "open": sum(b["open"] for b in by_branch.values()),
        "overdue": sum(b["overdue"] for b in by_branch.values()),
        "best": [b["branch"] for b in best[:top]],
        "worst": [b["branch"] for b in worst[:top]],
    }
