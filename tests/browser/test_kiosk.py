"""The kiosk's touch screen and the phone page, in real Chromium against a real server."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from server.domain.hours import WEEKDAYS
from tests.conftest import seconds

from .conftest import ServerProcess

MS = 1000


def kiosk(new_page, server, *, width=1080, height=1920):
    page = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=width, height=height)
    expect(page.locator("#services button").first).to_be_visible(timeout=seconds(10) * MS)
    return page


def test_customer_takes_a_ticket_and_sees_the_number_the_server_issued(server, branch, new_page):
    page = kiosk(new_page, server)
    assert "token=" not in page.url
    page.locator('#services button[data-service="B"]').click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    issued = page.evaluate("window.__kiosk.issued.at(-1)")
    expect(page.locator("#number")).to_have_text(issued["number"])
    assert issued["service"] == "B" and issued["priority"] == "normal"
    page.wait_for_function("document.getElementById('qr').naturalWidth > 0", timeout=seconds(5) * MS)
    public = branch.public.ok("GET", f"/tickets/{issued['token']}")
    assert public["number"] == issued["number"] and public["state"] == "waiting"


def test_language_switches_between_chinese_english_and_traditional(server, new_page):
    page = kiosk(new_page, server, width=1920, height=1080)
    expect(page.locator("#start h2")).to_have_text("请选择业务")
    page.get_by_role("button", name="English").click()
    expect(page.locator("#start h2")).to_have_text("Please choose a service")
    expect(page.locator('#services button[data-service="A"] .name')).to_contain_text("Cash")
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("#start h2")).to_have_text("請選擇業務")
    expect(page.locator('#services button[data-service="A"] .name')).to_contain_text("現金")


def test_green_channel_ticket_comes_from_the_g_series(server, new_page):
    page = kiosk(new_page, server)
    page.locator("#green").click()
    page.locator('[data-reason="elderly"]').click()
    page.locator('#services button[data-service="A"]').click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    issued = page.evaluate("window.__kiosk.issued.at(-1)")
    assert issued["priority"] == "green" and issued["number"].startswith("G")
    expect(page.locator("#number")).to_have_text(issued["number"])


def test_a_suspended_service_is_greyed_with_its_reason_and_cannot_be_taken(server, new_page):
    with sqlite3.connect(server.workdir / "branchq.db") as db:
        db.execute("UPDATE services SET active = 0 WHERE code = 'E'")
        db.execute("UPDATE branches SET config_version = config_version + 1")
    try:
        page = kiosk(new_page, server)
        button = page.locator('#services button[data-service="E"]')
        expect(button).to_be_disabled(timeout=seconds(5) * MS)
        expect(button).to_contain_text("暂停办理")
        status, answer = server.api().call("POST", "/branches/demo/tickets", {"service": "E"},
                                           headers={"Authorization": "Bearer demo-kiosk"})
        assert status == 409 and answer["error"]["code"] == "suspended"
    finally:
        with sqlite3.connect(server.workdir / "branchq.db") as db:
            db.execute("UPDATE services SET active = 1 WHERE code = 'E'")
            db.execute("UPDATE branches SET config_version = config_version + 1")


def test_a_printer_fault_is_shown_on_the_kiosk(server, new_page):
    page = kiosk(new_page, server)
    expect(page.locator("#banner")).to_be_hidden()
    api = server.api()
    auth = {"Authorization": "Bearer demo-kiosk"}
    api.ok("POST", "/devices/me/status", {"printer": {"online": True, "paper": "out"}}, headers=auth)
    expect(page.locator("#banner")).to_contain_text("打印机故障", timeout=seconds(5) * MS)
    page.locator('#services button[data-service="C"]').click()
    expect(page.locator("#print-failed")).to_be_visible(timeout=seconds(5) * MS)
    expect(page.locator("#number")).not_to_be_empty()
    api.ok("POST", "/devices/me/status", {"printer": {"online": True, "paper": "ok"}}, headers=auth)
    expect(page.locator("#banner")).to_be_hidden(timeout=seconds(5) * MS)


def test_phone_page_follows_the_ticket_until_called_and_can_cancel(server, branch, new_page):
    first = branch.issue("D")
    second = branch.issue("D")
    phone = new_page(f"{server.base_url}/t/{second['token']}", width=390, height=844)
    expect(phone.locator("#number")).to_have_text(second["number"], timeout=seconds(5) * MS)
    expect(phone.locator("#ahead")).to_have_text("前面还有 1 人 1 ahead of you")
    # It follows its ticket over the branch's websocket, not by polling.
    phone.wait_for_function("window.__phone.live && window.__phone.live.connected", timeout=seconds(10) * MS)
    loads = phone.evaluate("window.__phone.loads")
    branch.teller(5)
    assert branch.call_next(5)["number"] == first["number"]
    expect(phone.locator("#ahead")).to_contain_text("0 ahead of you", timeout=seconds(10) * MS)
    assert phone.evaluate("window.__phone.loads") <= loads + 3, "one read per burst of events"
    branch.call_next(5)
    expect(phone.locator("#called")).to_contain_text("Please go to counter 5", timeout=seconds(10) * MS)
    expect(phone.locator("#called")).to_contain_text("请到 5 号窗口")
    third = branch.issue("D")
    other = new_page(f"{server.base_url}/t/{third['token']}", width=390, height=844)
    other.once("dialog", lambda dialog: dialog.accept())
    other.locator("#cancel").click()
    expect(other.locator("#state")).to_contain_text("Cancelled", timeout=seconds(5) * MS)


# --- a real branch day -------------------------------------------------------------------


def admin(server):
    api = server.api()
    api.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    return api


def test_a_double_tap_on_done_takes_no_second_ticket(server, new_page):
    page = kiosk(new_page, server)
    page.locator('#services button[data-service="B"]').click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    page.locator("#done").dblclick()  # the second tap lands on whatever the start screen has there
    expect(page.locator("#start")).to_be_visible()
    page.locator('#services button[data-service="C"]').click()  # the next customer
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    assert [t["service"] for t in page.evaluate("window.__kiosk.issued")] == ["B", "C"]
    expect(page.locator("#green-reasons")).to_be_hidden()
    assert page.errors == []


def test_with_no_counter_open_for_a_service_the_kiosk_says_so_instead_of_an_estimate(server, branch, new_page):
    # E is served by counter 6 alone (E, A), closed in this module until opened here.
    page = kiosk(new_page, server)
    button = page.locator('#services button[data-service="E"]')
    expect(button).to_contain_text("目前暂无窗口办理此业务")
    expect(button).not_to_contain_text("无需等候")
    button.click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    expect(page.locator("#estimate")).to_have_text("目前暂无窗口办理此业务，开放后按顺序叫号")
    issued = page.evaluate("window.__kiosk.issued.at(-1)")
    assert issued["no_counter_open"] is True and issued["estimated_wait_s"] is None
    phone = branch.public.ok("GET", f"/tickets/{issued['token']}")
    assert phone["no_counter_open"] is True and phone["estimated_wait_s"] is None

    page.locator("#done").click()
    branch.teller(6)  # opens counter 6: E has an estimate again
    expect(button).not_to_contain_text("目前暂无窗口办理此业务", timeout=seconds(10) * MS)
    expect(button).to_contain_text("分钟")
    assert page.errors == []


def test_with_no_estimate_the_result_shows_no_stray_separator(server, branch, new_page):
    branch.teller(6)
    for _ in range(40):  # empty E's queue (and A's, which counter 6 also takes)
        if branch.next_or_none(6) is None:
            break
        branch.act(6, "finish")
    page = kiosk(new_page, server)
    page.locator('#services button[data-service="E"]').click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    expect(page.locator("#ahead")).to_have_text("无需等候")
    expect(page.locator("#estimate")).to_have_text("")
    expect(page.locator("#facts-sep")).to_be_hidden()
    assert page.locator(".facts").inner_text().strip() == "无需等候"


def test_a_service_no_counter_serves_is_not_offered(server, new_page):
    api = admin(server)
    api.ok("PATCH", "/admin/branches/demo/counters/5", {"services": ["A"]})  # D was counter 5's alone
    try:
        page = kiosk(new_page, server)
        expect(page.locator('#services button[data-service="A"]')).to_be_visible()
        expect(page.locator('#services button[data-service="D"]')).to_have_count(0)
        status, answer = server.api().call("POST", "/branches/demo/tickets", {"service": "D"},
                                           headers={"Authorization": "Bearer demo-kiosk"})
        assert status == 409 and answer["error"]["code"] == "no_counter_serves"
    finally:
        api.ok("PATCH", "/admin/branches/demo/counters/5", {"services": ["D"]})


def test_the_kiosk_is_back_in_the_branch_language_after_each_ticket(server, new_page):
    page = kiosk(new_page, server)
    page.get_by_role("button", name="English").click()
    page.locator('#services button[data-service="A"]').click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    expect(page.locator("#done")).to_have_text("Done")  # the customer's own language on the result
    page.locator("#done").click()
    expect(page.locator("#start h2")).to_have_text("请选择业务")
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")


def test_a_kiosk_left_in_english_returns_to_the_branch_language(server, new_page):
    page = new_page("about:blank", width=1080, height=1920)
    page.clock.install()
    page.goto(f"{server.base_url}/kiosk/demo?token=demo-kiosk")
    expect(page.locator("#services button").first).to_be_enabled(timeout=seconds(10) * MS)
    page.get_by_role("button", name="English").click()
    expect(page.locator("#start h2")).to_have_text("Please choose a service")
    page.clock.run_for(30_000)
    expect(page.locator("#start h2")).to_have_text("Please choose a service")  # someone may still be reading
    page.clock.run_for(31_000)
    expect(page.locator("#start h2")).to_have_text("请选择业务")


def test_a_closed_kiosk_shows_todays_hours_and_when_it_opens(server, new_page):
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = (local.hour + 2) % 24  # two hours from now (past midnight: tomorrow's only period)
    end = "24:00" if start == 23 else f"{start + 1:02d}:00"
    period = [[f"{start:02d}:00", end]]
    api = admin(server)
    api.ok("PATCH", "/admin/branches/demo", {"hours": dict.fromkeys(WEEKDAYS, period)})
    try:
        page = kiosk(new_page, server)
        expect(page.locator("#closed-note")).to_be_visible(timeout=seconds(5) * MS)
        expect(page.locator("#hours-today")).to_have_text(f"今日营业时间：{start:02d}:00–{end}")
        expect(page.locator("#opens-next")).to_contain_text(f"{start:02d}:00")
        expect(page.locator('#services button[data-service="A"]')).to_be_disabled()
        expect(page.locator('#services button[data-service="A"]')).to_contain_text("不在营业时间")
    finally:
        api.ok("PATCH", "/admin/branches/demo", {"hours": {}})


def test_during_an_outage_the_kiosk_takes_no_tickets_and_says_why(new_page, tmp_path):
    server = ServerProcess(tmp_path)
    server.start()
    try:
        page = kiosk(new_page, server)
        button = page.locator('#services button[data-service="A"]')
        expect(button).to_be_enabled(timeout=seconds(5) * MS)
        server.stop()
        expect(button).to_be_disabled(timeout=seconds(10) * MS)
        expect(page.locator("#green")).to_be_disabled()
        expect(page.locator("#banner")).to_contain_text("暂停取号，连接恢复后即可取号")
        expect(button).not_to_contain_text("等候")  # no stale counts
        server.start()
        expect(button).to_be_enabled(timeout=seconds(15) * MS)
        expect(page.locator("#banner")).to_be_hidden()
        assert page.errors == []
    finally:
        server.stop()
