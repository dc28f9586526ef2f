"""The OpenAPI document lists every path of the contract, with its bodies and errors."""

from __future__ import annotations

import pytest

CONTRACT = [
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/health"),
    ("get", "/api/v1/branches/{branch}/services"),
    ("post", "/api/v1/branches/{branch}/tickets"),
    ("get", "/api/v1/branches/{branch}/queue"),
    *[("post", f"/api/v1/branches/{{branch}}/counters/{{number}}/{a}")
      for a in ("open", "pause", "close", "call-next", "call", "recall", "no-show", "start", "finish", "transfer")],
    ("post", "/api/v1/branches/{branch}/tickets/{ticket}/requeue"),
    ("get", "/api/v1/tickets/{token}"),
    ("post", "/api/v1/tickets/{token}/cancel"),
    ("post", "/api/v1/tickets/{token}/feedback"),
    ("post", "/api/v1/branches/{branch}/notices"),
    # administration
    ("get", "/api/v1/admin/branches"),
    ("post", "/api/v1/admin/branches"),
    ("get", "/api/v1/admin/branches/{branch}"),
    ("patch", "/api/v1/admin/branches/{branch}"),
    ("get", "/api/v1/admin/branches/{branch}/config"),
    ("put", "/api/v1/admin/branches/{branch}/config"),
    ("post", "/api/v1/admin/branches/{branch}/services"),
    ("patch", "/api/v1/admin/branches/{branch}/services/{code}"),
    ("delete", "/api/v1/admin/branches/{branch}/services/{code}"),
    ("post", "/api/v1/admin/branches/{branch}/counters"),
    ("patch", "/api/v1/admin/branches/{branch}/counters/{number}"),
    ("delete", "/api/v1/admin/branches/{branch}/counters/{number}"),
    ("get", "/api/v1/admin/staff"),
    ("post", "/api/v1/admin/staff"),
    ("patch", "/api/v1/admin/staff/{staff}"),
    ("post", "/api/v1/admin/staff/{staff}/password"),
    ("get", "/api/v1/admin/branches/{branch}/devices"),
    ("post", "/api/v1/admin/branches/{branch}/enrollments"),
    ("post", "/api/v1/admin/branches/{branch}/devices/{device}/revoke"),
    ("post", "/api/v1/devices/enroll"),
    ("get", "/api/v1/admin/branches/{branch}/audit"),
    ("get", "/api/v1/admin/audit"),
]


@pytest.fixture
async def document(demo):
    resp = await demo.client.get("/api/v1/openapi.json")
    assert resp.status == 200
    return await resp.json()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_openapi_lists_every_contract_path(document):
    assert document["openapi"].startswith("3.")
    missing = [(m, p) for m, p in CONTRACT if m not in document["paths"].get(p, {})]
    assert not missing


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_every_reference_in_openapi_resolves(document):
    schemas = document["components"]["schemas"]
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    unresolved = [r for r in refs if r.rsplit("/", 1)[-1] not in schemas]
    assert not unresolved
    issue = document["paths"]["/api/v1/branches/{branch}/tickets"]["post"]
    assert issue["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("IssueTicket")
    assert "4XX" in issue["responses"]


def _op(document, method, path):
    return document["paths"][path][method]


def _param(op, name):
    return next(p for p in op["parameters"] if p["name"] == name)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", ["/api/v1/admin/branches", "/api/v1/admin/staff", "/api/v1/admin/audit",
                                  "/api/v1/admin/branches/{branch}/devices", "/api/v1/admin/branches/{branch}/audit",
                                  "/api/v1/branches/{branch}/services", "/api/v1/devices/me/tickets"])
async def test_a_list_answer_is_declared_as_an_array(document, path):
    schema = _op(document, "get", path)["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("method,path,media_type", [
    ("get", "/api/v1/branches/{branch}/reports/summary.csv", "text/csv"),
    ("get", "/api/v1/branches/{branch}/reports/summary.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("get", "/api/v1/branches/{branch}/reports/charts/{chart}.svg", "image/svg+xml"),
    ("get", "/api/v1/tickets/{token}/qr.svg", "image/svg+xml"),
    ("get", "/api/v1/branches/{branch}/announcements/{number}/{counter}.wav", "audio/wav"),
    ("get", "/api/v1/admin/branches/{branch}/config", "application/yaml"),
])
async def test_a_file_answer_is_declared_with_its_media_type(document, method, path, media_type):
    assert list(_op(document, method, path)["responses"]["200"]["content"]) == [media_type]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_configuration_is_sent_and_answered_as_a_yaml_document_of_the_branch(document):
    config = document["paths"]["/api/v1/admin/branches/{branch}/config"]
    body = config["put"]["requestBody"]["content"]
    assert list(body) == ["application/yaml"]
    assert body["application/yaml"]["schema"]["$ref"].rsplit("/", 1)[-1].startswith("BranchSpec")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_path_query_and_header_parameters_have_the_formats_the_server_checks(document):
    issue = _op(document, "post", "/api/v1/branches/{branch}/tickets")
    assert _param(issue, "branch")["schema"]["pattern"] == "^(?:[a-z0-9][a-z0-9-]{0,39})$"
    key = _param(issue, "Idempotency-Key")
    assert key["in"] == "header" and key["schema"]["pattern"] == "^[!-~](?:[ -~]{0,126}[!-~])?$"
    view = _op(document, "get", "/api/v1/branches/{branch}/counters/{number}")
    assert _param(view, "number")["schema"]["pattern"] == "^(?:[0-9]{1,4})$"
    queue = _op(document, "get", "/api/v1/branches/{branch}/queue")
    assert _param(queue, "counter")["schema"] == {"type": "integer", "minimum": 1, "maximum": 9999}
    printing = _op(document, "get", "/api/v1/devices/me/tickets")
    assert _param(printing, "after_id")["schema"]["minimum"] == 0
    audit = _op(document, "get", "/api/v1/admin/audit")
    assert _param(audit, "before")["schema"]["type"] == "integer"
    summary = _op(document, "get", "/api/v1/branches/{branch}/reports/summary")
    day = _param(summary, "from")["schema"]
    assert day["format"] == "date" and day["pattern"].startswith("^(?:20[0-9]{2}|2100)-")
    assert _param(summary, "group")["schema"]["enum"][0] == "service"
    wav = _op(document, "get", "/api/v1/branches/{branch}/announcements/{number}/{counter}.wav")
    assert _param(wav, "counter")["schema"]["type"] == "integer"
    assert _param(wav, "lang")["schema"]["enum"] == ["zh-CN", "en", "zh-TW"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_rules_across_fields_are_stated_in_the_schemas(document):
    schemas = document["components"]["schemas"]
    transfer = schemas["Transfer"]["oneOf"]
    assert [option["required"] for option in transfer] == [["service"], ["counter"]]
    assert len(schemas["IssueTicket"]["oneOf"]) == 2
    assert schemas["NoticeIn"]["properties"]["texts"]["required"] == ["zh-CN"]
    assert schemas["StaffPatch"]["minProperties"] == 1
    assert "anyOf" not in schemas["StaffPatch"]["properties"]["display_name"]  # absent, never null


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_text_in_a_body_is_declared_without_nul_characters(document):
    login = document["components"]["schemas"]["Login"]["properties"]
    assert login["username"]["pattern"] == "^[^\\u0000]*$"
    assert document["components"]["schemas"]["FeedbackIn"]["properties"]["comment"]["pattern"] == "^[^\\u0000]*$"
