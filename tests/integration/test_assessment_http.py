"""Staff assessment over HTTP on SQLite and PostgreSQL: who sees what, the payroll files, bad input."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"
EVALUATOR = {"Authorization": "Bearer demo-evaluator"}


async def serve_at_counter_5(demo) -> None:
    """Teller 5 serves one D ticket in 10 minutes; the evaluator asks and the customer rates 4."""
    c = demo.client
    assert (await c.post(B + "/tickets", json={"service": "D"}, headers=KIOSK)).status == 201
    await login(c, "teller5")
    for action in ("open", "call-next"):
        assert (await c.post(f"{B}/counters/5/{action}", json={})).status == 200
    demo.clock.advance(minutes=10)
    assert (await c.post(f"{B}/counters/5/finish", json={})).status == 200
    await c.post("/api/v1/auth/logout")
    resp = await c.post(f"{B}/counters/5/feedback/prompt", json={"number": "D001"}, headers=EVALUATOR)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["recorded"] is True
    resp = await c.post(f"{B}/counters/5/feedback", json={"score": 4}, headers=EVALUATOR)
    assert resp.status == 201, await resp.text()


async def test_a_manager_sees_every_teller_and_a_teller_only_themselves(demo):
    await serve_at_counter_5(demo)
    c = demo.client
    await login(c, "manager")
    report = await (await c.get(B + "/reports/assessment")).json()
    names = [t["username"] for t in report["tellers"]]
    assert {f"teller{n}" for n in range(1, 7)} <= set(names)
    [t5] = [t for t in report["tellers"] if t["username"] == "teller5"]
    assert t5["figures"]["coverage"] == 1 and t5["figures"]["rating_mean"] == 4
    assert t5["figures"]["mix"] == [{"service": "D", "served": 1, "service_avg_s": 600, "target_s": 900}]
    assert t5["band"] is not None

    await c.post("/api/v1/auth/logout")
    await login(c, "teller5")
    mine = await (await c.get(B + "/reports/assessment")).json()
    assert [t["username"] for t in mine["tellers"]] == ["teller5"]
    assert mine["tellers"][0]["score"] == t5["score"]
    mine_csv = await (await c.get(B + "/reports/assessment.csv?lang=en")).text()
    assert [r[0] for r in csv.reader(io.StringIO(mine_csv))] == ["Staff number", "teller5"]


async def test_the_payroll_workbook_and_csv_are_headed_in_the_language_asked(demo):
    await serve_at_counter_5(demo)
    c = demo.client
    await login(c, "manager")
    resp = await c.get(B + "/reports/assessment.xlsx?lang=zh-CN")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("工号", "姓名", "得分", "等级")
    [t5] = [r for r in rows if r[0] == "teller5"]
    assert isinstance(t5[2], float | int) and t5[3] in ("优秀", "良好", "合格", "待改进")
    text = await (await c.get(B + "/reports/assessment.csv?lang=zh-TW")).text()
    assert text.splitlines()[0].startswith("工號,姓名,得分,等級")


@pytest.mark.parametrize(
    ("query", "status"),
    [("?from=2026-13-01", 400), ("?from=2026-03-02&to=2026-03-01", 400), ("?from=2020-01-01&to=2026-03-02", 400),
     ("?lang=fr", 400), ("?from=%00", 400)],
)
async def test_bad_periods_are_refused_with_the_error_shape(demo, query, status):
    c = demo.client
    await login(c, "manager")
    resp = await c.get(B + "/reports/assessment" + query)
    assert resp.status == status, await resp.text()
    assert set((await resp.json())["error"]) == {"code", "message"}


async def test_an_inspector_the_public_and_devices_read_no_assessment(demo):
    c = demo.client
    assert (await c.get(B + "/reports/assessment")).status == 401
    assert (await c.get(B + "/reports/assessment", headers=KIOSK)).status == 403
    await login(c, "inspector")
    assert (await c.get(B + "/reports/assessment")).status == 403
