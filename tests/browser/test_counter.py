"""The teller's page and the evaluator in real Chromium, against a real server process."""

from __future__ import annotations

import json
from contextlib import contextmanager

from playwright.sync_api import expect
from websockets.sync.client import connect as ws_connect

from tests.conftest import seconds

MS = 1000


def sign_in(page, username: str) -> None:
    page.get_by_label("用户名 Username").fill(username)
    page.get_by_label("密码 Password").fill("demo-pass")
    page.get_by_role("button", name="登录 Sign in").click()


@contextmanager
def display_socket(server):
    with ws_connect(server.base_url.replace("http", "ws") + "/ws", proxy=None) as ws:
        ws.send(json.dumps({"type": "hello", "role": "display", "branch": "demo", "token": "demo-display"}))
        assert json.loads(ws.recv(timeout=seconds(5)))["type"] == "welcome"
        assert json.loads(ws.recv(timeout=seconds(5)))["type"] == "snapshot"
        yield ws


def next_event(ws, kind: str) -> dict:
    while True:
        message = json.loads(ws.recv(timeout=seconds(5)))
        if message.get("kind") == kind:
            return message


def test_teller_calls_with_one_key_and_every_screen_hears_it(server, branch, new_page):
    ticket = branch.issue("B")
    with display_socket(server) as display:
        called = watch_and_call(display, server, ticket, new_page)
    assert called["data"]["number"] == ticket["number"] and called["data"]["counter"] == 2


def watch_and_call(display, server, ticket, new_page) -> dict:
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=2")
    sign_in(page, "teller2")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=seconds(5) * MS)
    expect(page.locator("#waiting")).to_contain_text(ticket["number"], timeout=seconds(5) * MS)
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(ticket["number"], timeout=seconds(5) * MS)
    called = next_event(display, "ticket.called")
    expect(page.locator("#service-timer")).not_to_have_text("—")
    expect(page.locator("#waited")).not_to_have_text("—")
    page.keyboard.press("s")
    expect(page.locator("#current-service")).to_contain_text("serving", timeout=seconds(5) * MS)
    assert page.errors == []
    return called


def test_transfer_lands_the_ticket_in_the_other_queue_at_the_chosen_place(server, branch, new_page):
    first_c = branch.issue("C")
    moving = branch.issue("A")
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=6")
    sign_in(page, "teller6")
    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=seconds(5) * MS)
    page.locator("#waiting tr", has_text=moving["number"]).get_by_role("button").click()
    expect(page.locator("#current-number")).to_have_text(moving["number"], timeout=seconds(5) * MS)
    page.keyboard.press("t")
    page.get_by_label("到业务 To service").select_option("C")
    page.get_by_label("最前 First").check()
    page.get_by_role("button", name="转移 Transfer", exact=True).click()
    expect(page.locator("#current-number")).to_have_text("—", timeout=seconds(5) * MS)
    queue = branch.teller(4).ok("GET", "/branches/demo/queue?counter=4")["tickets"]
    numbers = [t["number"] for t in queue]
    assert numbers.index(moving["number"]) < numbers.index(first_c["number"]), numbers
    assert [t for t in queue if t["number"] == moving["number"]][0]["service"] == "C"


def test_after_finish_the_evaluator_asks_and_the_rating_goes_to_the_teller(server, branch, new_page):
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator", width=1280, height=800)
    assert "token=" not in evaluator.url, "the token leaves the address bar"
    ticket = branch.issue("D")
    branch.teller(5)
    called = branch.call_next(5)
    assert called["number"] == ticket["number"]
    expect(evaluator.locator("#welcome")).to_be_visible(timeout=seconds(5) * MS)
    branch.act(5, "finish")
    expect(evaluator.locator("#rate")).to_be_visible(timeout=seconds(5) * MS)
    expect(evaluator.locator("#rate-number")).to_have_text(ticket["number"])
    evaluator.get_by_label("热情 Friendly").check()
    evaluator.locator('.stars button[data-score="4"]').click()
    evaluator.get_by_role("button", name="提交 Submit").click()
    expect(evaluator.locator("#thanks")).to_be_visible(timeout=seconds(5) * MS)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    tellers = {t["teller"]: t for t in manager.ok("GET", "/branches/demo/reports/tellers")["tellers"]}
    assert tellers["teller5"]["ratings"] == 1 and tellers["teller5"]["rating_mean"] == 4.0
    status, again = manager.call(
        "POST", "/branches/demo/counters/5/feedback", {"score": 1},
        headers={"Authorization": "Bearer demo-evaluator"},
    )
    assert status == 409 and again["error"]["code"] == "already_rated"


def test_a_second_teller_is_refused_and_a_manager_can_take_over(server, new_page):
    holder = server.api()
    holder.ok("POST", "/auth/login", {"username": "teller1", "password": "demo-pass"})
    holder.ok("POST", "/branches/demo/counters/1/open")
    intruder = server.api()
    intruder.ok("POST", "/auth/login", {"username": "teller3", "password": "demo-pass"})
    status, answer = intruder.call("POST", "/branches/demo/counters/1/open")
    assert status == 403 and "counter 1" in answer["error"]["message"]
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=1")
    sign_in(page, "manager")
    expect(page.locator("#who")).to_have_text("teller1", timeout=seconds(5) * MS)
    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#who")).to_have_text("manager", timeout=seconds(5) * MS)
    status, answer = holder.call("POST", "/branches/demo/counters/1/call-next")
    assert status == 403 and "not open under your name" in answer["error"]["message"]


def test_an_action_out_of_order_shows_a_plain_message_and_changes_nothing(server, branch, new_page):
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=3")
    sign_in(page, "teller3")
    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=seconds(5) * MS)
    before = branch.teller(3).ok("GET", "/branches/demo/counters/3")
    page.keyboard.press("f")
    expect(page.locator("#message")).to_be_visible(timeout=seconds(5) * MS)
    # The refusal says why, not only "Not now: Finish".
    expect(page.locator("#message")).to_contain_text("没有已呼叫的顾客")
    page.evaluate("fetch('/api/v1/branches/demo/counters/3/finish', {method: 'POST'})"
                  ".then(r => r.json()).then(j => window.__teller.messages.push(j.error.message))")
    page.wait_for_function("window.__teller.messages.some(m => m.includes('nothing to finish'))",
                           timeout=seconds(5) * MS)
    after = branch.teller(3).ok("GET", "/branches/demo/counters/3")
    assert after["counter"] == before["counter"]


def test_a_double_press_of_call_next_calls_one_customer_and_finishes_nobody(server, branch, new_page):
    # Counter 2 may already be open with a customer from an earlier test of this module's server.
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=2")
    sign_in(page, "teller2")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    if page.get_by_role("button", name="开启 Open").is_enabled():
        page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=seconds(5) * MS)
    for _ in range(3):
        last = branch.issue("B")
    expect(page.locator("#waiting")).to_contain_text(last["number"], timeout=seconds(5) * MS)
    before = page.locator("#current-number").text_content()
    page.keyboard.press("Space")
    page.keyboard.press("Space")  # at once: the second press still sees what the first one saw (stale)
    expect(page.locator("#current-number")).not_to_have_text(before, timeout=seconds(5) * MS)
    called = page.locator("#current-number").text_content()
    page.keyboard.press("Space")  # after the call arrived: a second press, not a wish to finish
    page.locator('.actions button[data-action="call-next"]').dblclick()  # a double click on the key
    page.wait_for_timeout(500)
    expect(page.locator("#current-number")).to_have_text(called)
    current = branch.teller(2).ok("GET", "/branches/demo/counters/2")["counter"]["current"]
    assert current["number"] == called and current["state"] == "called", current
    assert page.errors == []
