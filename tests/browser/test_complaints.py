"""The complaint pages in real Chromium, against the real server, up to the point a case is sent:
the way from a ticket's phone page to the form, the form's own checks, the hotline entry's keyboard
and ticket look-up, who may open the desk, zh-TW, and the layout at each size. What follows a case
being made is in test_complaints_flow.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .complaint_helpers import PHONE, SIDEWAYS, STAFF_SIZES, fill_customer_form, ms, staff_page
from .test_languages import assert_traditional, sign_in

# --- what works without a case ---


def test_a_teller_is_told_the_desk_is_for_managers(server, new_page):
    page = new_page(f"{server.base_url}/manage/demo/complaints")
    sign_in(page, "teller1")
    expect(page.locator("#no-access")).to_be_visible(timeout=ms(10))
    expect(page.locator("#cases tbody tr")).to_have_count(0)


def test_the_tickets_phone_page_leads_to_the_form_linked_to_that_ticket(server, branch, new_page):
    ticket = branch.issue("A")
    page = new_page(f"{server.base_url}/t/{ticket['token']}", **PHONE)
    expect(page.locator("#number")).to_have_text(ticket["number"], timeout=ms(10))
    page.get_by_role("link", name="投诉/建议 Complaint or suggestion").click()
    expect(page).to_have_url(re.compile(rf"/complain/demo\?ticket={ticket['token']}$"))
    expect(page.locator("#ticket")).to_contain_text(ticket["number"], timeout=ms(10))
    expect(page.locator("#ticket")).to_contain_text("现金")
    expect(page.locator("#branch")).not_to_have_text("demo")  # the branch's name, read through the ticket
    expect(page.locator("h1")).to_have_text("投诉与建议")
    assert page.errors == []


def test_the_form_says_what_is_missing_before_anything_is_sent(server, new_page):
    page = new_page(f"{server.base_url}/complain/demo?lang=en", **PHONE)
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/complaints" in r.url and r.method == "POST" else None)
    expect(page.locator("h1")).to_have_text("Complaints and suggestions")
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Choose a category")
    expect(page.locator("select[name=category]")).to_be_focused()
    page.locator("select[name=category]").select_option("fees")
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Tell us what happened")
    page.locator("textarea[name=text]").fill("A fee I was never told about")
    page.locator("input[name=name]").fill("Li Hua")
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Give a phone number or an email")
    expect(page.locator("input[name=phone]")).to_be_focused()
    assert sent == [] and page.errors == []


def test_the_hotline_form_goes_by_keyboard_and_finds_todays_ticket(server, branch, new_page):
    ticket = branch.issue("B")
    called = branch.call_next(2)
    assert called["number"] == ticket["number"]
    page = staff_page(server, new_page, "/manage/demo/complaints/new")
    channel = page.locator("select[name=channel]")
    expect(channel).to_be_focused(timeout=ms(10))
    expect(channel).to_have_value("hotline")
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.name"))
    assert order == ["category", "name", "phone", "email"]
    page.locator("input[name=ticket]").fill(ticket["number"].lower())
    page.locator("input[name=ticket]").press("Enter")
    expect(page.locator("#ticket-found")).to_contain_text(f"{ticket['number']}：B ", timeout=ms(5))
    expect(page.locator("#ticket-found")).to_contain_text("2 号窗口")
    page.locator("input[name=ticket]").fill("Z999")
    page.locator("input[name=ticket]").press("Enter")
    expect(page.locator("#error")).to_be_visible(timeout=ms(5))
    expect(page.locator("#ticket-found")).to_have_text("")
    tellers = page.locator("select[name=teller] option").all_inner_texts()
    assert any("teller3" in t for t in tellers) and not any("manager" in t for t in tellers)
    assert page.errors == []


def test_the_dashboard_links_to_the_complaint_desk(server, new_page):
    page = staff_page(server, new_page, "/manage/demo")
    link = page.locator("#to-complaints")
    expect(link).to_have_attribute("href", "/manage/demo/complaints", timeout=ms(10))
    expect(link).to_have_text("投诉处理 Complaint desk")


def test_the_form_and_the_entry_in_zh_tw_show_only_traditional_chinese_or_english(server, new_page):
    form = new_page(f"{server.base_url}/complain/demo?lang=zh-TW", **PHONE)
    expect(form.locator("select[name=category] option")).to_have_count(9, timeout=ms(10))
    assert_traditional(form, "the complaint form")
    entry = staff_page(server, new_page, "/manage/demo/complaints/new", lang="zh-TW")
    expect(entry.locator("select[name=teller] option").nth(1)).to_be_attached(timeout=ms(10))
    assert_traditional(entry, "the hotline entry form")
    assert form.errors == [] and entry.errors == []


def test_the_form_fits_a_phone_even_with_a_long_story(server, new_page):
    page = new_page(f"{server.base_url}/complain/demo", **PHONE)
    fill_customer_form(page, name="冯手机", phone="13800000000", text="很长的说明没有空格" * 60)
    page.locator("input[name=email]").fill("a-very-long-address-without-any-break@example-bank-customer.example.com")
    assert page.evaluate(SIDEWAYS) == []


@pytest.mark.parametrize(("width", "height"), STAFF_SIZES)
def test_the_entry_form_holds_its_layout(server, new_page, width, height):
    page = staff_page(server, new_page, "/manage/demo/complaints/new", width=width, height=height)
    expect(page.locator("select[name=teller] option").nth(1)).to_be_attached(timeout=ms(10))
    assert page.evaluate(SIDEWAYS) == []
    # The whole form, to its Record key, is on one screen: a hotline call is not scrolled through.
    bottom = page.locator("#record").evaluate("(b) => b.getBoundingClientRect().bottom")
    assert bottom <= height, bottom
