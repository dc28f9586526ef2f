"""The lobby manager's console in real Chromium: requeue, suspend, a confirmed green ticket, double presses."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import seconds

MS = 1000


def sign_in(page, username: str) -> None:
    page.get_by_label("用户名 Username").fill(username)
    page.get_by_label("密码 Password").fill("demo-pass")
    page.get_by_role("button", name="登录 Sign in").click()


def lobby(server, new_page, frames: list[str] | None = None):
    page = new_page(f"{server.base_url}/lobby/demo")
    if frames is not None:
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(str(payload))))
    sign_in(page, "manager")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    return page


def find(page, number: str) -> None:
    page.locator("#find-number").fill(number)
    page.locator("#find").click()
    expect(page.locator("#found-number")).to_have_text(number, timeout=seconds(5) * MS)


def confirm(page) -> None:
    expect(page.locator("#confirm")).to_be_visible(timeout=seconds(5) * MS)
    page.locator("#confirm-yes").click()


def test_the_lobby_manager_requeues_a_no_show_and_sees_it_waiting(server, branch, new_page):
    ticket = branch.issue("E")
    branch.act(6, "call", {"ticket": ticket["number"]})
    branch.act(6, "no-show")
    page = lobby(server, new_page)
    find(page, ticket["number"])
    expect(page.locator("#found-state")).to_have_attribute("data-state", "no_show")
    page.locator("#requeue").click()
    confirm(page)
    expect(page.locator("#found-state")).to_have_attribute("data-state", "waiting", timeout=seconds(5) * MS)
    expect(page.locator("#message")).to_contain_text("已重新排队")
    queue = branch.teller(6).ok("GET", "/branches/demo/queue")
    assert ticket["number"] in [t["number"] for t in queue["tickets"]]
    assert page.errors == []


def test_suspending_a_service_greys_it_on_the_kiosk_and_resuming_brings_it_back(server, new_page):
    page = lobby(server, new_page)
    kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    button = kiosk.locator('#services button[data-service="D"]')
    expect(button).to_be_enabled(timeout=seconds(10) * MS)
    page.locator('#services button[data-service="D"][data-action="suspend"]').click()
    confirm(page)
    expect(button).to_be_disabled(timeout=seconds(5) * MS)
    expect(button).to_contain_text("暂停办理")
    page.locator('#services button[data-service="D"][data-action="resume"]').click()
    confirm(page)
    expect(button).to_be_enabled(timeout=seconds(5) * MS)
    assert page.errors == [] and kiosk.errors == []


def test_a_green_ticket_the_branch_confirms_is_issued_at_the_lobby_and_the_teller_sees_its_reason(
    server, branch, new_page
):
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    manager.ok("PATCH", "/admin/branches/demo", {"green_confirm": ["urgent"]})
    try:
        kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
        expect(kiosk.locator("#services button").first).to_be_visible(timeout=seconds(10) * MS)
        kiosk.locator("#green").click()
        kiosk.locator('[data-reason="urgent"]').click()
        expect(kiosk.locator("#green")).to_contain_text("已开启绿色通道", timeout=seconds(5) * MS)
        # The kiosk ignores taps for a moment after each change of screen (a double tap never
        # lands twice): the customer's next tap comes after it.
        expect(kiosk.locator("body")).not_to_have_class(re.compile(r"\bsettling\b"), timeout=seconds(5) * MS)
        kiosk.locator('#services button[data-service="C"]').click()
        expect(kiosk.locator("#banner")).to_contain_text("请找大堂经理", timeout=seconds(5) * MS)
        assert kiosk.evaluate("window.__kiosk.issued.length") == 0

        page = lobby(server, new_page)
        page.locator("#issue-service").select_option("C")
        page.locator("#issue-reason").select_option("urgent")
        page.locator("#issue").click()
        confirm(page)
        expect(page.locator("#issued")).to_have_text(_g_number(), timeout=seconds(5) * MS)
        number = page.locator("#issued").text_content()

        teller = new_page(f"{server.base_url}/counter?branch=demo&counter=4")
        sign_in(teller, "teller4")
        expect(teller.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
        row = teller.locator("#waiting tbody tr", has_text=number)
        expect(row).to_contain_text("紧急业务", timeout=seconds(5) * MS)
        if teller.locator("#counter-state").text_content() != "开启 Open":
            teller.get_by_role("button", name="开启 Open").click()
            expect(teller.locator("#counter-state")).to_have_text("开启 Open", timeout=seconds(5) * MS)
        teller.locator("#waiting tbody tr", has_text=number).get_by_role("button").click()
        expect(teller.locator("#current-number")).to_have_text(number, timeout=seconds(5) * MS)
        expect(teller.locator("#current-green")).to_contain_text("紧急业务")
        branch.teller(4)
        branch.act(4, "finish")
        assert page.errors == [] and teller.errors == []
    finally:
        manager.ok("PATCH", "/admin/branches/demo", {"green_confirm": []})


def _g_number():
    import re

    return re.compile(r"^G\d{3}$")


def test_a_double_press_of_an_action_changes_nothing_twice(server, branch, new_page):
    ticket = branch.issue("E")
    frames: list[str] = []
    page = lobby(server, new_page, frames)
    find(page, ticket["number"])
    page.locator("#cancel").dblclick()
    expect(page.locator("#confirm")).to_be_visible(timeout=seconds(5) * MS)
    page.locator("#confirm-yes").dblclick()
    expect(page.locator("#found-state")).to_have_attribute("data-state", "cancelled", timeout=seconds(5) * MS)
    expect(page.locator("#message")).to_contain_text("已取消")
    expect(page.locator("#confirm")).to_be_hidden()
    assert sum('"ticket/cancel"' in f for f in frames) == 1, "one press, one command"
    status, answer = branch.teller(6).call("POST", f"/branches/demo/tickets/{ticket['id']}/cancel")
    assert status == 403  # a teller may not; and the manager's second try is refused as already cancelled
    status, answer = branch._manager.call("POST", f"/branches/demo/tickets/{ticket['id']}/cancel")
    assert status == 409 and answer["error"]["code"] == "invalid_transition"
    assert page.errors == []


def test_the_lobby_console_in_zh_tw_shows_only_traditional_chinese_or_english(server, branch, new_page):
    from .test_languages import assert_traditional
    from .test_languages import sign_in as sign_in_any_language

    ticket = branch.issue("E")
    page = new_page(f"{server.base_url}/lobby/demo?lang=zh-TW")
    sign_in_any_language(page, "manager")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    expect(page.locator("#services tbody tr").first).to_be_visible(timeout=seconds(10) * MS)
    find(page, ticket["number"])
    assert_traditional(page, "the lobby console")
    assert page.errors == []


KIOSK_AUTH = {"Authorization": "Bearer demo-kiosk"}


def test_the_lobby_manager_reprints_a_kiosk_ticket_at_its_kiosk_and_chooses_one_for_a_staff_ticket(
        server, branch, new_page):
    api = server.api()
    at_kiosk = api.ok("POST", "/branches/demo/tickets", {"service": "A"}, headers=KIOSK_AUTH)
    by_staff = branch.issue("B")
    page = lobby(server, new_page)
    find(page, at_kiosk["number"])
    page.locator("#reprint").click()
    confirm(page)
    expect(page.locator("#message")).to_contain_text(f"补打 {at_kiosk['number']}", timeout=seconds(5) * MS)
    jobs = api.ok("GET", "/devices/me/print-jobs?after_id=0", headers=KIOSK_AUTH)
    assert [j["number"] for j in jobs] == [at_kiosk["number"]] and jobs[0]["reprinted_at"]

    find(page, by_staff["number"])
    page.locator("#reprint").click()
    confirm(page)
    expect(page.locator("#message")).to_contain_text("请选择取号机", timeout=seconds(5) * MS)
    page.locator("#reprint-kiosk").select_option(index=1)
    page.locator("#reprint").click()
    confirm(page)
    expect(page.locator("#message")).to_contain_text(f"补打 {by_staff['number']}", timeout=seconds(5) * MS)
    jobs = api.ok("GET", "/devices/me/print-jobs?after_id=0", headers=KIOSK_AUTH)
    assert [j["number"] for j in jobs] == [at_kiosk["number"], by_staff["number"]]
    assert page.errors == []
