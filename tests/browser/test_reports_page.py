"""The report page at a laptop's and a desktop's size, on two weeks of demo history: charts whose
words can be read, a summary table that fits, durations as people write them, the branch's name,
and staffing advice for the chosen dates."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ServerProcess
from tests.conftest import seconds

from .test_manage import sign_in

SIZES = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """The demo server with two weeks of quiet past days (made while it is stopped)."""
    process = ServerProcess(tmp_path_factory.mktemp("server"))
    process.start()
    process.stop()
    subprocess.run(
        [sys.executable, "-m", "server", "simulate", "history", "--branch", "demo", "--weeks", "2",
         "--daily", "60", "--database", f"sqlite:///{process.workdir / 'branchq.db'}"],
        cwd=process.workdir, check=True, capture_output=True, timeout=seconds(120),
    )
    process.start()
    yield process
    process.stop()


def open_reports(server, new_page, width: int, height: int):
    page = new_page(f"{server.base_url}/manage/demo/reports", width=width, height=height)
    sign_in(page, "manager")
    expect(page.locator("#summary tbody tr").first).to_be_visible(timeout=seconds(10) * 1000)
    expect(page.locator("#staffing tbody tr").first).to_be_visible(timeout=seconds(10) * 1000)
    for chart in ("arrivals", "waits", "sla"):
        page.wait_for_function(
            "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0 }",
            arg=f"chart-{chart}", timeout=seconds(10) * 1000,
        )
    return page


#: The smallest rendered font size (CSS px) among a chart's words: its SVG drawn inline at the
#: size its <img> has on the page, each text's font size times the drawing's scale.
SMALLEST_LABEL = """async (id) => {
  const img = document.getElementById(id);
  const svg = await (await fetch(img.src)).text();
  const box = document.createElement('div');
  box.style.cssText = `position:absolute;left:0;top:0;width:${img.getBoundingClientRect().width}px`;
  box.innerHTML = svg;
  document.body.append(box);
  const drawing = box.querySelector('svg');
  drawing.setAttribute('width', '100%');
  drawing.removeAttribute('height');
  const sizes = [...drawing.querySelectorAll('text')]
    .filter((t) => t.textContent.trim() && getComputedStyle(t).display !== 'none'
                   && getComputedStyle(t).visibility !== 'hidden'
                   && !t.closest('.tooltip, .no_data') && getComputedStyle(t).opacity !== '0')
    .map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
  box.remove();
  return Math.min(...sizes);
}"""


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_chart_words_render_at_a_readable_size(server, new_page, width, height):
    page = open_reports(server, new_page, width, height)
    for chart in ("arrivals", "waits", "sla"):
        smallest = page.evaluate(SMALLEST_LABEL, f"chart-{chart}")
        assert smallest >= 12, f"{chart} chart: labels at {smallest:.1f} px at {width}×{height}"
    assert page.errors == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_summary_table_fits_without_being_cut_off(server, new_page, width, height):
    page = open_reports(server, new_page, width, height)
    for group in ("service", "teller"):
        page.locator("select[name=group]").select_option(group)
        page.get_by_role("button", name="查询 Show").click()
        expect(page.locator("#summary thead th").first).to_have_text(re.compile("业务|柜员"))
        page.wait_for_timeout(200)
        clipped = page.evaluate("""() => {
          const table = document.getElementById('summary');
          const section = table.closest('section');
          return {table: table.getBoundingClientRect().right, section: section.getBoundingClientRect().right,
                  scroll: section.scrollWidth - section.clientWidth,
                  page: document.documentElement.scrollWidth - innerWidth};
        }""")
        assert clipped["scroll"] <= 0 and clipped["page"] <= 0, clipped
        assert clipped["table"] <= clipped["section"], clipped
    assert page.errors == []


def test_durations_never_show_sixty_seconds(server, new_page):
    page = open_reports(server, new_page, 1366, 768)
    durations = page.evaluate("""async () => {
      const { duration } = await import('/static/manage/report_format.js');
      return [239.6, 59.5, 119.97, 3599.6, 0.4, 7.5].map(duration);
    }""")
    assert durations == ["4:00", "1:00", "2:00", "1:00:00", "0:00", "0:08"]
    cells = page.locator("#summary td, #tellers td, #staffing td").all_inner_texts()
    times = [c for c in cells if re.fullmatch(r"\d+:\d\d(:\d\d)?", c)]
    assert times, "the demo history has waits to show"
    assert all(int(c[-2:]) < 60 for c in times), [c for c in times if int(c[-2:]) >= 60]
    assert page.errors == []


def test_the_header_names_the_branch(server, new_page):
    page = open_reports(server, new_page, 1920, 1080)
    expect(page.locator("#branch-name")).to_have_text("演示支行")
    page.locator("#lang").select_option("en")
    expect(page.locator("#branch-name")).to_have_text("Demo Branch")
    assert page.errors == []


def test_changing_the_dates_changes_the_staffing_table(server, new_page):
    page = open_reports(server, new_page, 1920, 1080)
    rows = page.locator("#staffing tbody tr")
    all_days = rows.count()
    assert all_days > 0
    today = date.fromisoformat(page.locator("input[name=to]").input_value())
    # One past weekday only: that weekday alone is advised.
    day = today - timedelta(days=7)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    page.locator("input[name=from]").fill(day.isoformat())
    page.locator("input[name=to]").fill(day.isoformat())
    page.get_by_role("button", name="查询 Show").click()
    weekday = "一二三四五六日"[day.weekday()]
    expect(rows.first).to_contain_text(weekday, timeout=seconds(10) * 1000)
    expect(rows).not_to_have_count(all_days)
    days = {r.split("\t")[0].strip() for r in rows.all_inner_texts()}
    assert len(days) == 1, days
    assert page.errors == []


def test_the_reports_page_counts_incidents_with_drills_kept_apart(server, new_page):
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    page = open_reports(server, new_page, 1366, 768)
    figures = page.locator("#incident-figures")
    expect(figures).to_contain_text("演练另计")
    drills = int(re.search(r"演练另计：(\d+) 次", figures.inner_text()).group(1))  # the demo's own past drill
    manager.ok("POST", "/branches/demo/emergency", {"kind": "crowd", "drill": True, "texts": {"zh-CN": "演练"}})
    manager.ok("DELETE", "/branches/demo/emergency")
    page = open_reports(server, new_page, 1366, 768)
    figures = page.locator("#incident-figures")
    expect(figures).to_contain_text("应急事件 0 起")
    expect(figures).to_contain_text(f"演练另计：{drills + 1} 次")
    expect(figures).to_contain_text("0 incidents")
    assert page.errors == []


def test_the_teller_scorecard_counts_complaints_upheld_against_a_teller(server, new_page):
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    ids = {s["username"]: s["id"] for s in manager.ok("GET", "/admin/staff?branch=demo")}
    case = manager.ok("POST", "/branches/demo/complaints/entries", {
        "channel": "walk_in", "category": "attitude", "text": "柜员态度不好", "teller": ids["teller2"],
        "contact": {"name": "评分", "phone": "13800007777"}})
    base = f"/branches/demo/complaints/{case['id']}"
    manager.ok("POST", f"{base}/accept", {})
    manager.ok("POST", f"{base}/assign", {"handler": ids["manager"]})
    manager.ok("POST", f"{base}/decide", {"text": "属实，已致歉", "sent_via": "phone", "outcome": "upheld",
                                          "remedies": ["review"], "against_teller": True})
    page = open_reports(server, new_page, 1366, 768)
    expect(page.locator("#tellers thead")).to_contain_text("投诉成立 Upheld complaints")
    row = page.locator("#tellers tbody tr", has_text="teller2")
    expect(row.locator("td").last).to_have_text("1")


def test_the_staffing_advice_says_what_its_counters_would_have_achieved(server, new_page):
    page = open_reports(server, new_page, 1920, 1080)
    line = page.locator("#staffing-simulated")
    expect(line).to_be_visible(timeout=seconds(10) * 1000)
    expect(line).to_contain_text("%")
    page.locator("#lang").select_option("en")
    page.get_by_role("button", name="Show").click()
    expect(line).to_contain_text("within target with these counters", timeout=seconds(10) * 1000)
    assert page.errors == []
