"""Every operation of the OpenAPI document, fuzzed by schemathesis against a real server.

A ``branchq serve --demo`` process is started on the test's database; the document is
loaded from its ``/api/v1/openapi.json``; each operation runs a few examples that
schemathesis generates from the document (a fixed seed: the same examples every run),
as the signed-in admin, or with the demo device token the operation needs. Each answer
must:

- never be a server error (5xx);
- have a status, a content type and a body the document declares for the operation;
- not refuse as malformed (400) input that the document says is well formed, unless the
  refusal is one of :data:`RULES_THE_SCHEMA_CANNOT_STATE` (a rule across a path and a
  body, across dates, or a look-up in the database).

Generated examples that break the document ("negative" data) are sent as well, where the
document leaves room for them; they must be refused without a server error, as declared.

Half the examples are steered to the demo branch, its counters and its services, so that
they get past "not found". SQLite runs every operation; PostgreSQL every operation with a
``{branch}`` (the text of a path reaches its queries there).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

#: Examples per operation (schemathesis stops earlier when an operation has fewer distinct ones).
EXAMPLES = {GenerationMode.POSITIVE: int(os.environ.get("BRANCHQ_FUZZ_EXAMPLES", "6")),
            GenerationMode.NEGATIVE: int(os.environ.get("BRANCHQ_FUZZ_NEGATIVE_EXAMPLES", "3"))}
DEMO_DEVICES = {"print": "demo-kiosk", "device_self": "demo-kiosk", "rate_at_counter": "demo-evaluator"}
CHARTS = ("arrivals", "waits", "sla")

#: Refusals (400) of well-formed input for reasons a JSON Schema cannot state, each one the
#: server's own message: rules between two dates, between the path and the body, or against
#: what the database holds.
RULES_THE_SCHEMA_CANNOT_STATE = (
    "to is before from",
    "a report covers at most 366 days",
    "to is on or after from, at most 366 days on",  # the breach report's period: two dates
    re.compile(r"the document describes branch '.*', not '.*'"),  # the path's branch vs the body's id
    re.compile(r"branch '.*' has no counter"),  # a staff member's counters must exist
    "is not a series of this branch",  # an announcement's ticket letter, against the branch's services
    "a ticket cannot be transferred to the counter it is at",  # the body's counter vs the path's
    "staff_reserve is a share of daily_cap",  # one number no larger than another
    "an evaluator needs the number of the counter it faces",  # a field required by another's value
    "complex_days may not be fewer than standard_days",  # one number no smaller than another
    "is the limit past the target",  # a service's maximum no smaller than its target
    "unknown complaint category",  # against the branch's configured list of categories
    "a contact needs a phone number or an e-mail address",  # one of two fields required
    "give owner, requirement and deadline",  # fields required by another's value (a failed item)
    "received_at may not be in the future",  # a complaint's receipt time against the clock
    "received_at is more than a year ago",
    "bands: the lowest band starts at 0",  # one of a list's items must hold a value
    re.compile(r"(weights|efficiency_weights): (unknown part|give at least one part)"),  # keys of a mapping
    "bands: each name once",  # unique items of a list by one field
    "only a failed item names a staff member",  # a field allowed by another's value (passed: none)
    re.compile(r"Input should be (greater|less) than or equal to 2[01]00-"),  # a date's bounds: JSON Schema states none
    re.compile(r"^text: String should have at least 1 character"),  # stripped of spaces first
    re.compile(r"email: String should match pattern"),  # \s is wider in Python's regular expressions
    "the handler must be an active manager or admin",  # a look-up of the staff member named
    "merge into another open case of this branch",  # a look-up of the case named
    # A notification template's placeholders and length, against its kind and the branch's max_length.
    re.compile(r"templates\.[^:]*: (unknown message kind|unknown language)"),
    re.compile(r"templates\.[^:]*\.(subject|text): (unknown placeholder|\{.*\} is not a placeholder|not a template|"
               r"\d+ characters, more than max_length)"),
)


def _stated(message: str) -> bool:
    return any(r.search(message) if isinstance(r, re.Pattern) else r in message for r in RULES_THE_SCHEMA_CANNOT_STATE)


def schema_valid_input_is_not_refused_as_malformed(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schemathesis check: the server refuses (400) no input the document accepts."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    if not _stated(message):
        raise AssertionError(f"schema-valid input refused as malformed: {message}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    schema_valid_input_is_not_refused_as_malformed,
]


class Fuzz:
    """The server under test, its document, and who sends each operation."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        document = requests.get(base_url + "/api/v1/openapi.json", timeout=30).json()
        self.schema = schemathesis.openapi.from_dict(document)
        self.admin = requests.Session()
        resp = self.admin.post(base_url + "/api/v1/auth/login", json={"username": "admin", "password": "demo-pass"})
        assert resp.status_code == 200, resp.text
        self.admin_id = resp.json()["id"]
        # An account the staff operations may change and reset at will (never the admin's own).
        resp = self.admin.post(base_url + "/api/v1/admin/staff", json={
            "username": "fuzzed", "password": "fuzzed-pass", "role": "teller", "branch": "demo"})
        assert resp.status_code == 201, resp.text
        self.spare_id = resp.json()["id"]
        self.failures: list[str] = []
        self.runs = 0

    def operations(self, keep: Callable[[str], bool]) -> list[Any]:
        found = [result.ok() for result in self.schema.get_all_operations()]
        return [op for op in found if keep(op.path)]

    def steer(self, data: st.DataObject, op: Any, case: Any) -> None:
        """Half the time, name the demo branch and one of its counters, services or charts."""
        params = case.path_parameters or {}
        if "branch" in params and data.draw(st.booleans()):
            params["branch"] = "demo"
        if "number" in params and not op.path.endswith(".wav") and data.draw(st.booleans()):
            params["number"] = str(data.draw(st.integers(1, 6)))
        if "code" in params and data.draw(st.booleans()):
            params["code"] = data.draw(st.sampled_from("ABCDE"))
        if "chart" in params and data.draw(st.booleans()):
            params["chart"] = data.draw(st.sampled_from(CHARTS))
        if "staff" in params and (params["staff"] == str(self.admin_id) or data.draw(st.booleans())):
            params["staff"] = str(self.spare_id)

    def send(self, op: Any, case: Any) -> None:
        action = op.definition.raw.get("x-action")
        session: requests.Session | None = self.admin
        headers: dict[str, str] = {}
        if action in DEMO_DEVICES:
            session, headers = None, {"Authorization": f"Bearer {DEMO_DEVICES[action]}"}
        elif op.path.endswith("/auth/logout"):
            session = None  # signing out would end the session every other operation uses
        response = case.call(base_url=self.base_url, session=session, headers=headers, timeout=60)
        case.validate_response(response, checks=CHECKS, headers=headers)

    def run(self, op: Any, mode: GenerationMode) -> None:
        @given(data=st.data())
        @settings(max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def examples(data: st.DataObject) -> None:
            case = data.draw(op.as_strategy(generation_mode=mode))
            self.steer(data, op, case)
            self.runs += 1
            try:
                self.send(op, case)
            except BaseException as e:  # noqa: BLE001 - schemathesis reports a FailureGroup
                if isinstance(e, KeyboardInterrupt):
                    raise
                self.failures.append(f"{op.label} ({mode.value}):\n{e}")

        try:
            examples()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, f"{op.label}: no example could be made"


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
async def test_every_operation_answers_as_the_openapi_document_says(db_url, tmp_path):
    async with ServerProcess(db_url, tmp_path, demo=True) as server:
        fuzz = Fuzz(server.base_url)
        on_postgres = not db_url.startswith("sqlite")
        operations = fuzz.operations(lambda path: not on_postgres or "{branch}" in path)
        assert len(operations) > (25 if on_postgres else 50), "the document lost operations"
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz.run(op, mode)
        assert fuzz.runs > 3 * len(operations)
        assert not fuzz.failures, f"{len(fuzz.failures)} failure(s):\n\n" + "\n\n".join(fuzz.failures[:20])
        assert "Traceback" not in server.output(), server.tail()
