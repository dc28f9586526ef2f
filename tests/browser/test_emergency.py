"""Emergency mode for some services only, and a drill: the kiosk turns off just those, in its language."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds

MS = 1000


def test_an_emergency_for_some_services_turns_off_only_those_on_the_kiosk_and_a_drill_says_so(server, new_page):
    kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    expect(kiosk.locator('#services button[data-service="A"]')).to_be_enabled(timeout=seconds(10) * MS)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    manager.ok("POST", "/branches/demo/emergency", {
        "kind": "system_failure", "scope": ["A", "B"], "drill": True,
        "texts": {"zh-CN": "现金及转账系统故障，请稍候", "en": "Cash and transfer systems are down"}})
    expect(kiosk.locator('#services button[data-service="A"]')).to_be_disabled(timeout=seconds(5) * MS)
    expect(kiosk.locator('#services button[data-service="B"]')).to_be_disabled()
    expect(kiosk.locator('#services button[data-service="A"] .why')).to_contain_text("应急暂停取号")
    expect(kiosk.locator('#services button[data-service="C"]')).to_be_enabled()
    expect(kiosk.locator("#emergency")).to_be_hidden()  # not the whole branch: no cover
    strip = kiosk.locator("#notice")
    expect(strip).to_contain_text("演练 DRILL")
    expect(strip).to_contain_text("现金及转账系统故障，请稍候 · Cash and transfer systems are down")
    kiosk.locator('.languages button[data-lang="en"]').click()
    expect(strip).to_contain_text("DRILL")
    expect(strip).to_contain_text("Cash and transfer systems are down")
    expect(strip).not_to_contain_text("现金及转账系统故障")
    kiosk.locator('.languages button[data-lang="zh-TW"]').click()
    expect(strip).to_contain_text("现金及转账系统故障")  # no zh-TW text given: the zh-CN one, not nothing
    manager.ok("DELETE", "/branches/demo/emergency")
    expect(kiosk.locator('#services button[data-service="A"]')).to_be_enabled(timeout=seconds(5) * MS)
    expect(strip).to_be_hidden()
    assert kiosk.errors == []


def test_the_board_announces_an_emergency_through_its_announcer_between_calls(server, board_url, new_page):
    board = new_page(board_url(announce="fast"))
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    manager.ok("POST", "/branches/demo/emergency", {
        "kind": "crowd", "drill": True, "texts": {"zh-CN": "请保持秩序", "en": "Please stay calm"}})
    board.wait_for_function(
        "() => (window.__announcer?.log ?? []).some(e => e.kind === 'emergency' && e.endedAt !== null)",
        timeout=seconds(10) * MS,
    )
    text = board.evaluate("window.__announcer.log.find(e => e.kind === 'emergency').text")
    assert "演练 DRILL 紧急通知: 请保持秩序" in text and "DRILL Emergency notice: Please stay calm" in text
    expect(board.locator("#emergency")).to_be_visible()
    manager.ok("DELETE", "/branches/demo/emergency")
    expect(board.locator("#emergency")).to_be_hidden(timeout=seconds(5) * MS)
    assert board.errors == []
