from __future__ import annotations

from tests.conftest import KIOSK


async def test_health_reports_the_database(demo):
    resp = await demo.client.get("/api/v1/health")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"


async def test_kiosk_issues_first_ticket_a001(demo):
    resp = await demo.client.post("/api/v1/branches/demo/tickets", json={"service": "A"}, headers=KIOSK)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["number"] == "A001"
    assert body["ahead"] == 0
