"""Appointments and remote queueing in real Chromium, on the phone sizes customers have (390×844,
360×640): booking a slot in each language, one booking for a double tap, the form's own checks,
rescheduling and cancelling from the booking's page, checking in at the kiosk by code and on the
phone, "queue now" with the advice when to set off, "notify me when N ahead" on the ticket's page,
and today's bookings on the dashboard. Until the server has the booking routes, booking_helpers
answers them in the page (see its docstring); the tickets, kiosk, counters and pages are real."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .booking_helpers import Bookings, a_phone, booking_day
from .complaint_helpers import SIDEWAYS, ms
from .conftest import ServerProcess
from .test_languages import assert_traditional, sign_in

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 640}
KIOSK = {"width": 1080, "height": 1920}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """The demo server, its booking limits out of the way: pages here book far faster than people
    (the limits have their own tests)."""
    process = ServerProcess(tmp_path_factory.mktemp("server"), env={
        "BRANCHQ_BOOKING_RATE_LIMIT": "1000000/second", "BRANCHQ_COMPLAINT_GUESS_LIMIT": "1000000/second"})
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def bookings(server, branch) -> Bookings:
    return Bookings(server, branch)


@pytest.fixture
def phone(server, new_page, bookings):
    """A page of the server on a phone, its booking calls answered (see booking_helpers)."""

    def open_page(path: str, *, size: dict = PHONE, context_options: dict | None = None):
        page = new_page("about:blank", **size)
        bookings.attach(page)
        if context_options and context_options.get("permissions"):
            page.context.grant_permissions(context_options["permissions"], origin=server.base_url)
        page.goto(server.base_url + path)
        return page

    return open_page


def choose_a_slot(page, *, service: str = "A", day_index: int = 2) -> None:
    """Service, the day `day_index` days from today, and its first slot with a free place."""
    page.locator("#services button", has_text=re.compile(rf"^{service} ")).click()
    page.locator("#days button").nth(day_index).click()
    free = page.locator("#slots button:not([disabled])").first
    expect(free).to_be_visible(timeout=ms(10))
    free.click()
    expect(page.locator("#form")).to_be_visible()


def fill_contact(page, *, name: str = "李预约", phone: str | None = None, consent: bool = True) -> None:
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=phone]").fill(phone or a_phone())
    if consent:
        page.locator("input[name=consent]").check()


# --- booking on the phone ---


@pytest.mark.parametrize(("lang", "title", "booked"), [
    ("zh-CN", "预约与排队", "预约成功"), ("en", "Book or queue", "You are booked"), ("zh-TW", "預約與排隊", "預約成功"),
])
def test_a_customer_books_a_slot_on_the_phone_and_gets_a_code_and_a_qr_code(phone, lang, title, booked):
    page = phone(f"/book/demo?lang={lang}")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#services button").first).to_be_visible(timeout=ms(10))
    choose_a_slot(page)
    fill_contact(page)
    page.locator("#submit").click()
    expect(page.locator("#done h2")).to_have_text(booked, timeout=ms(10))
    expect(page.locator("#code")).to_have_text(re.compile(r"\S{4,}"))
    qr = page.locator("#qr")
    expect(qr).to_have_attribute("src", re.compile(r"^/b/[A-Za-z0-9_-]{8,64}/qr\.svg$"))
    page.wait_for_function("() => document.getElementById('qr').naturalWidth > 0", timeout=ms(10))
    expect(page.locator("#manage")).to_have_attribute("href", re.compile(r"^/b/[A-Za-z0-9_-]{8,64}"))
    if lang == "zh-TW":
        assert_traditional(page, "the booking page")
    assert page.evaluate(SIDEWAYS) == []
    assert page.errors == []


def test_a_double_tap_on_book_makes_one_booking(phone):
    page = phone("/book/demo")
    expect(page.locator("#services button").first).to_be_visible(timeout=ms(10))
    choose_a_slot(page, service="B")
    fill_contact(page, name="双击")
    posts = []
    booking_posts = lambda r: r.method == "POST" and r.url.endswith("/branches/demo/bookings")  # noqa: E731
    page.on("request", lambda r: posts.append(r) if booking_posts(r) else None)
    page.locator("#submit").dblclick()
    expect(page.locator("#done")).to_be_visible(timeout=ms(10))
    page.wait_for_timeout(300)
    assert len(posts) == 1
    assert page.evaluate("window.__book.sent") == 1


def test_the_form_says_what_is_missing_before_anything_is_sent(phone):
    page = phone("/book/demo?lang=en")
    expect(page.locator("#services button").first).to_be_visible(timeout=ms(10))
    choose_a_slot(page)
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Give your name")
    page.locator("input[name=name]").fill("Li")
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Give a mobile number or an email")
    expect(page.locator("input[name=phone]")).to_be_focused()
    page.locator("input[name=email]").fill("li@example.com")
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Tick the box to let us contact you")
    assert sent == [] and page.errors == []


def test_a_full_slot_and_a_past_slot_cannot_be_chosen(phone, bookings):
    page = phone("/book/demo")
    expect(page.locator("#services button").first).to_be_visible(timeout=ms(10))
    page.locator("#services button").first.click()
    day = page.locator("#days button").nth(2)
    slots = bookings.slots("A", day.get_attribute("data-date"))
    day.click()
    expect(page.locator("#slots button")).to_have_count(len(slots), timeout=ms(10))
    for i, slot in enumerate(slots):
        button = page.locator("#slots button").nth(i)
        if slot["free"] <= 0:
            expect(button).to_be_disabled()
        else:
            expect(button).to_be_enabled()


@pytest.mark.parametrize("size", [PHONE, SMALL_PHONE], ids=["390x844", "360x640"])
def test_the_booking_pages_fit_the_phone(phone, bookings, size):
    page = phone("/book/demo?lang=en", size=size)
    expect(page.locator("#services button").first).to_be_visible(timeout=ms(10))
    choose_a_slot(page)
    page.locator("input[name=email]").fill("a-very-long-address-without-any-break@example-bank-customer.example.com")
    assert page.evaluate(SIDEWAYS) == []
    page.locator("#tab-queue").click()
    expect(page.locator("#remote-service option").nth(1)).to_be_attached(timeout=ms(10))
    assert page.evaluate(SIDEWAYS) == []
    made = bookings.book("C")
    own = phone(f"/b/{made['token']}?lang=en", size=size)
    expect(own.locator("#code")).to_have_text(made["code"], timeout=ms(10))
    assert own.evaluate(SIDEWAYS) == []
    assert page.errors == [] and own.errors == []


# --- the booking's own page ---


def test_a_booking_is_moved_to_another_slot_and_then_cancelled(phone, bookings):
    made = bookings.book("A", name="改期")
    page = phone(f"/b/{made['token']}?lang=en")
    expect(page.locator("#code")).to_have_text(made["code"], timeout=ms(10))
    expect(page.locator("#state")).to_have_text("Booked")
    before = page.locator("#slot").inner_text()
    page.locator("#reschedule").click()
    expect(page.locator("#slots button").first).to_be_visible(timeout=ms(10))
    expect(page.locator("#slots button[aria-pressed=true]")).to_be_disabled()  # the slot it has
    other = page.locator("#slots button[aria-pressed=false]:not([disabled])").last
    other.click()
    expect(page.locator("#move")).to_be_hidden(timeout=ms(10))
    expect(page.locator("#slot")).not_to_have_text(before)
    assert bookings.booking(made["token"])["slot"] != made["slot"]
    page.once("dialog", lambda d: d.accept())
    page.locator("#cancel").click()
    expect(page.locator("#state")).to_have_text("Cancelled", timeout=ms(10))
    expect(page.locator("#actions")).to_be_hidden()
    expect(page.locator("#qr")).to_be_hidden()
    assert bookings.booking(made["token"])["state"] == "cancelled"
    assert page.errors == []


@pytest.fixture
def check_in_open(bookings) -> Iterator[None]:
    with bookings.check_in_open():
        yield


def test_a_booking_is_checked_in_from_the_phone_and_follows_its_ticket(phone, bookings, check_in_open):
    made = bookings.book("D", day=booking_day(0), name="手机签到")
    page = phone(f"/b/{made['token']}")
    expect(page.locator("#code")).to_have_text(made["code"], timeout=ms(10))
    expect(page.locator("#check-in-note")).to_be_hidden()
    page.locator("#check-in").click()
    expect(page).to_have_url(re.compile(r"/t/[A-Za-z0-9_-]{8,64}"), timeout=ms(10))
    expect(page.locator("#number")).to_have_text(re.compile(r"^[A-Z]\d{3}$"), timeout=ms(10))
    assert page.errors == []


# --- the kiosk ---


def test_the_kiosk_checks_a_booking_in_by_its_code_and_shows_the_ticket(server, new_page, bookings, check_in_open):
    made = bookings.book("A", day=booking_day(0), name="取号机签到")
    kiosk = new_page("about:blank", **KIOSK)
    bookings.attach(kiosk)
    kiosk.goto(f"{server.base_url}/kiosk/demo?token=demo-kiosk")
    entry = kiosk.locator("#booking-entry")
    expect(entry).to_have_text("预约取号", timeout=ms(10))
    expect(entry).to_be_enabled(timeout=ms(10))
    entry.click()
    expect(kiosk.locator("#booking")).to_be_visible()
    kiosk.wait_for_timeout(800)  # the new screen takes no taps for a moment (a double tap never lands twice)
    kiosk.locator('#keypad [data-key="Z"]').click()
    kiosk.locator('#keypad [data-key="back"]').click()
    for digit in made["code"]:
        kiosk.locator(f'#keypad [data-key="{digit}"]').click()
    expect(kiosk.locator("#booking-code")).to_have_text(made["code"])
    kiosk.locator("#booking-go").click()
    expect(kiosk.locator("#result")).to_be_visible(timeout=ms(10))
    series = "Y" if bookings.real else "[A-Z]"  # the appointments' own series (the stand-in issues walk-ins)
    expect(kiosk.locator("#number")).to_have_text(re.compile(rf"^{series}\d{{3}}$"))
    expect(kiosk.locator("#result-booking")).to_have_text("预约签到成功，按预约时间排队")
    assert bookings.booking(made["token"])["state"] == "checked_in"
    assert kiosk.errors == []


def test_the_kiosk_says_when_no_booking_has_the_code(server, new_page, bookings):
    kiosk = new_page("about:blank", **KIOSK)
    bookings.attach(kiosk)
    kiosk.goto(f"{server.base_url}/kiosk/demo?token=demo-kiosk")
    expect(kiosk.locator("#booking-entry")).to_be_enabled(timeout=ms(10))
    kiosk.get_by_role("button", name="English").click()
    kiosk.wait_for_timeout(800)
    kiosk.locator("#booking-entry").click()
    kiosk.wait_for_timeout(800)
    for digit in "ZZZZ2222":
        kiosk.locator(f'#keypad [data-key="{digit}"]').click()
    kiosk.locator("#booking-go").click()
    expect(kiosk.locator("#booking-problem")).to_be_visible(timeout=ms(10))
    expect(kiosk.locator("#booking")).to_be_visible()
    assert kiosk.errors == []


def test_the_teller_sees_that_the_called_ticket_is_an_appointment_and_its_slot(
        server, new_page, branch, bookings, check_in_open):
    made = bookings.book("E", day=booking_day(0), name="柜员看")
    ticket = bookings.check_in(made["code"])["ticket"]
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=6")
    sign_in(page, "teller6")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=ms(10))
    while branch.call_next(6)["number"] != ticket["number"]:
        pass
    expect(page.locator("#current-number")).to_have_text(ticket["number"], timeout=ms(10))
    mark = page.locator("#current-booking")
    if bookings.real:
        start = made["start"][11:16]  # the branch's wall clock, as the slot's instant is written
        expect(mark).to_have_text(f"预约 {start} Appointment {start}")
    else:
        expect(mark).to_be_hidden()  # the stand-in's check-in is a walk-in's ticket
    assert page.errors == []


# --- queue now, from the phone ---


def test_queue_now_gives_the_estimate_and_when_to_set_off_then_follows_the_ticket(phone, branch):
    branch.teller(5)  # counter 5 serves D: an estimate, not "no counter"
    page = phone("/book/demo?tab=queue&lang=en")
    expect(page.locator("#queue")).to_be_visible()
    expect(page.locator("#remote-service option").nth(1)).to_be_attached(timeout=ms(10))
    page.locator("#remote-service").select_option("D")
    expect(page.locator("#remote-estimate")).to_contain_text("waiting now")
    page.locator("input[name=travel]").fill("240")
    expect(page.locator("#remote-advice")).to_have_text("Come now")
    page.locator("#take").click()
    expect(page).to_have_url(re.compile(r"/t/[A-Za-z0-9_-]{8,64}\?travel=240"), timeout=ms(10))
    expect(page.locator("#number")).to_have_text(re.compile(r"^[A-Z]\d{3}$"), timeout=ms(10))
    expect(page.locator("#advice")).to_contain_text("Come now", timeout=ms(10))
    assert page.errors == []


# --- notify me when N ahead ---


def test_the_ticket_page_tells_the_customer_when_n_are_ahead_and_when_called(phone, branch, bookings, server):
    teller = 4  # counter 4 serves C first
    for _ in range(3):
        branch.issue("C")
    mine = branch.issue("C")
    page = phone(f"/t/{mine['token']}", context_options={"permissions": ["notifications"]})
    expect(page.locator("#number")).to_have_text(mine["number"], timeout=ms(10))
    form = page.locator("#notify")
    expect(form).to_be_visible()
    form.locator("select[name=ahead]").select_option("1")
    form.locator("input[name=contact]").fill("me@example.com")
    asks = []
    page.on("request", lambda r: asks.append(r.post_data_json) if r.url.endswith("/notify") else None)
    form.locator("#notify-submit").click()
    expect(page.locator("#notify-result")).to_contain_text("Tick the box")
    form.locator("input[name=consent]").check()
    form.locator("#notify-submit").click()
    expect(page.locator("#notify-result")).to_contain_text("1", timeout=ms(10))
    assert asks == [{"ahead": 1, "consent": True, "language": "zh-CN", "email": "me@example.com"}]
    assert page.evaluate("Notification.permission") == "granted"
    assert page.evaluate("window.__phone.alerts") == []
    while server.api().ok("GET", f"/tickets/{mine['token']}")["ahead"] > 1:
        branch.call_next(teller)
    page.wait_for_function("() => window.__phone.alerts.length === 1", timeout=ms(10))
    assert "1" in page.evaluate("window.__phone.alerts[0]")
    while branch.call_next(teller)["number"] != mine["number"]:
        pass
    page.wait_for_function("() => window.__phone.alerts.length === 2", timeout=ms(10))
    assert f"{teller}" in page.evaluate("window.__phone.alerts[1]")
    expect(form).to_be_hidden()
    assert page.errors == []


# --- the dashboard ---


def test_the_dashboard_shows_todays_bookings_per_service_and_slot(server, new_page, bookings):
    if not bookings.real:
        bookings.book("E", day=booking_day(0), name="看板")
    page = new_page("about:blank", width=1366, height=768)
    bookings.attach(page)
    page.goto(f"{server.base_url}/manage/demo")
    sign_in(page, "manager")
    table = page.locator("#bookings")
    expect(table.locator("th").first).to_have_text("时段 Time", timeout=ms(10))
    expect(table.locator("th")).to_have_count(8)
    row = table.locator("tbody tr", has=page.locator('td[data-count="booked"]')).first
    expect(row).to_be_visible(timeout=ms(10))
    assert int(row.locator('td[data-count="booked"]').inner_text()) >= 1
    assert page.errors == []
