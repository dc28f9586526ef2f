"""The summary report on a fixed day whose every figure is worked out by hand below."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"


async def at(demo, second: int) -> None:
    """Move the clock to ``second`` seconds after 09:30 on Monday 2 March 2026 (Shanghai)."""
    from datetime import UTC, datetime, timedelta

    demo.clock.now = datetime(2026, 3, 2, 1, 30, tzinfo=UTC) + timedelta(seconds=second)


async def issue(demo, service: str, **extra) -> dict:
    resp = await demo.client.post(f"{B}/tickets", json={"service": service, **extra}, headers=KIOSK)
    assert resp.status == 201
    return await resp.json()


@pytest.fixture
async def day(demo):
    """One morning at counter 3:

    t=0 counter 3 opens; A001 issued. t=60 A002. t=120 G001 (green, service A).
    t=180 call-next → G001 (waited 60). t=480 call-next → G001 done (served 300), A001 called (waited 480).
    t=600 start A001; t=840 finish (served 240). t=900 call-next → A002 (waited 840); t=960 no-show.
    t=1000 B001 issued; t=1010 cancelled. Ratings: G001 5, A001 3. Report taken at t=1200.
    """
    c = demo.client
    await login(c, "teller3")
    await at(demo, 0)
    await c.post(f"{B}/counters/3/open")
    a1 = await issue(demo, "A")
    await at(demo, 60)
    await issue(demo, "A")
    await at(demo, 120)
    g1 = await issue(demo, "A", priority="green", green_reason="elderly")
    await at(demo, 180)
    assert (await (await c.post(f"{B}/counters/3/call-next")).json())["ticket"]["number"] == "G001"
    await at(demo, 480)
    assert (await (await c.post(f"{B}/counters/3/call-next")).json())["ticket"]["number"] == "A001"
    await at(demo, 600)
    await c.post(f"{B}/counters/3/start")
    await at(demo, 840)
    await c.post(f"{B}/counters/3/finish")
    await at(demo, 900)
    assert (await (await c.post(f"{B}/counters/3/call-next")).json())["ticket"]["number"] == "A002"
    await at(demo, 960)
    await c.post(f"{B}/counters/3/no-show")
    await at(demo, 1000)
    b1 = await issue(demo, "B")
    await at(demo, 1010)
    await c.post(f"/api/v1/tickets/{b1['token']}/cancel")
    await c.post(f"/api/v1/tickets/{g1['token']}/feedback", json={"score": 5})
    await c.post(f"/api/v1/tickets/{a1['token']}/feedback", json={"score": 3})
    await at(demo, 1200)
    await login(c, "manager")
    return demo


async def report(client, **query) -> dict:
    resp = await client.get(f"{B}/reports/summary", params=query)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_every_total_equals_the_hand_worked_figure(day):
    total = (await report(day.client))["total"]
    assert total == {
        "key": "all",
        "issued": 4, "served": 2, "no_show": 1, "cancelled": 1, "expired": 0,
        "wait_avg_s": 460.0,          # (60 + 480 + 840) / 3
        "wait_median_s": 480,         # nearest rank: r ≥ 0.5·3 → r = 2
        "wait_p90_s": 840,            # r ≥ 0.9·3 → r = 3
        "wait_max_s": 840,
        "service_avg_s": 270.0,       # (300 + 240) / 2
        "service_median_s": 240,      # r ≥ 0.5·2 → r = 1
        "service_p90_s": 300,         # r ≥ 0.9·2 → r = 2
        "sla_share": 0.6667,          # 60 and 480 are within A's 600 s target; 840 is not
        "green_wait_avg_s": 60.0,
        "normal_wait_avg_s": 660.0,   # (480 + 840) / 2
        "utilisation": None,          # only for teller and counter groups
        "rating_mean": 4.0,
        "rating_share_4_5": 0.5,
        "rating_response_rate": 1.0,  # 2 ratings for 2 served
        "estimate_mae_s": 380.0,      # estimates 0, 240, 0 against waits 480, 840, 60
    }


async def test_a_changed_target_judges_only_the_tickets_issued_after_it(day):
    """Lowering A's target from 10 to 7 minutes leaves the morning's SLA as it was (480 s was
    within the 600 s in force then); a ticket issued after the change is judged by 420 s."""
    c = day.client
    await login(c, "admin")
    resp = await c.patch("/api/v1/admin/branches/demo/services/A", json={"target_wait_s": 420})
    assert resp.status == 200, await resp.text()
    await login(c, "manager")
    assert (await report(c))["total"]["sla_share"] == 0.6667
    await login(c, "teller3")
    await issue(day, "A")
    await at(day, 1200 + 450)  # waits 450 s: within the old target, past the new one
    assert (await (await c.post(f"{B}/counters/3/call-next")).json())["ticket"]["number"] == "A003"
    await login(c, "manager")
    assert (await report(c))["total"]["sla_share"] == 0.5  # 2 of 4


async def test_grouped_by_teller_shows_utilisation(day):
    rows = {r["key"]: r for r in (await report(day.client, group="teller"))["rows"]}
    assert rows["teller3"]["issued"] == 3 and rows["teller3"]["served"] == 2
    assert rows["teller3"]["utilisation"] == pytest.approx(540 / 1200, abs=1e-4)  # served 540 s of 1200 s open
    assert rows[None]["cancelled"] == 1, "B001 was never called by anyone"


async def test_grouped_by_service_and_hour(day):
    by_service = {r["key"]: r for r in (await report(day.client, group="service"))["rows"]}
    assert (by_service["A"]["issued"], by_service["B"]["issued"]) == (3, 1)
    assert by_service["B"]["cancelled"] == 1 and by_service["B"]["wait_avg_s"] is None
    by_hour = (await report(day.client, group="hour"))["rows"]
    assert [(r["key"], r["issued"]) for r in by_hour] == [(9, 4)]


async def test_json_csv_and_xlsx_agree(day):
    data = await report(day.client, group="service")
    text = await (await day.client.get(f"{B}/reports/summary.csv", params={"group": "service", "lang": "en"})).text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Service"] for r in rows] == ["A", "B", "Total"]
    assert rows[0]["Wait avg"] == "0:07:40"  # data["rows"][0]["wait_avg_s"] is 460.0
    assert data["rows"][0]["wait_avg_s"] == 460.0
    assert rows[2]["Issued"] == "4"
    body = await (await day.client.get(f"{B}/reports/summary.xlsx", params={"group": "service", "lang": "en"})).read()
    sheet = openpyxl.load_workbook(io.BytesIO(body))["summary"]
    table = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert table[0][0] == "Service" and [r[0] for r in table[1:]] == ["A", "B", "Total"]
    header = table[0]
    assert table[3][header.index("SLA")] == data["total"]["sla_share"]


def xlsx_cell(sheet, heading: str, row: int):
    """The cell of column ``heading`` in table row ``row`` (0 the first after the headings)."""
    headings = [c.value for c in sheet[3]]
    return sheet.cell(row=4 + row, column=1 + headings.index(heading))


async def test_xlsx_shows_durations_as_durations_and_shares_as_percentages(day):
    from datetime import timedelta

    body = await (await day.client.get(f"{B}/reports/summary.xlsx", params={"lang": "en"})).read()
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["summary", "tellers", "staffing"]
    summary = book["summary"]
    total = 2  # rows A, B, then the total
    wait = xlsx_cell(summary, "Wait avg", total)
    assert wait.number_format == "[h]:mm:ss" and wait.value == timedelta(seconds=460)
    sla = xlsx_cell(summary, "SLA", total)
    assert sla.number_format == "0.0%" and sla.value == 0.6667
    assert xlsx_cell(summary, "Issued", total).number_format == "0"
    assert xlsx_cell(summary, "Rating", total).number_format == "0.00"
    assert "Demo Branch" in summary["A1"].value, "the branch by its name"

    tellers = book["tellers"]
    assert xlsx_cell(tellers, "Teller", 0).value == "teller3"
    service = xlsx_cell(tellers, "Service avg", 0)
    assert service.number_format == "[h]:mm:ss" and service.value == timedelta(seconds=270)
    assert xlsx_cell(tellers, "No-show share", 0).number_format == "0.0%"

    staffing = book["staffing"]
    assert [xlsx_cell(staffing, "Weekday", 0).value, xlsx_cell(staffing, "Hour", 0).value] == ["Mon", "09:00"]
    aht = xlsx_cell(staffing, "Handling time", 0)
    assert aht.number_format == "[h]:mm:ss" and aht.value == timedelta(seconds=270)
    assert xlsx_cell(staffing, "Counters needed", 0).value == 1


@pytest.mark.parametrize(("lang", "first", "wait", "weekday"), [
    ("zh-CN", "业务", "平均等候", "周一"), ("en", "Service", "Wait avg", "Mon"), ("zh-TW", "業務", "平均等候", "週一"),
])
async def test_exports_are_headed_in_the_language_asked(day, lang, first, wait, weekday):
    text = await (await day.client.get(f"{B}/reports/summary.csv", params={"lang": lang})).text()
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == first and wait in header
    assert not [h for h in header if "_" in h], "no snake_case headings"
    body = await (await day.client.get(f"{B}/reports/summary.xlsx", params={"lang": lang})).read()
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book["summary"]["A3"].value == first
    assert book["staffing"]["A4"].value == weekday
    bad = await day.client.get(f"{B}/reports/summary.csv", params={"lang": "fr"})
    assert bad.status == 400


async def test_csv_figures_are_rounded_as_people_read_them(day):
    text = await (await day.client.get(f"{B}/reports/summary.csv", params={"lang": "en"})).text()
    total = list(csv.DictReader(io.StringIO(text)))[-1]
    assert total["Service"] == "Total"
    assert (total["Wait avg"], total["Wait max"], total["Service avg"]) == ("0:07:40", "0:14:00", "0:04:30")
    assert (total["SLA"], total["Rated 4–5"], total["Rating"]) == ("66.7%", "50.0%", "4.00")
    assert total["Estimate error"] == "0:06:20"


async def test_a_teller_may_not_read_reports(day):
    await login(day.client, "teller3")
    routes = ["summary", "summary.csv", "summary.xlsx", "tellers", "staffing",
              "charts/arrivals.svg", "charts/waits.svg", "charts/sla.svg"]
    for route in routes:
        resp = await day.client.get(f"{B}/reports/{route}")
        assert resp.status == 403, route
        assert (await resp.json())["error"]["code"] == "forbidden"


@pytest.mark.parametrize("query", [{"from": "yesterday"}, {"from": "2026-03-05", "to": "2026-03-01"},
                                   {"group": "weather"}])
async def test_bad_report_parameters_are_refused_plainly(day, query):
    resp = await day.client.get(f"{B}/reports/summary", params=query)
    assert resp.status == 400
    assert (await resp.json())["error"]["message"]


async def test_teller_scorecard(day):
    resp = await day.client.get(f"{B}/reports/tellers")
    assert resp.status == 200
    (teller3,) = (await resp.json())["tellers"]
    assert teller3["teller"] == "teller3" and teller3["served"] == 2
    assert teller3["service_avg_s"] == 270.0 and teller3["target_service_avg_s"] == 240.0
    assert teller3["service_vs_target"] == 1.125
    assert teller3["rating_mean"] == 4.0 and teller3["no_show_share"] == pytest.approx(1 / 3, abs=1e-4)


async def test_staffing_advice_puts_needed_beside_open_counters(day):
    resp = await day.client.get(f"{B}/reports/staffing", params={"weeks": 1})
    assert resp.status == 200, await resp.text()
    (slot,) = (await resp.json())["rows"]
    assert (slot["weekday"], slot["hour"]) == ("mon", 9)
    assert slot["arrivals_per_hour"] == 4.0 and slot["aht_s"] == 270.0
    assert slot["counters_needed"] == 1
    assert slot["counters_open"] == pytest.approx(1200 / 3600, abs=0.01)
    bad = await day.client.get(f"{B}/reports/staffing", params={"weeks": "many"})
    assert bad.status == 400


async def test_staffing_advice_covers_the_days_asked(day):
    """The morning is a Monday: a period without it has no advice, one with it has its slot."""
    async def slots(**query) -> list:
        resp = await day.client.get(f"{B}/reports/staffing", params=query)
        assert resp.status == 200, await resp.text()
        return (await resp.json())["rows"]

    assert await slots(**{"from": "2026-02-23", "to": "2026-02-28"}) == []
    (slot,) = await slots(**{"from": "2026-02-23", "to": "2026-03-02"})
    assert (slot["weekday"], slot["arrivals_per_hour"]) == ("mon", 2.0), "4 tickets over two Mondays"
    resp = await day.client.get(f"{B}/reports/staffing", params={"from": "2026-03-02", "to": "2026-02-01"})
    assert resp.status == 400


@pytest.mark.parametrize("chart", ["arrivals", "waits", "sla"])
async def test_charts_are_self_contained_svg(day, chart):
    resp = await day.client.get(f"{B}/reports/charts/{chart}.svg")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    svg = await resp.text()
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
    assert 'src="http' not in svg and "kozea.github.io" not in svg, "no CDN in a closed branch network"


async def test_the_estimate_error_leaves_out_tickets_issued_with_no_estimate(day):
    """A ticket issued while no counter served its service was told no wait at all (null):
    it has no estimate to be wrong about, so the estimate error stays 380 s over the three
    tickets that had one, and the wait average takes the fourth in."""
    c = day.client
    await login(c, "teller3")
    assert (await c.post(f"{B}/counters/3/close")).status == 200
    blind = await issue(day, "A")
    assert blind["estimated_wait_s"] is None and blind["no_counter_open"] is True
    await at(day, 1500)
    await c.post(f"{B}/counters/3/open")
    assert (await (await c.post(f"{B}/counters/3/call-next")).json())["ticket"]["id"] == blind["id"]
    await login(c, "manager")
    total = (await report(c))["total"]
    assert total["estimate_mae_s"] == 380.0
    assert total["wait_avg_s"] == (60 + 480 + 840 + 300) / 4
