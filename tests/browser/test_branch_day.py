"""A branch's day as its people live it: a teller signing out with a customer called, a kiosk
whose printer failed on the ticket it just issued, notices that run out on every screen."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from tests.conftest import seconds

from .conftest import ServerProcess
from .test_counter import sign_in

MS = 1000
KIOSK_AUTH = {"Authorization": "Bearer demo-kiosk"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo server, taking notices past their end time down every 0.2 s."""
    process = ServerProcess(tmp_path_factory.mktemp("server"), env={"BRANCHQ_NOTICE_CHECK_S": "0.2"})
    process.start()
    yield process
    process.stop()


# --- the teller signs out with a customer called ------------------------------------------


def teller_with_a_called_customer(server, branch, new_page, counter: int, service: str):
    """Teller N at counter N on the page, a customer of ``service`` called there by the one key."""
    ticket = branch.issue(service)
    page = new_page(f"{server.base_url}/counter?branch=demo&counter={counter}")
    sign_in(page, f"teller{counter}")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=seconds(5) * MS)
    expect(page.locator("#waiting")).to_contain_text(ticket["number"], timeout=seconds(5) * MS)
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(ticket["number"], timeout=seconds(5) * MS)
    return page, ticket


def sign_out_choosing(page, choice: str) -> None:
    page.locator("#signout").click()
    dialog = page.locator("#signout-dialog")
    expect(dialog).to_be_visible(timeout=seconds(5) * MS)
    dialog.locator(f'button[value="{choice}"]').click()


def manager(branch):
    """The lobby manager's session (the one ``branch.issue`` signs in)."""
    if branch._manager is None:
        branch.issue("A")
    return branch._manager


def counter_now(branch, counter: int) -> dict:
    return manager(branch).ok("GET", f"/branches/demo/counters/{counter}")["counter"]


def ticket_now(branch, ticket: dict) -> dict:
    return branch.public.ok("GET", f"/tickets/{ticket['token']}")


def test_signing_out_with_a_customer_called_asks_what_to_do_and_put_back_puts_them_first(
    server, branch, new_page
):
    page, ticket = teller_with_a_called_customer(server, branch, new_page, 4, "C")
    page.locator("#signout").click()
    dialog = page.locator("#signout-dialog")
    expect(dialog).to_be_visible(timeout=seconds(5) * MS)
    expect(dialog).to_contain_text(ticket["number"])
    choices = dialog.locator("button").evaluate_all("buttons => buttons.map((b) => b.value)")
    assert choices == ["finish", "no_show", "put_back", "keep", "cancel"]
    expect(dialog.locator('button[value="put_back"]')).to_contain_text("放回队首")
    dialog.locator('button[value="cancel"]').click()  # 不退出: nothing happens
    expect(dialog).to_have_count(0)
    expect(page.locator("#current-number")).to_have_text(ticket["number"])
    assert ticket_now(branch, ticket)["state"] == "called"

    sign_out_choosing(page, "put_back")
    expect(page.get_by_label("用户名 Username")).to_be_visible(timeout=seconds(10) * MS)
    assert ticket_now(branch, ticket)["state"] == "waiting"
    after = counter_now(branch, 4)
    assert after["state"] == "closed" and after["current"] is None, after
    queue = manager(branch).ok("GET", "/branches/demo/queue")
    numbers = [t["number"] for t in queue["tickets"] if t["service"] == "C"]
    assert numbers[0] == ticket["number"], "put back first in its queue"
    assert page.errors == []


def test_signing_out_with_a_customer_who_never_came_records_a_no_show_and_closes_the_counter(
    server, branch, new_page
):
    page, ticket = teller_with_a_called_customer(server, branch, new_page, 5, "D")
    sign_out_choosing(page, "no_show")
    expect(page.get_by_label("用户名 Username")).to_be_visible(timeout=seconds(10) * MS)
    assert ticket_now(branch, ticket)["state"] == "no_show"
    after = counter_now(branch, 5)
    assert after["state"] == "closed" and after["current"] is None, after
    assert page.errors == []


def test_signing_out_after_serving_the_customer_finishes_them_and_closes_the_counter(server, branch, new_page):
    page, ticket = teller_with_a_called_customer(server, branch, new_page, 6, "E")
    sign_out_choosing(page, "finish")
    expect(page.get_by_label("用户名 Username")).to_be_visible(timeout=seconds(10) * MS)
    assert ticket_now(branch, ticket)["state"] == "done"
    assert counter_now(branch, 6)["state"] == "closed"
    assert page.errors == []


def test_signing_out_keeping_the_customer_pauses_the_counter_and_puts_them_back(server, branch, new_page):
    """Keep: the teller leaves in a hurry; the server pauses the counter and no one waits for a ghost."""
    page, ticket = teller_with_a_called_customer(server, branch, new_page, 2, "B")
    sign_out_choosing(page, "keep")
    expect(page.get_by_label("用户名 Username")).to_be_visible(timeout=seconds(10) * MS)
    after = counter_now(branch, 2)
    assert after["state"] == "paused" and after["current"] is None, after
    assert ticket_now(branch, ticket)["state"] == "waiting"
    assert page.errors == []


# --- a notice whose time is over leaves every screen --------------------------------------


def test_a_notice_whose_time_is_over_leaves_the_board_kiosk_counter_top_and_phone_without_a_reload(
    server, branch, board_url, new_page
):
    ticket = branch.issue("A")
    board = new_page(board_url(announce="off"))
    kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    counter_top = new_page(board_url("/counter/3"), width=1280, height=800)
    phone = new_page(f"{server.base_url}/t/{ticket['token']}", width=390, height=844)
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    expect(counter_top.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    expect(kiosk.locator("#services button").first).to_be_enabled(timeout=seconds(10) * MS)
    expect(phone.locator("#number")).to_have_text(ticket["number"], timeout=seconds(10) * MS)

    text = "午间 12:00–13:00 仅开放两个窗口"
    notice = manager(branch).ok("POST", "/branches/demo/notices", {"texts": {"zh-CN": text}, "minutes": 30})
    showing = {"board": board.locator("#ticker"), "kiosk": kiosk.locator("#notice"),
               "counter-top": counter_top.locator("#notice"), "phone": phone.locator("#notices")}
    for where, locator in showing.items():
        expect(locator, where).to_contain_text(text, timeout=seconds(10) * MS)
    loads = {name: page.evaluate("performance.getEntriesByType('navigation').length + performance.timeOrigin")
             for name, page in (("board", board), ("kiosk", kiosk), ("counter-top", counter_top), ("phone", phone))}

    with sqlite3.connect(server.workdir / "branchq.db") as db:  # its 30 minutes are over now
        db.execute("UPDATE notices SET expires_at = posted_at WHERE id = ?", (notice["id"],))
    for where, locator in showing.items():
        expect(locator, where).not_to_contain_text(text, timeout=seconds(10) * MS)
    for name, page in (("board", board), ("kiosk", kiosk), ("counter-top", counter_top), ("phone", phone)):
        now = page.evaluate("performance.getEntriesByType('navigation').length + performance.timeOrigin")
        assert now == loads[name], f"the {name} page was reloaded"
        assert page.errors == [], name


# --- the kiosk's printer fails on the ticket it just issued -------------------------------


def kiosk_page(server, new_page):
    page = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    expect(page.locator("#services button").first).to_be_enabled(timeout=seconds(10) * MS)
    return page


def printer(server, **status) -> None:
    """The kiosk's printer as its agent reports it (``POST /devices/me/status``)."""
    server.api().ok("POST", "/devices/me/status", status, headers=KIOSK_AUTH)


def take(page, service: str) -> dict:
    page.wait_for_timeout(800)  # past the guard against a double tap after a change of screen
    page.locator(f'#services button[data-service="{service}"]').click()
    expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
    return page.evaluate("window.__kiosk.issued.at(-1)")


def test_when_the_ticket_just_issued_fails_to_print_the_kiosk_says_so_and_prints_a_copy_on_request(
    server, new_page
):
    page = kiosk_page(server, new_page)
    printer(server, printer={"online": True, "paper": "ok"})
    issued = take(page, "C")
    expect(page.locator("#print-failed")).to_be_hidden()
    printer(server, printer={"online": False, "paper": "ok", "message": "print failed: USB write error"})
    try:
        failed = page.locator("#print-failed")
        expect(failed).to_be_visible(timeout=seconds(5) * MS)
        expect(failed).to_contain_text("您的号码单未能打印")
        expect(page.locator("#number")).to_have_text(issued["number"])
        expect(page.locator("#reprint")).to_have_text("重新打印")
        expect(page.locator("#on-screen")).to_have_text("在屏幕上显示（手机扫码）")
        page.locator("#reprint").click()
        expect(failed).to_contain_text("正在重新打印", timeout=seconds(5) * MS)
        expect(page.locator("#reprint")).to_be_hidden()
        jobs = server.api().ok("GET", "/devices/me/print-jobs?after_id=0", headers=KIOSK_AUTH)
        copies = [j for j in jobs if j["id"] == issued["id"]]
        assert len(copies) == 1 and copies[0]["number"] == issued["number"], jobs
        assert copies[0]["job"], "a print job for this kiosk's agent, marked as a copy"
        page.locator("#on-screen").click()  # still no paper: the phone keeps the ticket instead
        expect(page.locator("#result")).to_have_class(re.compile(r"\bphone-ticket\b"))
        expect(failed).to_contain_text("请用手机扫码保存号码")
        assert page.locator("#qr").bounding_box()["width"] >= 400, "the code large enough to scan from afar"
        page.locator("#done").click()
        expect(page.locator("#start")).to_be_visible()
        expect(failed).to_be_hidden()
    finally:
        printer(server, printer={"online": True, "paper": "ok"}, last_printed=issued["id"])
    assert page.errors == []


def test_a_kiosk_out_of_paper_offers_the_phone_ticket_at_once_in_the_customers_language(server, new_page):
    page = kiosk_page(server, new_page)
    printer(server, printer={"online": True, "paper": "out"})
    try:
        page.get_by_role("button", name="English").click()
        issued = take(page, "A")
        expect(page.locator("#print-failed")).to_contain_text("Your ticket could not be printed",
                                                              timeout=seconds(5) * MS)
        small = page.locator("#qr").bounding_box()["width"]
        page.locator("#on-screen").click()
        expect(page.locator("#print-failed")).to_contain_text("Scan the code with your phone")
        assert page.locator("#qr").bounding_box()["width"] > 1.5 * small
        expect(page.locator("#reprint")).to_be_hidden()
        jobs = server.api().ok("GET", "/devices/me/print-jobs?after_id=0", headers=KIOSK_AUTH)
        assert all(j["id"] != issued["id"] for j in jobs), "no copy asked for: nothing to print later"
    finally:
        printer(server, printer={"online": True, "paper": "ok"}, last_printed=issued["id"])
    assert page.errors == []


def test_a_ticket_the_printer_prints_after_all_takes_the_offer_away(server, new_page):
    page = kiosk_page(server, new_page)
    printer(server, printer={"online": True, "paper": "ok"})
    issued = take(page, "B")
    printer(server, printer={"online": False, "paper": "unknown", "message": "print failed: timeout"})
    expect(page.locator("#print-failed")).to_be_visible(timeout=seconds(5) * MS)
    printer(server, printer={"online": True, "paper": "ok"}, last_printed=issued["id"])  # the retry worked
    expect(page.locator("#print-failed")).to_be_hidden(timeout=seconds(5) * MS)
    expect(page.locator("#number")).to_have_text(issued["number"])
    assert page.errors == []


# --- the lobby manager's console: what the board sends people to the front desk for -------


def lobby_page(server, new_page):
    from .test_lobby import lobby

    return lobby(server, new_page)


def test_the_lobby_manager_moves_a_waiting_ticket_to_another_service_and_it_keeps_its_number(
    server, branch, new_page
):
    from .test_lobby import confirm, find

    ticket = branch.issue("E")
    page = lobby_page(server, new_page)
    find(page, ticket["number"])
    page.locator("#to-service").select_option("A")
    page.locator("#change-service").click()
    confirm(page)
    expect(page.locator("#message")).to_contain_text(f"{ticket['number']} 已改为业务 A", timeout=seconds(5) * MS)
    expect(page.locator("#found-service")).to_have_text("A", timeout=seconds(5) * MS)
    queue = manager(branch).ok("GET", "/branches/demo/queue")["tickets"]
    moved = [t for t in queue if t["id"] == ticket["id"]]
    assert moved and moved[0]["service"] == "A" and moved[0]["number"] == ticket["number"], moved
    assert page.errors == []


def test_the_lobby_manager_closes_a_counter_its_teller_left_open(server, branch, new_page):
    from .test_lobby import confirm

    branch.teller(1)  # teller 1 opened counter 1 and went off
    page = lobby_page(server, new_page)
    close = page.locator('#counters button[data-counter="1"][data-action="close"]')
    expect(close).to_be_visible(timeout=seconds(5) * MS)
    close.click()
    confirm(page)
    expect(page.locator("#message")).to_contain_text("1 号窗口已关闭", timeout=seconds(5) * MS)
    expect(close).to_have_count(0, timeout=seconds(5) * MS)
    assert counter_now(branch, 1)["state"] == "closed"
    assert page.errors == []


# --- the phone tells the truth when nobody serves ----------------------------------------


def test_the_phone_of_a_ticket_sent_to_a_service_with_no_open_counter_says_so_until_one_opens(
    server, branch, new_page
):
    branch.teller(5)  # D's only counter: opened by its teller, then closed
    if counter_now(branch, 5)["state"] != "closed":
        branch.act(5, "close")
    ticket = branch.issue("A")
    branch.act(3, "call", {"ticket": ticket["number"]})
    branch.act(3, "transfer", {"service": "D", "position": "first"})
    phone = new_page(f"{server.base_url}/t/{ticket['token']}", width=390, height=844)
    expect(phone.locator("#number")).to_have_text(ticket["number"], timeout=seconds(10) * MS)
    expect(phone.locator("#estimate")).to_contain_text("目前暂无窗口办理此业务", timeout=seconds(5) * MS)
    expect(phone.locator("#estimate")).not_to_contain_text("即将叫号")
    phone.wait_for_function("window.__phone.live && window.__phone.live.connected", timeout=seconds(10) * MS)
    branch.act(5, "open")
    expect(phone.locator("#estimate")).not_to_contain_text("目前暂无窗口办理此业务", timeout=seconds(10) * MS)
    assert phone.errors == []


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920), (1366, 768)])
def test_the_failed_print_offer_and_the_phone_ticket_fit_the_kiosk_screen(server, new_page, width, height):
    from .test_layouts import OVERFLOW

    page = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=width, height=height)
    expect(page.locator("#services button").first).to_be_enabled(timeout=seconds(10) * MS)
    printer(server, printer={"online": True, "paper": "out"})
    try:
        page.get_by_role("button", name="English").click()  # the longest words
        issued = take(page, "A")
        expect(page.locator("#print-failed")).to_be_visible(timeout=seconds(5) * MS)
        page.wait_for_timeout(800)  # settled
        assert page.evaluate(OVERFLOW) == [], "the offer of a copy"
        page.locator("#on-screen").click()
        expect(page.locator("#result")).to_have_class(re.compile(r"\bphone-ticket\b"))
        assert page.evaluate(OVERFLOW) == [], "the phone ticket"
    finally:
        printer(server, printer={"online": True, "paper": "ok"}, last_printed=issued["id"])


# --- the manager acts on services from the dashboard --------------------------------------


def test_the_manager_suspends_a_service_from_the_dashboard_and_the_kiosk_greys_it_until_resumed(
    server, new_page
):
    from .test_dashboard_alerts import dashboard

    kiosk = kiosk_page(server, new_page)
    button = kiosk.locator('#services button[data-service="C"]')
    expect(button).to_be_enabled()
    page = dashboard(server, new_page)
    expect(page.locator("#to-lobby")).to_have_attribute("href", "/lobby/demo")
    suspend = page.locator('#services button[data-service="C"][data-switch="suspend"]')
    expect(suspend).to_be_visible(timeout=seconds(5) * MS)
    page.once("dialog", lambda dialog: dialog.accept())
    suspend.click()
    expect(page.locator("#service-result")).to_contain_text("业务 C 已暂停办理", timeout=seconds(5) * MS)
    expect(button).to_be_disabled(timeout=seconds(10) * MS)
    expect(button).to_contain_text("暂停办理")
    status, answer = server.api().call("POST", "/branches/demo/tickets", {"service": "C"}, headers=KIOSK_AUTH)
    assert status == 409 and answer["error"]["code"] == "suspended"

    resume = page.locator('#services button[data-service="C"][data-switch="resume"]')
    expect(resume).to_be_visible(timeout=seconds(5) * MS)
    page.once("dialog", lambda dialog: dialog.accept())
    resume.click()
    expect(page.locator("#service-result")).to_contain_text("业务 C 已恢复办理", timeout=seconds(5) * MS)
    expect(button).to_be_enabled(timeout=seconds(10) * MS)
    assert page.errors == [] and kiosk.errors == []


# --- the green channel shows at every step -----------------------------------------------


def test_the_kiosk_shows_the_green_channel_is_on_from_the_reason_to_the_ticket(server, new_page):
    page = kiosk_page(server, new_page)
    page.locator("#green").click()
    page.wait_for_timeout(800)
    page.locator('[data-reason="elderly"]').click()
    expect(page.locator("#green")).to_contain_text("已开启绿色通道：老年人", timeout=seconds(5) * MS)
    expect(page.locator("body")).to_have_class(re.compile(r"\bgreen-mode\b"))
    issued = take(page, "A")
    assert issued["priority"] == "green" and issued["number"].startswith("G")
    expect(page.locator("#result-green")).to_be_visible()
    expect(page.locator("#result-green")).to_contain_text("绿色通道 Green channel · 老年人")
    page.locator("#done").click()
    expect(page.locator("#green")).not_to_contain_text("已开启", timeout=seconds(5) * MS)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bgreen-mode\b"))
    assert page.errors == []


def test_the_failed_print_offer_in_zh_tw_shows_only_traditional_chinese_or_english(server, new_page):
    from .test_languages import assert_traditional

    page = kiosk_page(server, new_page)
    printer(server, printer={"online": False, "paper": "ok", "message": "print failed: USB write error"})
    try:
        page.get_by_role("button", name="繁體中文").click()
        issued = take(page, "A")
        expect(page.locator("#print-failed")).to_contain_text("您的號碼單未能列印", timeout=seconds(5) * MS)
        assert_traditional(page, "the kiosk's failed print")
        page.locator("#reprint").click()
        expect(page.locator("#print-failed")).to_contain_text("正在重新列印", timeout=seconds(5) * MS)
        assert_traditional(page, "the kiosk's reprint")
        page.locator("#on-screen").click()
        expect(page.locator("#print-failed")).to_contain_text("請用手機掃碼")
        assert_traditional(page, "the kiosk's phone ticket")
    finally:
        printer(server, printer={"online": True, "paper": "ok"}, last_printed=issued["id"])
    assert page.errors == []
