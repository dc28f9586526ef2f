"""The kiosk's touch screen and the phone page, in real Chromium against a real server."""

from __future__ import annotations

import sqlite3

from playwright.sync_api import expect

from tests.conftest import seconds

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
    expect(page.locator("#print-problem")).to_be_visible(timeout=seconds(5) * MS)
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
