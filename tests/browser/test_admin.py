"""The administration page in real Chromium against a real demo server: an admin configures
the branch through its forms, a manager sees only what a manager may change, a teller is
refused, and a device enrolled with a code from the page connects."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds

MS = 1000


def ms(n: float) -> float:
    return seconds(n) * MS


def sign_in(page, username: str) -> None:
    page.get_by_label("用户名 Username").fill(username)
    page.get_by_label("密码 Password").fill("demo-pass")
    page.get_by_role("button", name="登录 Sign in").click()


def admin_page(new_page, server, username: str = "admin", path: str = "/admin/demo"):
    page = new_page(f"{server.base_url}{path}")
    sign_in(page, username)
    return page


def branch_loaded(page) -> None:
    expect(page.locator("#counter-table tbody tr").first).to_be_visible(timeout=ms(10))


def test_a_service_and_counter_added_by_the_admin_are_offered_at_the_kiosk(server, new_page):
    page = admin_page(new_page, server, path="/admin")
    page.locator('#branch-list tr[data-branch="demo"] a').click()
    branch_loaded(page)

    form = page.locator("#service-form")
    form.locator("[name=code]").fill("F")
    form.locator("[name=name_zh_cn]").fill("外汇")
    form.locator("[name=name_en]").fill("Foreign exchange")
    form.locator("[name=name_zh_tw]").fill("外匯")
    form.locator("[name=target_wait_min]").fill("15")
    form.locator("[type=submit]").click()
    expect(page.locator('#service-table tr[data-code="F"]')).to_contain_text("Foreign exchange", timeout=ms(5))

    form = page.locator("#counter-form")
    form.locator("[name=number]").fill("7")
    form.locator("[name=services]").fill("F, A")
    form.locator("[type=submit]").click()
    row = page.locator('#counter-table tr[data-number="7"]')
    expect(row).to_contain_text("F → A", timeout=ms(5))
    expect(page.locator("#audit-table")).to_contain_text("F", timeout=ms(5))
    assert page.errors == []

    kiosk = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    expect(kiosk.locator('#services button[data-service="F"]')).to_contain_text("外汇", timeout=ms(10))


def test_a_refused_change_shows_the_servers_message_beside_its_form(server, new_page):
    page = admin_page(new_page, server)
    branch_loaded(page)
    form = page.locator("#service-form")
    form.locator("[name=code]").fill("G")  # the green channel's own series
    for field, name in (("name_zh_cn", "绿色"), ("name_en", "Green"), ("name_zh_tw", "綠色")):
        form.locator(f"[name={field}]").fill(name)
    form.locator("[type=submit]").click()
    expect(form.locator(".error")).to_be_visible(timeout=ms(5))
    assert form.locator(".error").text_content().strip()
    expect(page.locator('#service-table tr[data-code="G"]')).to_have_count(0)


def test_a_manager_sees_only_their_branch_and_no_service_form(server, new_page):
    page = admin_page(new_page, server, "manager", path="/admin")
    rows = page.locator("#branch-list tbody tr")
    expect(rows).to_have_count(1, timeout=ms(10))
    expect(rows.first).to_have_attribute("data-branch", "demo")
    expect(page.locator("#new-branch")).to_be_hidden()
    rows.first.locator("a").click()
    branch_loaded(page)
    expect(page.locator("#hours")).to_be_visible()
    expect(page.locator("#service-form")).to_be_hidden()
    expect(page.locator("#staff")).to_be_hidden()
    expect(page.locator("#counter-form")).to_be_hidden()  # no new counters: profiles only
    page.locator('#counter-table tr[data-number="5"] [data-action=edit]').click()
    expect(page.locator("#counter-form [name=services]")).to_have_value("D")
    expect(page.locator("#counter-form [name=number]")).to_be_hidden()
    assert page.errors == []


def test_a_teller_is_told_the_page_needs_the_admin_or_manager_role(server, new_page):
    page = new_page(f"{server.base_url}/admin?lang=en")
    sign_in(page, "teller2")
    expect(page.locator("#refusal")).to_contain_text("needs the admin or manager role", timeout=ms(10))
    expect(page.locator("#branch-list tbody tr")).to_have_count(0)


def test_a_display_enrolled_with_a_code_from_the_page_connects(server, new_page):
    page = admin_page(new_page, server)
    branch_loaded(page)
    form = page.locator("#enroll-form")
    form.locator("[name=kind]").select_option("display")
    form.locator("[name=name]").fill("大堂屏 Lobby board")
    form.locator("[type=submit]").click()
    expect(page.locator("#enroll-result")).to_be_visible(timeout=ms(5))
    code = page.locator("#enroll-code").text_content().strip()
    url = page.locator("#enroll-url").text_content().strip()
    assert code and url == f"{server.base_url}/display/demo?code={code}"

    board = new_page(url)  # a fresh context: no token stored
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=ms(10))
    assert "code=" not in board.url
    assert board.errors == []

    again = new_page(url)  # the code was for one device only
    expect(again.locator("body")).to_have_attribute("data-status", "refused", timeout=ms(10))
    expect(again.locator("#status")).to_contain_text("enrollment code")  # the server's reason

    page.reload()
    expect(page.locator("#device-table")).to_contain_text("Lobby board", timeout=ms(10))
