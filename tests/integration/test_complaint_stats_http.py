"""Complaint statistics over HTTP on SQLite and PostgreSQL: JSON, CSV, XLSX and the chart;
intake retries with Idempotency-Key; the customer's withdrawal; bad queries refused."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.conftest import login

B = "/api/v1/branches/demo"
PHONE = "13812345678"


async def entered(c, phone: str = PHONE, key: str | None = None, category: str = "fees") -> tuple[int, dict]:
    headers = {"Idempotency-Key": key} if key else {}
    resp = await c.post(B + "/complaints/entries", headers=headers, json={
        "channel": "hotline", "category": category, "text": "charged twice",
        "contact": {"name": "张三", "phone": phone}})
    return resp.status, await resp.json()


async def step(c, case_id: int, action: str, body: dict | None = None) -> dict:
    resp = await c.post(f"{B}/complaints/{case_id}/{action}", json=body or {})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_statistics_as_json_csv_xlsx_and_chart_and_no_contact_in_any(demo):
    c = demo.client
    await login(c, "manager")
    me = await (await c.get("/api/v1/auth/me")).json()
    status, case = await entered(c)
    assert status == 201
    await step(c, case["id"], "accept")
    await step(c, case["id"], "assign", {"handler": me["id"]})
    await step(c, case["id"], "decide", {"text": "refunded", "sent_via": "sms", "outcome": "upheld",
                                         "remedies": ["review"]})
    await entered(c, "13900000002", category="waiting")

    resp = await c.get(B + "/complaints/stats?group=category")
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert report["total"]["received"] == 2 and report["total"]["upheld_rate"] == 1.0
    assert [(r["key"], r["received"]) for r in report["rows"]] == [("fees", 1), ("waiting", 1)]
    assert report["weak_points"][0]["category"] == "fees"

    csv = await c.get(B + "/complaints/stats.csv?group=channel")
    assert csv.status == 200 and csv.content_type == "text/csv"
    text = await csv.text()
    assert text.splitlines()[0].startswith("key,received,closed,on_time_rate")
    assert "hotline,2," in text and "total,2," in text

    xlsx = await c.get(B + "/complaints/stats.xlsx")
    assert xlsx.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await xlsx.read()))
    assert book.sheetnames == ["complaints", "weak points"]
    cells = [v for row in book["complaints"].iter_rows(values_only=True) for v in row]
    assert "received" in cells and "total" in cells

    chart = await c.get(B + "/complaints/stats/chart.svg?period=week")
    assert chart.status == 200 and chart.content_type == "image/svg+xml" and "<svg" in await chart.text()

    across = await c.get("/api/v1/complaints/stats?group=branch")
    assert across.status == 200 and (await across.json())["branches"] == ["demo"]
    for body in (report, text, await chart.text(), (await across.text())):
        assert PHONE not in str(body) and "张三" not in str(body) and "138****" not in str(body)


@pytest.mark.parametrize("query", ["from=2026-13-01", "group=colour", "period=year", "from=2026-12-02&to=2026-12-01",
                                   "from=2024-01-01&to=2026-01-01"])
async def test_bad_statistics_queries_are_refused_with_a_clear_4xx(demo, query):
    c = demo.client
    await login(c, "manager")
    resp = await c.get(f"{B}/complaints/stats?{query}")
    assert 400 <= resp.status < 500
    assert set((await resp.json())["error"]) >= {"code", "message"}


async def test_statistics_across_branches_refuse_a_branch_not_overseen(demo):
    c = demo.client
    await login(c, "manager")
    resp = await c.get("/api/v1/complaints/stats?branches=nowhere")
    assert resp.status in (403, 404)
    resp = await c.get("/api/v1/complaints/stats?branches=Bad!")
    assert resp.status == 400


async def test_a_retried_intake_with_the_same_idempotency_key_answers_with_the_same_case(demo):
    c = demo.client
    body = {"category": "waiting", "text": "slow", "contact": {"name": "李四", "phone": "13911112222"}}
    first = await c.post(B + "/complaints", json=body, headers={"Idempotency-Key": "retry-1"})
    again = await c.post(B + "/complaints", json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status == again.status == 201
    assert (await first.json()) == (await again.json())
    other = await c.post(B + "/complaints", json={**body, "text": "other"}, headers={"Idempotency-Key": "retry-1"})
    assert other.status == 409 and (await other.json())["error"]["code"] == "idempotency_mismatch"
    await login(c, "manager")
    status, staff_case = await entered(c, "13700000001", key="hotline-7")
    status2, staff_again = await entered(c, "13700000001", key="hotline-7")
    assert status == status2 == 201 and staff_again["id"] == staff_case["id"]
    listed = await (await c.get(B + "/complaints")).json()
    assert len(listed) == 2


async def test_the_customer_withdraws_over_http(demo):
    c = demo.client
    resp = await c.post(B + "/complaints", json={"category": "other", "text": "x",
                                                 "contact": {"name": "王五", "phone": "13600001111"}})
    token = (await resp.json())["token"]
    resp = await c.post(f"/api/v1/complaints/{token}/withdraw", json={"reason": "solved myself"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["state"] == "withdrawn"
    resp = await c.post(f"/api/v1/complaints/{token}/withdraw", json={"reason": "again"})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "invalid_transition"
    resp = await c.post(f"/api/v1/complaints/{token}/withdraw", json={"satisfied": True})
    assert resp.status == 400


async def test_the_idempotency_key_header_is_read_whatever_the_case_of_its_name(demo):
    c = demo.client
    body = {"category": "waiting", "text": "slow", "contact": {"name": "李四", "phone": "13911113333"}}
    first = await c.post(B + "/complaints", json=body, headers={"idempotency-key": "lower-1"})
    again = await c.post(B + "/complaints", json=body, headers={"IDEMPOTENCY-KEY": "lower-1"})
    assert first.status == again.status == 201
    assert (await first.json())["id"] == (await again.json())["id"]


async def test_the_evaluator_hands_out_a_complaint_link_for_the_ticket_just_finished_at_its_counter(demo):
    from tests.conftest import KIOSK

    c = demo.client
    evaluator = {"Authorization": "Bearer demo-evaluator"}
    resp = await c.post(B + "/counters/5/complaint-link", headers=evaluator, json={"lang": "en"})
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "nothing_to_rate"
    issued = await (await c.post(B + "/tickets", json={"service": "D"}, headers=KIOSK)).json()
    await login(c, "teller5")
    for action in ("open", "call-next", "finish"):
        assert (await c.post(f"{B}/counters/5/{action}", json={})).status == 200
    await c.post("/api/v1/auth/logout")
    resp = await c.post(B + "/counters/5/complaint-link", headers=evaluator, json={"lang": "en"})
    assert resp.status == 200, await resp.text()
    link = await resp.json()
    assert link["url"].endswith(f"/complain/demo?ticket={issued['token']}&lang=en")
    assert link["qr_svg"].startswith("<svg")
    other = await c.post(B + "/counters/4/complaint-link", headers=evaluator, json={"lang": "en"})
    assert other.status == 403 and (await other.json())["error"]["code"] == "not_this_counter"
    kiosk = await c.post(B + "/counters/5/complaint-link", headers=KIOSK, json={"lang": "en"})
    assert kiosk.status == 403


async def test_the_case_list_as_csv_and_xlsx_masks_the_contact_and_the_export_is_audited(demo):
    from sqlalchemy import select

    from server.store import tables as t

    c = demo.client
    await login(c, "manager")
    await entered(c, "13912345678")
    csv = await c.get(B + "/complaints.csv?channel=hotline")
    assert csv.status == 200 and csv.content_type == "text/csv"
    text = await csv.text()
    assert text.splitlines()[0].startswith("number,received_at,channel,category,state,name,phone")
    assert "139****5678" in text and "张*" in text
    assert "13912345678" not in text and "张三" not in text
    xlsx = await c.get(B + "/complaints.xlsx")
    cells = [str(v) for row in openpyxl.load_workbook(io.BytesIO(await xlsx.read()))["cases"].iter_rows(
        values_only=True) for v in row]
    assert "139****5678" in cells and not any("13912345678" in v for v in cells)
    async with demo.services.db.read() as conn:
        audit = t.AuditEntry.__table__
        actions = list((await conn.execute(select(audit.c.action).where(
            audit.c.action == "complaint.list_exported"))).scalars())
    assert len(actions) == 2
    await login(c, "teller1")
    assert (await c.get(B + "/complaints.csv")).status == 403
