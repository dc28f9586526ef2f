"""The staff pages' smaller defects, as a person meets them: Resume after a pause, overdue
tickets marked, readable colours, a device enrolled by typing its code, and a root page that
leads somewhere."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds


def ms(s: float) -> float:
    return seconds(s) * 1000


def sign_in(page, username: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("demo-pass")
    page.locator("form.signin button[type=submit]").click()


CONTRAST = """(pairs) => pairs.map(([selector, classes]) => {
  const el = document.createElement('span');
  el.className = classes;
  el.textContent = '0:42';
  const host = document.querySelector(selector);
  host.append(el);
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = rgb(c).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (node) => {
    for (; node; node = node.parentElement) {
      const c = getComputedStyle(node).backgroundColor;
      if (!/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  const [a, b] = [lum(getComputedStyle(el).color), lum(background(el))].sort((x, y) => y - x);
  el.remove();
  return [classes, (a + 0.05) / (b + 0.05)];
})"""


def test_teller_colours_read_at_4_5_to_1_and_paused_counters_resume(server, branch, new_page):
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=2")
    sign_in(page, "teller2")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=ms(10))
    ratios = dict(page.evaluate(CONTRAST, [
        [".timers", "amber"], [".timers", "red"], [".counter-state", "badge paused"],
        [".counter-state", "badge open"], [".counter-state", "badge closed"], ["#waiting", "green"],
    ]))
    assert all(r >= 4.5 for r in ratios.values()), ratios

    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=ms(5))
    page.keyboard.press("p")
    page.get_by_role("button", name="暂停 Pause", exact=True).last.click()
    expect(page.locator("#counter-state")).to_have_text("暂停 Paused", timeout=ms(5))
    resume = page.locator('[data-action="open"]')
    expect(resume).to_contain_text("恢复 Resume")
    resume.click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=ms(5))
    expect(resume).to_contain_text("开启 Open")
    assert page.errors == []


def test_waiting_tickets_past_their_target_wait_are_marked(server, branch, browser):
    ticket = branch.issue("B")
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        page.clock.install()
        page.goto(f"{server.base_url}/counter?branch=demo&counter=2")
        sign_in(page, "teller2")
        row = page.locator("#waiting tr", has_text=ticket["number"])
        expect(row).to_be_visible(timeout=ms(10))
        expect(row).not_to_have_class("overdue")
        page.clock.run_for("11:00")  # B's target wait is 10 minutes
        expect(row).to_have_class("overdue", timeout=ms(5))
        expect(row).to_contain_text("超时 overdue")
    finally:
        context.close()


def test_dashboard_closed_counters_read_at_4_5_to_1(server, new_page):
    page = new_page(f"{server.base_url}/manage/demo")
    sign_in(page, "manager")
    expect(page.locator("#counters tbody tr").first).to_be_visible(timeout=ms(10))
    ratios = dict(page.evaluate(CONTRAST, [
        ["#counters", "state-closed"], ["#counters", "state-paused"], ["#counters", "state-open"],
        ["#counters", "amber"], ["#counters", "late"],
    ]))
    assert all(r >= 4.5 for r in ratios.values()), ratios


def test_a_new_device_is_enrolled_by_typing_its_code_on_its_screen(server, new_page):
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    code = manager.ok("POST", "/admin/branches/demo/enrollments", {"kind": "display", "name": "hall 2"})["code"]
    board = new_page(f"{server.base_url}/display/demo")  # never given a token
    panel = board.locator("#enroll-panel")
    expect(panel).to_be_visible(timeout=ms(10))
    panel.locator("input[name=code]").fill("WRONG-CODE")
    panel.get_by_role("button").click()
    expect(panel.locator("output")).to_be_visible(timeout=ms(5))
    panel.locator("input[name=code]").fill(code)
    panel.get_by_role("button").click()
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=ms(10))
    expect(board.locator("#enroll-panel")).to_have_count(0)


def test_the_root_page_leads_to_the_staff_and_device_pages(server, new_page):
    page = new_page(f"{server.base_url}/")
    expect(page.locator("body")).to_contain_text("/kiosk/B")
    expect(page.locator("body")).to_contain_text("/display/B")
    expect(page.locator("body")).to_contain_text("/evaluator/B/N")
    page.get_by_role("link", name="柜员 Teller").click()
    expect(page.locator("form.signin")).to_be_visible(timeout=ms(5))
    page.goto(f"{server.base_url}/")
    page.get_by_role("link", name="管理 Administration").click()
    expect(page).to_have_url(f"{server.base_url}/admin")


def test_the_enrollment_form_offers_the_servers_default_lifetime(server, new_page):
    page = new_page(f"{server.base_url}/admin/demo")
    sign_in(page, "admin")
    expect(page.locator("#enroll-form [name=valid_min]")).to_have_value("15", timeout=ms(10))
