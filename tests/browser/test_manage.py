"""The manager's pages in real Chromium: the live dashboard and the report page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds


def sign_in(page, username: str) -> None:
    page.get_by_label("用户名 Username").fill(username)
    page.get_by_label("密码 Password").fill("demo-pass")
    page.get_by_role("button", name="登录 Sign in").click()


def test_dashboard_updates_live_when_a_ticket_is_called(server, branch, new_page):
    page = new_page(f"{server.base_url}/manage/demo")
    sign_in(page, "manager")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * 1000)
    ticket = branch.issue("C")
    expect(page.locator("#services")).to_contain_text("C 开户 Accounts", timeout=seconds(5) * 1000)
    branch.teller(4)
    called = branch.call_next(4)
    assert called["number"] == ticket["number"]
    row = page.locator("#counters tbody tr").nth(3)
    expect(row).to_contain_text(f"{ticket['number']} 已呼叫 called", timeout=seconds(3) * 1000)
    expect(row).to_contain_text("teller4")
    expect(page.locator("#kpis")).to_contain_text("取号 Issued", timeout=seconds(5) * 1000)
    assert page.errors == []


def test_report_page_shows_its_charts_and_tables(server, branch, new_page):
    branch.issue("A")
    branch.call_next(3)
    branch.act(3, "finish")
    page = new_page(f"{server.base_url}/manage/demo/reports")
    sign_in(page, "manager")
    page.wait_for_load_state()
    expect(page.locator("#summary tbody tr").first).to_be_visible(timeout=seconds(10) * 1000)
    for chart in ("arrivals", "waits", "sla"):
        image = page.locator(f"#chart-{chart}")
        page.wait_for_function(
            "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0 }",
            arg=f"chart-{chart}", timeout=seconds(10) * 1000,
        )
        assert image.get_attribute("src").endswith(".svg") or ".svg?" in image.get_attribute("src")
    expect(page.locator("#tellers")).to_contain_text("teller3")
    expect(page.locator("#staffing")).to_contain_text("需要窗口 Needed")
    assert page.errors == []


def test_a_teller_gets_no_dashboard_data(server, new_page):
    page = new_page(f"{server.base_url}/manage/demo")
    sign_in(page, "teller2")
    expect(page.locator("#status")).to_have_attribute("data-status", "refused", timeout=seconds(10) * 1000)
    expect(page.locator("#status")).to_contain_text("manager")
    expect(page.locator("#counters tbody tr")).to_have_count(0)
