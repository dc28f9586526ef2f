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
