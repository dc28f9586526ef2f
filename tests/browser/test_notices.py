"""Emergency mode takes the whole board (a drill marked so); an ordinary notice runs in the ticker."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds


def test_an_emergency_takes_the_whole_board_until_it_ends_and_the_ticker_keeps_its_notice(server, board_url, new_page):
    page = new_page(board_url(announce="off"))
    expect(page.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * 1000)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    info = manager.ok("POST", "/branches/demo/notices",
                      {"texts": {"zh-CN": "本周六照常营业", "en": "Open this Saturday"}})
    expect(page.locator("#ticker")).to_contain_text("本周六照常营业", timeout=seconds(5) * 1000)
    manager.ok("POST", "/branches/demo/emergency",
               {"kind": "disaster", "drill": True,
                "texts": {"zh-CN": "请所有客户有序撤离", "en": "Please leave the building calmly"}})
    expect(page.locator("#emergency")).to_be_visible(timeout=seconds(5) * 1000)
    expect(page.locator("#emergency-text")).to_contain_text("请所有客户有序撤离")
    expect(page.locator("#emergency h2")).to_contain_text("演练 DRILL")
    manager.ok("DELETE", "/branches/demo/emergency")
    expect(page.locator("#emergency")).to_be_hidden(timeout=seconds(5) * 1000)
    manager.ok("POST", f"/branches/demo/notices/{info['id']}/clear")
    assert page.errors == []
