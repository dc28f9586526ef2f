"""A manager's emergency notice takes the whole board; an ordinary one runs in the ticker."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds


def test_an_emergency_notice_takes_the_whole_board_until_cleared(server, board_url, new_page):
    page = new_page(board_url(announce="off"))
    expect(page.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * 1000)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    info = manager.ok("POST", "/branches/demo/notices",
                      {"texts": {"zh-CN": "本周六照常营业", "en": "Open this Saturday"}})
    expect(page.locator("#ticker")).to_contain_text("本周六照常营业", timeout=seconds(5) * 1000)
    urgent = manager.ok("POST", "/branches/demo/notices",
                        {"texts": {"zh-CN": "请所有客户有序撤离", "en": "Please leave the building calmly"},
                         "level": "emergency"})
    expect(page.locator("#emergency")).to_be_visible(timeout=seconds(5) * 1000)
    expect(page.locator("#emergency-text")).to_contain_text("请所有客户有序撤离")
    manager.ok("POST", f"/branches/demo/notices/{urgent['id']}/clear")
    expect(page.locator("#emergency")).to_be_hidden(timeout=seconds(5) * 1000)
    manager.ok("POST", f"/branches/demo/notices/{info['id']}/clear")
    assert page.errors == []
