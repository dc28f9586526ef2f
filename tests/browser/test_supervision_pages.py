"""Supervision in real Chromium: a breach acknowledged on the dashboard; an inspection from the
checklist to a failed item, its rectification, the owner's report and the inspector's re-check;
the pages hold their layout at 1366×768 and 1920×1080."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import seconds

from .conftest import ServerProcess
from .test_manage import sign_in

MS = 1000
SIZES = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """The demo server, evaluating the service standards every second (not every 30)."""
    process = ServerProcess(tmp_path_factory.mktemp("server"), env={"BRANCHQ_STANDARDS_EVERY_S": "1"})
    process.start()
    yield process
    process.stop()


def no_overflow(page) -> None:
    wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"the page is {wide}px wider than the window"


def test_the_inspection_pages_in_zh_tw_show_only_traditional_chinese_or_english(server, new_page):
    from .test_languages import assert_traditional
    from .test_languages import sign_in as sign_in_by_name

    page = new_page(f"{server.base_url}/manage/demo/inspections?lang=zh-TW")
    sign_in_by_name(page, "inspector")
    expect(page.locator("#checklist tbody tr").first).to_be_visible(timeout=seconds(10) * MS)
    assert_traditional(page, "the inspections page")
    bulletin = new_page(f"{server.base_url}/manage/demo/bulletin?lang=zh-TW")
    sign_in_by_name(bulletin, "inspector")
    expect(bulletin.locator("#branches th").first).to_be_visible(timeout=seconds(10) * MS)
    assert_traditional(bulletin, "the bulletin")
    assert page.errors == [] and bulletin.errors == []


def test_a_breach_is_acknowledged_with_a_note_on_the_dashboard(server, branch, new_page):
    admin = server.api()
    admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    admin.ok("PATCH", "/admin/branches/demo/services/E", {"target_wait_s": 1})
    branch.issue("E")  # counter 6, E's counter, is closed
    page = new_page(f"{server.base_url}/manage/demo", width=1366, height=768)
    sign_in(page, "manager")
    breach = page.locator('#breaches li[data-rule="wait_target"]')
    expect(breach).to_contain_text("E 对公", timeout=seconds(15) * MS)
    expect(breach.locator(".suggestion")).to_contain_text("open counter 6")
    breach.locator("input[name=note]").fill("已通知柜员开启 6 号窗口")
    breach.get_by_role("button").click()
    expect(breach.locator(".acknowledged")).to_contain_text("已通知柜员开启 6 号窗口", timeout=seconds(5) * MS)
    expect(breach.locator("form.ack")).to_have_count(0)
    no_overflow(page)
    assert page.errors == []


def test_an_inspection_from_checklist_to_rectification_to_recheck(server, new_page):
    inspector = new_page(f"{server.base_url}/manage/demo/inspections", width=1920, height=1080)
    sign_in(inspector, "inspector")
    rows = inspector.locator("#checklist tbody tr")
    expect(rows.first).to_be_visible(timeout=seconds(10) * MS)
    failed = inspector.locator('#checklist tr[data-item="env_signage"]')
    failed.locator("select[name=passed]").select_option("0")
    failed.locator("input[name=note]").fill("营业时间牌缺失")
    failed.locator("input[name=owner]").fill("manager")
    failed.locator("input[name=requirement]").fill("补挂营业时间牌")
    failed.locator("input[name=deadline]").fill("2099-12-31")
    failed.locator("input[name=photo]").set_input_files(
        files=[{"name": "sign.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 32}])
    inspector.locator("#new-inspection button[type=submit]").click()
    expect(inspector.locator("#new-result")).to_contain_text("已保存", timeout=seconds(5) * MS)
    # The demo has a rectification of its own (about a name badge): this test's is the signage one.
    ours = {"has_text": "补挂营业时间牌"}
    rect = inspector.locator("#rectifications tbody tr", **ours)
    expect(rect).to_contain_text("补挂营业时间牌")
    expect(rect).to_contain_text("待整改")
    no_overflow(inspector)

    manager = new_page(f"{server.base_url}/manage/demo/inspections", width=1366, height=768)
    sign_in(manager, "manager")
    mine = manager.locator("#rectifications tbody tr", **ours)
    expect(mine).to_contain_text("补挂营业时间牌", timeout=seconds(10) * MS)
    mine.locator("input[name=report]").fill("已补挂")
    mine.locator('button[data-act="report"]').click()
    expect(manager.locator("#rectifications tbody tr", **ours)).to_contain_text("待复查", timeout=seconds(5) * MS)
    no_overflow(manager)

    inspector.reload()
    again = inspector.locator("#rectifications tbody tr", **ours)
    expect(again).to_contain_text("待复查", timeout=seconds(10) * MS)
    again.locator('button[data-act="close"]').click()
    expect(inspector.locator("#rectifications tbody tr", **ours)).to_contain_text("已完成", timeout=seconds(5) * MS)
    assert inspector.errors == [] and manager.errors == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_bulletin_holds_its_layout(server, new_page, width, height):
    page = new_page(f"{server.base_url}/manage/demo/bulletin", width=width, height=height)
    sign_in(page, "manager")
    expect(page.locator("#branches th").first).to_be_visible(timeout=seconds(10) * MS)
    no_overflow(page)
    assert page.errors == []

