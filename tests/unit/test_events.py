"""The event catalogue: every kind defined once, with what each view may see of it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from server.domain import events
from server.domain.events import CATALOGUE, UndefinedEvent, kind_named, project
from server.protocol import SERVER_EVENT

ROOT = Path(__file__).resolve().parents[2]

TICKET = {"id": 7, "number": "A007", "service": "A", "priority": "normal", "state": "called", "counter": 3}


def test_an_undefined_kind_is_refused():
    with pytest.raises(UndefinedEvent):
        kind_named("ticket.teleported")


@pytest.mark.parametrize(
    "data",
    [
        {**TICKET, "token": "secret"},  # a key the kind does not have
        {k: v for k, v in TICKET.items() if k != "number"},  # a required key missing
        {**TICKET, "counter": "3"},  # the wrong type
        {**TICKET, "number": None},  # null where it may not be
        {**TICKET, "id": True},  # a bool is not a ticket id
    ],
)
def test_data_that_the_kind_does_not_define_is_refused(data):
    with pytest.raises(UndefinedEvent):
        events.TICKET_CALLED.check(data)


def test_defined_data_passes():
    events.TICKET_CALLED.check(TICKET)
    events.TICKET_TRANSFERRED.check({**TICKET, "from_counter": 3, "position": "last"})
    events.TICKET_TRANSFERRED.check({**TICKET, "from_counter": 3, "position": "last", "to_counter": 4})


# Who sees what: the rules the hub applied before the catalogue, now read from it.
ISSUED = {**TICKET, "state": "waiting", "counter": None, "ahead": 2, "estimated_wait_s": 300, "device": 5}


@pytest.mark.parametrize(
    ("kind", "data", "view", "own", "expected"),
    [
        ("ticket.issued", ISSUED, "dashboard", False, ISSUED),
        ("ticket.issued", ISSUED, "counter", False, ISSUED),
        ("ticket.issued", ISSUED, "display", False,
         {"id": 7, "number": "A007", "service": "A", "priority": "normal", "state": "waiting", "counter": None}),
        ("ticket.issued", ISSUED, "kiosk", False,
         {"service": "A", "priority": "normal", "state": "waiting", "counter": None}),
        ("ticket.issued", ISSUED, "kiosk", True,
         {"id": 7, "number": "A007", "service": "A", "priority": "normal", "state": "waiting", "counter": None,
          "ahead": 2, "estimated_wait_s": 300}),
        ("ticket.issued", ISSUED, "evaluator", False, None),
        ("ticket.called", TICKET, "evaluator", False,
         {"number": "A007", "service": "A", "state": "called", "counter": 3}),
        ("feedback.given", {**TICKET, "score": 5}, "display", False, None),
        ("feedback.given", {**TICKET, "score": 5}, "dashboard", False, {**TICKET, "score": 5}),
        ("device.status", {"device": 5, "name": "k", "kind": "kiosk", "status": {}}, "kiosk", True,
         {"device": 5, "name": "k", "kind": "kiosk", "status": {}}),
        ("device.status", {"device": 5, "name": "k", "kind": "kiosk", "status": {}}, "kiosk", False, None),
        ("device.status", {"device": 5, "name": "k", "kind": "kiosk", "status": {}}, "display", False, None),
        # The board shows the fixed reason only; the teller's own words stay on staff screens.
        ("counter.paused", {"counter": 2, "state": "paused", "code": "meal", "reason": "lunch"}, "display", False,
         {"counter": 2, "state": "paused", "code": "meal"}),
        ("counter.paused", {"counter": 2, "state": "paused", "code": "meal", "reason": "lunch"}, "kiosk", False,
         {"counter": 2, "state": "paused"}),
        ("counter.paused", {"counter": 2, "state": "paused", "code": "meal", "reason": "lunch"}, "counter", False,
         {"counter": 2, "state": "paused", "code": "meal", "reason": "lunch"}),
        ("counter.opened", {"counter": 2, "state": "open", "staff": "Wang", "takeover": False}, "display", False,
         {"counter": 2, "state": "open"}),
        ("staff.disabled", {"staff": 4}, "display", False, None),
        ("notice.posted", {"id": 1, "level": "emergency"}, "kiosk", False, {"level": "emergency"}),
        ("ticket.called", TICKET, "nobody", False, None),
    ],
)
def test_each_view_sees_what_the_catalogue_marks_for_it(kind, data, view, own, expected):
    kind_named(kind).check(data)
    assert project(kind_named(kind), data, view, own=own) == expected


def test_no_customer_data_is_in_any_event():
    secret = {"token", "green_reason", "comment", "contact", "phone", "email", "password"}
    for kind in CATALOGUE.values():
        assert not secret & set(kind.by_name), kind.name


def test_every_kind_has_a_wire_model():
    for name in CATALOGUE:
        event = SERVER_EVENT.validate_python(
            {"type": "event", "seq": 1, "kind": name, "at": "2026-03-02T01:30:00Z", "data": {}}
        )
        assert event.kind == name


def _emitted_kinds() -> list[tuple[str, str]]:
    """(file, argument) of every ``emit``/``emit_ticket``/``emit_counter`` call in the server."""
    found = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("emit", "emit_ticket", "emit_counter")
                and node.args
            ):
                found.append((str(path.relative_to(ROOT)), ast.unparse(node.args[0])))
    return found


def test_every_emitted_event_names_a_defined_kind():
    """Emitters pass a definition (``TICKET_CALLED``), never a string nobody defined."""
    emitted = _emitted_kinds()
    assert emitted, "no emit calls found: the scan is broken"
    for path, argument in emitted:
        if argument == "kind":  # the helpers that pass a definition on
            continue
        assert argument.isupper() and hasattr(events, argument), f"{path}: emit({argument})"
        assert isinstance(getattr(events, argument), events.EventKind), f"{path}: emit({argument})"


def test_the_ticket_kinds_list_holds_every_ticket_kind():
    # A reprint request moves no ticket: it is the kiosk's printer's business alone.
    moving = {name for name in CATALOGUE if name.startswith("ticket.")} - {"ticket.reprint_requested"}
    assert set(events.TICKET_KINDS) == moving
    assert set(events.COUNTER_KINDS) == {name for name in CATALOGUE if name.startswith("counter.")}
