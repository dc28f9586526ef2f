"""The incident report as PDF beside the XLSX and CSV: set in a CJK font, for managers only."""

from __future__ import annotations

from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"
DRILL = {"kind": "system_failure", "drill": True, "texts": {"zh-CN": "系统故障演练，暂停取号", "en": "Drill"}}


async def test_the_incident_report_downloads_as_a_pdf_set_in_a_cjk_font(demo):
    c = demo.client
    assert (await c.post(B + "/tickets", json={"service": "A"}, headers=KIOSK)).status == 201
    await login(c, "manager")
    started = await (await c.post(B + "/emergency", json=DRILL)).json()
    assert (await c.post(f"{B}/incidents/{started['id']}/entries", json={"text": "引导客户到等候区"})).status == 201
    assert (await c.delete(B + "/emergency")).status == 200
    resp = await c.get(f"{B}/incidents/{started['id']}.pdf")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "application/pdf"
    assert f'incident-{started["id"]}.pdf' in resp.headers["Content-Disposition"]
    body = await resp.read()
    assert body.startswith(b"%PDF-") and b"NotoSansCJK" in body and body.rstrip().endswith(b"%%EOF")
    await login(c, "teller1")
    assert (await c.get(f"{B}/incidents/{started['id']}.pdf")).status == 403
    await login(c, "manager")
    assert (await c.get(f"{B}/incidents/99999.pdf")).status == 404
