"""The evaluator as a customer uses it: a face, then tags, then submit; faces drawn, the teller named."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import seconds

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def ms(s: float) -> float:
    return seconds(s) * 1000


def finished_at(branch, counter: int) -> dict:
    ticket = branch.issue("D")
    branch.teller(counter)
    called = branch.call_next(counter)
    branch.act(counter, "finish")
    return called if called["number"] == ticket["number"] else called


def test_tags_ticked_after_the_face_count_and_submit_sends_them(server, branch, new_page):
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator", width=1280, height=800)
    expect(evaluator.locator("#welcome")).to_be_visible(timeout=ms(5))
    evaluator.wait_for_timeout(500)  # the socket's snapshot is in before the counter opens
    branch.teller(5)  # opens counter 5 under teller5: the pad names who it rates
    expect(evaluator.locator("#teller")).to_contain_text("teller5", timeout=ms(10))
    expect(evaluator.locator("#teller")).to_contain_text("工号 teller5")
    finished = finished_at(branch, 5)
    expect(evaluator.locator("#rate")).to_be_visible(timeout=ms(5))
    expect(evaluator.locator("#rate-number")).to_have_text(finished["number"])
    expect(evaluator.locator("#rate-teller")).to_contain_text("teller5")
    evaluator.locator('.stars button[data-score="5"]').click()
    expect(evaluator.locator("#rate")).to_be_visible()  # a face alone does not send yet
    evaluator.get_by_label("专业 Professional").check()
    evaluator.get_by_label("快捷 Fast").check()
    evaluator.get_by_role("button", name="提交 Submit").click()
    expect(evaluator.locator("#thanks")).to_be_visible(timeout=ms(5))
    rated = evaluator.evaluate("window.__evaluator.rated")
    assert rated == [{"score": 5, "tags": ["fast", "professional"]}]
    assert evaluator.errors == []


def test_a_chosen_face_left_alone_is_submitted_by_itself(server, branch, new_page):
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator&submit_s=1",
                         width=1280, height=800)
    expect(evaluator.locator("#welcome")).to_be_visible(timeout=ms(5))
    evaluator.wait_for_timeout(500)  # the socket's snapshot is in before the finish
    finished_at(branch, 5)
    expect(evaluator.locator("#rate")).to_be_visible(timeout=ms(5))
    evaluator.locator('.stars button[data-score="3"]').click()
    expect(evaluator.locator("#thanks")).to_be_visible(timeout=ms(5))
    assert evaluator.evaluate("window.__evaluator.rated") == [{"score": 3, "tags": []}]


def test_the_faces_are_drawn_without_an_emoji_font(server, new_page):
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator", width=1280, height=800)
    evaluator.evaluate("document.getElementById('rate').hidden = false")
    buttons = evaluator.locator(".stars button")
    expect(buttons).to_have_count(5)
    for i in range(5):
        button = buttons.nth(i)
        assert button.locator("svg circle").count() == 3, "a face: its head and two eyes"
        assert not EMOJI.search(button.inner_text()), button.inner_text()
        box = button.locator("svg").bounding_box()
        assert box and box["width"] >= 48 and box["height"] >= 48


def test_after_a_low_score_one_tap_shows_a_qr_code_and_the_phone_continues_the_complaint(
        server, branch, new_page):
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator", width=1280, height=800)
    expect(evaluator.locator("#welcome")).to_be_visible(timeout=ms(5))
    evaluator.wait_for_timeout(500)  # the socket's snapshot is in before the finish
    finished = finished_at(branch, 5)
    expect(evaluator.locator("#rate")).to_be_visible(timeout=ms(5))
    evaluator.locator('.stars button[data-score="1"]').click()
    evaluator.get_by_role("button", name="提交 Submit").click()
    want = evaluator.get_by_role("button", name="我要投诉 I want to complain")
    expect(want).to_be_visible(timeout=ms(5))
    want.click()
    expect(evaluator.locator("#complain-qr svg")).to_be_visible(timeout=ms(5))
    [url] = evaluator.evaluate("window.__evaluator.links")
    assert re.search(r"/complain/demo\?ticket=[A-Za-z0-9_-]{8,}&lang=zh-CN$", url), url
    expect(evaluator.locator("#complain-url")).to_have_text(url)
    phone = new_page(url, width=390, height=844)
    expect(phone.locator("#ticket")).to_contain_text(finished["number"], timeout=ms(10))
    evaluator.get_by_role("button", name="关闭 Close").click()
    expect(evaluator.locator("#welcome")).to_be_visible()
    assert evaluator.errors == [] and phone.errors == []


def test_a_good_score_offers_no_complaint(server, branch, new_page):
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator", width=1280, height=800)
    expect(evaluator.locator("#welcome")).to_be_visible(timeout=ms(5))
    evaluator.wait_for_timeout(500)
    finished_at(branch, 5)
    expect(evaluator.locator("#rate")).to_be_visible(timeout=ms(5))
    evaluator.locator('.stars button[data-score="4"]').click()
    evaluator.get_by_role("button", name="提交 Submit").click()
    expect(evaluator.locator("#thanks")).to_be_visible(timeout=ms(5))
    expect(evaluator.locator("#complain")).to_be_hidden()
