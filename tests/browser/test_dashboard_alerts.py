"""The dashboard's alerts and what the manager does from it, in real Chromium.

The alerts are the rules of server/domain/alerts.py (tests/unit/test_alerts.py holds them);
here: they reach the page and go away when the cause does, and a notice posted on the dashboard
reaches the kiosk, the counter-top screen, the phone and the board, and goes when cleared there.
The tests share one demo server and run in order: D's ticket of the first stays waiting.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds

from .test_manage import sign_in

MS = 1000


def dashboard(server, new_page):
    page = new_page(f"{server.base_url}/manage/demo")
    sign_in(page, "manager")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    return page


def test_waiting_tickets_with_no_open_counter_alert_until_a_counter_opens(server, branch, new_page):
    page = dashboard(server, new_page)
    expect(page.locator("#alerts")).to_contain_text("暂无提醒 Nothing to report", timeout=seconds(5) * MS)
    branch.issue("D")  # counter 5, D's only counter, is closed
    alert = page.locator('#alerts li[data-code="no_open_counter"]')
    expect(alert).to_contain_text("D 理财", timeout=seconds(5) * MS)
    expect(alert).to_contain_text("no open counter")
    expect(page.locator("#alerts")).not_to_contain_text("一切正常")
    branch.teller(5)  # opens counter 5
    expect(alert).to_have_count(0, timeout=seconds(5) * MS)
    assert page.errors == []


def test_a_queue_past_its_target_wait_alerts(server, branch, new_page):
    admin = server.api()
    admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    admin.ok("PATCH", "/admin/branches/demo/services/E", {"target_wait_s": 1})
    page = dashboard(server, new_page)
    branch.teller(6)  # E's counter is open: the alert is about the wait alone
    branch.issue("E")
    alert = page.locator('#alerts li[data-code="past_target_wait"]')
    expect(alert).to_contain_text("E 对公", timeout=seconds(15) * MS)
    expect(alert).to_contain_text("past target 0:01")
    branch.call_next(6)
    expect(alert).to_have_count(0, timeout=seconds(10) * MS)
    assert page.errors == []


def test_an_emergency_started_on_the_dashboard_stops_the_kiosk_and_shows_everywhere_until_it_ends(
    server, branch, board_url, new_page
):
    ticket = branch.issue("D")
    kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    counter = new_page(board_url("/counter/5"), width=1280, height=800)
    board = new_page(board_url(announce="off"))
    phone = new_page(f"{server.base_url}/t/{ticket['token']}", width=390, height=844)
    expect(kiosk.locator("#services button").first).to_be_enabled(timeout=seconds(10) * MS)
    expect(counter.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    expect(phone.locator("#number")).to_have_text(ticket["number"], timeout=seconds(10) * MS)

    page = dashboard(server, new_page)
    page.locator("#emergency-open").click()
    form = page.locator("#emergency-form")
    expect(form).to_be_visible()
    form.locator('select[name="kind"]').select_option("disaster")
    form.locator('textarea[name="zh-CN"]').fill("请所有客户有序撤离")
    form.locator('textarea[name="en"]').fill("Please leave the building calmly")
    form.get_by_role("button", name="启动 Start").click()
    expect(form).to_be_visible()  # not without the confirmation ticked: nothing started
    form.locator('input[name="confirm"]').check()
    form.get_by_role("button", name="启动 Start").click()
    banner = page.locator("#emergency-banner")
    expect(banner).to_be_visible(timeout=seconds(5) * MS)
    expect(banner).to_contain_text("自然灾害 Natural disaster")
    expect(banner).to_contain_text("请所有客户有序撤离")
    expect(page.locator("#emergency-elapsed")).to_contain_text("0")

    expect(kiosk.locator("#emergency")).to_be_visible(timeout=seconds(5) * MS)
    expect(kiosk.locator("#emergency")).to_contain_text("请所有客户有序撤离")
    for button in kiosk.locator("#services button, #green").all():
        expect(button).to_be_disabled()
    expect(counter.locator("#emergency")).to_be_visible(timeout=seconds(5) * MS)
    expect(counter.locator("#emergency-text")).to_contain_text("请所有客户有序撤离 · Please leave the building calmly")
    expect(board.locator("#emergency")).to_be_visible(timeout=seconds(5) * MS)
    expect(board.locator("#emergency-text")).to_contain_text("请所有客户有序撤离")
    expect(phone.locator("#notices .emergency")).to_contain_text("请所有客户有序撤离", timeout=seconds(5) * MS)

    note = page.locator("#emergency-note-form")
    note.locator('input[name="text"]').fill("已引导客户至安全出口")
    note.get_by_role("button", name="添加记录 Add note").click()
    expect(page.locator("#emergency-timeline")).to_contain_text("已引导客户至安全出口", timeout=seconds(5) * MS)
    page.locator("#emergency-reported").click()
    expect(page.locator("#emergency-reported-at")).to_contain_text("已上报", timeout=seconds(5) * MS)

    page.locator("#emergency-end").click()
    expect(banner).to_be_hidden(timeout=seconds(5) * MS)
    expect(kiosk.locator("#emergency")).to_be_hidden(timeout=seconds(5) * MS)
    expect(kiosk.locator("#services button").first).to_be_enabled()
    expect(counter.locator("#emergency")).to_be_hidden(timeout=seconds(5) * MS)
    expect(board.locator("#emergency")).to_be_hidden(timeout=seconds(5) * MS)
    expect(phone.locator("#notices .emergency")).to_have_count(0, timeout=seconds(5) * MS)
    expect(phone.locator("#notices .resumed")).to_contain_text("已恢复取号和服务", timeout=seconds(5) * MS)
    row = page.locator("#incidents tr").first
    expect(row).to_contain_text("自然灾害 Natural disaster", timeout=seconds(5) * MS)
    expect(row.locator('a[href$=".xlsx"]')).to_have_count(1)
    for p in (kiosk, counter, board, phone, page):
        assert p.errors == []


def test_an_ordinary_notice_shows_its_english_text_on_a_chinese_board_and_reaches_the_kiosk(
    server, board_url, new_page
):
    board = new_page(board_url(announce="off"))
    kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    notice = manager.ok("POST", "/branches/demo/notices",
                        {"texts": {"zh-CN": "本周六照常营业", "en": "Open this Saturday"}})
    expect(board.locator("#ticker")).to_contain_text("本周六照常营业", timeout=seconds(5) * MS)
    expect(board.locator("#ticker .sub[lang=en]")).to_have_text("Open this Saturday")
    expect(kiosk.locator("#notice")).to_contain_text("本周六照常营业 · Open this Saturday", timeout=seconds(10) * MS)
    expect(kiosk.locator("#emergency")).to_be_hidden()
    expect(kiosk.locator("#services button").first).to_be_enabled()
    manager.ok("POST", f"/branches/demo/notices/{notice['id']}/clear")
    expect(kiosk.locator("#notice")).to_be_hidden(timeout=seconds(5) * MS)
    assert board.errors == [] and kiosk.errors == []


def test_the_manager_pauses_and_closes_a_counter_from_the_dashboard(server, branch, new_page):
    branch.teller(2)
    page = dashboard(server, new_page)
    row = page.locator("#counters tbody tr").nth(1)
    expect(row).to_contain_text("开启 open", timeout=seconds(5) * MS)
    row.get_by_role("button", name="暂停 Pause").click()
    expect(row).to_contain_text("暂停 paused", timeout=seconds(5) * MS)
    row.get_by_role("button", name="关闭 Close").click()
    expect(row).to_contain_text("关闭 closed", timeout=seconds(5) * MS)
    expect(page.locator("#counter-result")).to_be_hidden()
    assert page.errors == []


def test_an_overdue_complaint_shows_on_the_open_dashboard_without_a_reload(server, new_page):
    from datetime import UTC, datetime, timedelta

    page = dashboard(server, new_page)
    expect(page.locator("#complaint-digest")).to_be_visible(timeout=seconds(10) * MS)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    received = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    case = manager.ok("POST", "/branches/demo/complaints/entries", {
        "channel": "letter", "category": "fees", "text": "来信投诉收费", "received_at": received,
        "contact": {"name": "过期", "phone": "13800009999"}})
    alert = page.locator("#alerts li[data-code=complaint_overdue]", has_text=case["number"])
    expect(alert).to_be_visible(timeout=seconds(10) * MS)
    expect(alert).to_contain_text("已超期")
    assert "13800009999" not in page.locator("main").inner_text()
    expect(page.locator("#complaint-digest")).to_contain_text("投诉日报")
    assert page.errors == []
