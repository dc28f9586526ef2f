"""The complaint pages against the server's complaint routes, in real Chromium: the customer's form
from a ticket's phone page through to the case page, the hotline entry, the case page taking a case
through its steps, a double press and a lost connection, zh-TW, and the layout at each size."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .complaint_helpers import (
    PHONE,
    SIDEWAYS,
    STAFF_SIZES,
    _by_name,
    a_phone,
    fill_customer_form,
    hotline_case,
    ms,
    staff_page,
    staff_pages,
)
from .test_languages import assert_traditional


@pytest.fixture(scope="module")
def manager(server):
    api = server.api()
    api.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    return api


@pytest.fixture(scope="module")
def staff_ids(server, manager) -> dict[str, int]:
    admin = server.api()
    admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    return {**{s["username"]: s["id"] for s in manager.ok("GET", "/admin/staff?branch=demo")},
            "admin": admin.ok("GET", "/auth/me")["id"]}


def test_a_customer_complains_from_the_tickets_phone_page_and_follows_the_case(
        server, branch, manager, staff_ids, new_page):
    ticket = branch.issue("A")
    called = branch.call_next(3)
    assert called["number"] == ticket["number"]
    phone_page = new_page(f"{server.base_url}/t/{ticket['token']}", **PHONE)
    expect(phone_page.locator("#number")).to_have_text(ticket["number"], timeout=ms(10))
    link = phone_page.get_by_role("link", name="投诉/建议 Complaint or suggestion")
    expect(link).to_be_visible(timeout=ms(5))
    link.click()
    expect(phone_page).to_have_url(re.compile(rf"/complain/demo\?ticket={ticket['token']}"))
    expect(phone_page.locator("#ticket")).to_contain_text(ticket["number"], timeout=ms(10))

    phone = a_phone()
    fill_customer_form(phone_page, name="王小明", phone=phone)
    phone_page.locator("#submit").click()
    expect(phone_page.locator("#done")).to_be_visible(timeout=ms(10))
    number = phone_page.locator("#number").inner_text()
    [case] = _by_name(manager, "王小明")
    assert case["number"] == number and case["channel"] == "branch" and case["ticket"] == ticket["number"]
    assert case["counter"] == 3 and case["teller"] == staff_ids["teller3"]
    # The promised date is the deadline's day on the branch's clock (Shanghai), as the server says it.
    due_day = datetime.fromisoformat(case["due_at"]).astimezone(ZoneInfo("Asia/Shanghai")).date()
    expect(phone_page.locator("#due")).to_have_text(due_day.isoformat())

    phone_page.get_by_role("link", name="查看处理进度").click()
    expect(phone_page).to_have_url(re.compile(r"/c/[A-Za-z0-9_-]{8,}"))
    expect(phone_page.locator("#number")).to_have_text(number, timeout=ms(10))
    expect(phone_page.locator("#state")).to_have_text("已收到")
    expect(phone_page.locator("#respond")).to_be_hidden()
    expect(phone_page.locator("#decision")).to_be_hidden()

    # The branch handles it; the customer's page shows the decision, the remedies and the two answers.
    base = f"/branches/demo/complaints/{case['id']}"
    manager.ok("POST", f"{base}/accept", {})
    manager.ok("POST", f"{base}/assign", {"handler": staff_ids["manager"]})
    manager.ok("POST", f"{base}/decide", {"text": "已向您说明高峰时段的等候安排，并致歉。", "sent_via": "sms",
                                          "outcome": "not_upheld", "remedies": ["review", "mediation"]})
    phone_page.reload()
    expect(phone_page.locator("#state")).to_have_text("已答复", timeout=ms(10))
    expect(phone_page.locator("#decision-text")).to_have_text("已向您说明高峰时段的等候安排，并致歉。")
    expect(phone_page.locator("#remedies li")).to_have_text(["向上级机构申请复核", "申请调解"])
    steps = manager.ok("GET", f"/complaints/{case['token']}")["steps"]
    expect(phone_page.locator("#timeline li")).to_have_count(len(steps))
    phone_page.locator("#unsatisfied").click()
    expect(phone_page.locator("#thanks")).to_be_visible(timeout=ms(10))
    expect(phone_page.locator("#state")).to_have_text("二次沟通中")
    assert manager.ok("GET", base)["state"] == "second_round"
    assert phone_page.errors == []


def test_the_online_form_needs_no_ticket_and_says_what_is_missing(server, manager, new_page):
    page = new_page(f"{server.base_url}/complain/demo?lang=en", **PHONE)
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Choose a category")
    page.locator("select[name=category]").select_option("fees")
    page.locator("textarea[name=text]").fill("A fee I was never told about")
    page.locator("input[name=name]").fill("Li Hua")
    page.locator("#submit").click()
    expect(page.locator("#error")).to_have_text("Give a phone number or an email")
    page.locator("input[name=phone]").fill("12")
    page.locator("#submit").click()  # the server's own check of the number
    expect(page.locator("#error")).to_be_visible(timeout=ms(5))
    expect(page.locator("#done")).to_be_hidden()
    page.locator("input[name=phone]").fill(a_phone())
    page.locator("#submit").click()
    expect(page.locator("#done")).to_be_visible(timeout=ms(10))
    [case] = _by_name(manager, "Li Hua")
    assert case["channel"] == "online" and case["ticket"] is None
    assert page.errors == []


def test_a_double_press_of_submit_makes_one_case(server, manager, new_page):
    page = new_page(f"{server.base_url}/complain/demo", **PHONE)
    held = []
    # The answer is held back so the second press comes while the first is on its way.
    page.route("**/api/v1/branches/demo/complaints", lambda route: held.append(route))
    fill_customer_form(page, name="周二", phone=a_phone())
    page.locator("#submit").dblclick()
    page.locator("#submit").click(force=True)
    page.wait_for_function("window.__complain.sent >= 1", timeout=ms(5))
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/api/v1/branches/demo/complaints")
    expect(page.locator("#done")).to_be_visible(timeout=ms(10))
    assert page.evaluate("window.__complain.sent") == 1
    assert len(_by_name(manager, "周二")) == 1


def test_the_network_pulled_during_submit_says_so_and_the_retry_makes_no_duplicate(server, manager, new_page):
    page = new_page(f"{server.base_url}/complain/demo", **PHONE)
    reached = []

    def lost_answer(route):
        # The request reaches the server (the case is made), then the connection drops before the answer.
        route.fetch()
        reached.append(True)
        route.abort("internetdisconnected")

    page.route("**/api/v1/branches/demo/complaints", lost_answer)
    fill_customer_form(page, name="田三", phone=a_phone())
    page.locator("#submit").click()
    expect(page.locator("#error")).to_contain_text("网络中断", timeout=ms(10))
    expect(page.locator("#done")).to_be_hidden()
    assert reached == [True] and len(_by_name(manager, "田三")) == 1
    page.unroute("**/api/v1/branches/demo/complaints")
    first = _by_name(manager, "田三")[0]
    page.locator("#submit").click()
    expect(page.locator("#done")).to_be_visible(timeout=ms(10))
    # The retry carries the same Idempotency-Key: the server answers with the case the lost request
    # made, and nothing else is filed.
    assert [c["id"] for c in _by_name(manager, "田三")] == [first["id"]]
    expect(page.locator("#number")).to_have_text(first["number"])
    assert page.errors == []


def test_a_hotline_call_is_recorded_from_the_keyboard_and_shows_masked_in_the_list(server, branch, manager, new_page):
    ticket = branch.issue("B")
    branch.call_next(2)
    page = staff_page(server, new_page, "/manage/demo/complaints/new")
    channel = page.locator("select[name=channel]")
    expect(channel).to_be_focused(timeout=ms(10))
    expect(channel).to_have_value("hotline")
    page.keyboard.press("Tab")
    page.keyboard.type("转")  # a select takes typed letters as the start of an option: none here
    page.locator("select[name=category]").select_option("error")
    page.keyboard.press("Tab")
    page.keyboard.type("林一")
    page.keyboard.press("Tab")
    page.keyboard.type("13912345678")
    page.locator("input[name=ticket]").fill(ticket["number"])
    page.locator("input[name=ticket]").press("Enter")
    expect(page.locator("#ticket-found")).to_contain_text(ticket["number"], timeout=ms(5))
    expect(page.locator("#ticket-found")).to_contain_text("2")
    page.locator("textarea[name=text]").fill("转账金额填错，柜员没有核对")
    page.locator("textarea[name=text]").press("Control+Enter")
    expect(page.locator("#made")).to_be_visible(timeout=ms(10))
    [case] = _by_name(manager, "林一")
    assert case["channel"] == "hotline" and case["category"] == "error" and case["ticket"] == ticket["number"]
    expect(page.locator("#made-text")).to_contain_text(case["number"])

    desk = staff_page(server, new_page, "/manage/demo/complaints")
    row = desk.locator(f"#cases tr[data-id='{case['id']}']")
    expect(row).to_be_visible(timeout=ms(10))
    expect(row.locator("td.contact")).to_have_text("139****5678")
    assert "13912345678" not in desk.locator("#cases").inner_text()
    row.get_by_role("link").click()
    expect(desk.locator("#contact")).to_contain_text("13912345678", timeout=ms(10))
    for p in (page, desk):
        assert p.errors == []


def test_the_desk_filters_by_channel_and_marks_what_is_overdue_or_due_soon(server, manager, new_page):
    letter = hotline_case(manager, name="周六", phone=a_phone(), channel="letter", category="fees")
    page = staff_page(server, new_page, "/manage/demo/complaints")
    expect(page.locator(f"#cases tr[data-id='{letter['id']}']")).to_be_visible(timeout=ms(10))
    page.locator("select[name=channel]").select_option("hotline")
    expect(page.locator(f"#cases tr[data-id='{letter['id']}']")).to_have_count(0, timeout=ms(10))
    page.locator("select[name=channel]").select_option("letter")
    expect(page.locator(f"#cases tr[data-id='{letter['id']}']")).to_be_visible(timeout=ms(10))
    assert all(t == "来信 Letter" for t in page.locator("#cases tbody td:nth-child(3)").all_inner_texts())
    listed = {c["id"]: c for c in manager.ok("GET", "/branches/demo/complaints?channel=letter")}
    for row_id in page.locator("#cases tbody tr").evaluate_all("(rows) => rows.map((r) => r.dataset.id)"):
        c = listed[int(row_id)]
        marks = page.locator(f"#cases tr[data-id='{row_id}'] .mark")
        expect(marks).to_have_count(1 if c["overdue"] or c["due_soon"] else 0)
    assert page.errors == []


def test_the_case_page_takes_a_case_through_accept_assign_decide_and_close(server, manager, staff_ids, new_page):
    case = hotline_case(manager, name="江五", phone=a_phone(), teller=staff_ids["teller3"])
    page = staff_page(server, new_page, f"/manage/demo/complaints/{case['id']}")
    expect(page.locator("#facts")).to_contain_text("已收到 Received", timeout=ms(10))

    def act(action: str, fill=None) -> None:
        page.locator(f"#actions button[data-action={action}]").click()
        if fill:
            fill()
        page.locator("#act-form button[type=submit]").click()

    act("accept")
    expect(page.locator("#facts")).to_contain_text("已受理 Accepted", timeout=ms(10))
    act("assign", lambda: page.locator("#act-form select[name=handler]").select_option(str(staff_ids["manager"])))
    expect(page.locator("#facts")).to_contain_text("处理中 Being handled", timeout=ms(10))

    def decision() -> None:
        page.locator("#act-form select[name=outcome]").select_option("not_upheld")
        page.locator("#act-form textarea[name=text]").fill("经查看录像，柜员按规定办理。")
    act("decide", decision)
    expect(page.locator("#facts")).to_contain_text("已答复 Decision sent", timeout=ms(10))
    act("close", lambda: page.locator("#act-form select[name=satisfied]").select_option("true"))
    expect(page.locator("#facts")).to_contain_text("已结案 Closed", timeout=ms(10))
    timeline = manager.ok("GET", f"/branches/demo/complaints/{case['id']}")["timeline"]
    expect(page.locator("#timeline li")).to_have_count(len(timeline))
    expect(page.locator("#timeline")).to_contain_text("受理 Accept")
    expect(page.locator("#timeline")).to_contain_text("结案 Close")
    assert manager.ok("GET", f"/branches/demo/complaints/{case['id']}")["state"] == "closed"
    assert page.errors == []


def test_the_staff_member_complained_about_is_refused_as_handler_with_a_clear_message(
        server, manager, staff_ids, new_page):
    case = hotline_case(manager, name="江九", phone=a_phone(), teller=staff_ids["manager"])
    manager.ok("POST", f"/branches/demo/complaints/{case['id']}/accept", {})
    page = staff_page(server, new_page, f"/manage/demo/complaints/{case['id']}")
    page.locator("#actions button[data-action=assign]").click()
    page.locator("#act-form select[name=handler]").select_option(str(staff_ids["manager"]))
    page.locator("#act-form button[type=submit]").click()
    expect(page.locator("#act-error")).to_contain_text("被投诉的员工不能处理本案件", timeout=ms(10))
    assert manager.ok("GET", f"/branches/demo/complaints/{case['id']}")["state"] == "accepted"
    assert page.errors == []


def test_a_step_without_what_it_needs_is_asked_for_on_the_page_and_sends_nothing(server, manager, new_page):
    case = hotline_case(manager, name="方四", phone=a_phone())
    page = staff_page(server, new_page, f"/manage/demo/complaints/{case['id']}")
    page.locator("#actions button[data-action=reject]").click()
    page.locator("#act-form button[type=submit]").click()
    expect(page.locator("#act-error")).to_contain_text("原因", timeout=ms(5))
    assert manager.ok("GET", f"/branches/demo/complaints/{case['id']}")["state"] == "received"


def test_the_complaint_pages_in_zh_tw_show_only_traditional_chinese_or_english(server, manager, new_page):
    case = hotline_case(manager, name="林繁體", phone=a_phone())
    form = new_page(f"{server.base_url}/complain/demo?lang=zh-TW", **PHONE)
    expect(form.locator("select[name=category] option")).to_have_count(9, timeout=ms(10))
    assert_traditional(form, "the complaint form")
    status = new_page(f"{server.base_url}/c/{case['token']}?lang=zh-TW", **PHONE)
    expect(status.locator("#number")).to_have_text(case["number"], timeout=ms(10))
    assert_traditional(status, "the case status page")
    for path, ready in staff_pages(case):
        page = staff_page(server, new_page, path, lang="zh-TW")
        expect(page.locator(ready).first).to_be_attached(timeout=ms(10))
        assert_traditional(page, path)
        assert page.errors == []


def test_the_customers_pages_fit_a_phone(server, manager, new_page):
    case = hotline_case(manager, name="馮七", phone=a_phone())
    form = new_page(f"{server.base_url}/complain/demo", **PHONE)
    fill_customer_form(form, name="馮七", phone=a_phone(), text="很长的说明" * 60)
    assert form.evaluate(SIDEWAYS) == []
    status = new_page(f"{server.base_url}/c/{case['token']}", **PHONE)
    expect(status.locator("#number")).to_have_text(case["number"], timeout=ms(10))
    assert status.evaluate(SIDEWAYS) == []


@pytest.mark.parametrize(("width", "height"), STAFF_SIZES)
def test_the_staff_pages_hold_their_layout(server, manager, new_page, width, height):
    case = hotline_case(manager, name="陳八", phone=a_phone(), text="内容很长，" * 80)
    for path, ready in staff_pages(case):
        page = staff_page(server, new_page, path, width=width, height=height)
        expect(page.locator(ready).first).to_be_attached(timeout=ms(10))
        if path.endswith(str(case["id"])):
            page.locator("#actions button[data-action=accept]").click()
        problems = page.evaluate(SIDEWAYS)
        assert problems == [], (path, problems)


# --- the case page's other actions: each test puts a case where the action applies, takes it on the page --------


def act_on_page(page, action: str, **fields) -> None:
    """Open ``action``'s form on the case page, fill its fields by name, and send it."""
    page.locator(f"#actions button[data-action={action}]").click()
    form = page.locator("#act-form")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]").first
        if field.evaluate("(el) => el.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(value))
    form.locator("button[type=submit]").click()


def case_in(manager, staff_ids, name: str, *, to: str = "received") -> dict:
    """A hotline case taken through the API to ``to``: received, handling, decided or upheld."""
    case = hotline_case(manager, name=name, phone=a_phone())
    base = f"/branches/demo/complaints/{case['id']}"
    if to == "received":
        return case
    manager.ok("POST", f"{base}/accept", {})
    manager.ok("POST", f"{base}/assign", {"handler": staff_ids["manager"]})
    if to in ("decided", "upheld"):
        manager.ok("POST", f"{base}/decide", {"text": "已核实", "sent_via": "phone", "remedies": ["review"],
                                              "outcome": "upheld" if to == "upheld" else "not_upheld"})
    return case


def opened(server, new_page, case: dict):
    page = staff_page(server, new_page, f"/manage/demo/complaints/{case['id']}")
    expect(page.locator("#actions button").first).to_be_visible(timeout=ms(10))
    return page


def state_of(manager, case: dict) -> dict:
    return manager.ok("GET", f"/branches/demo/complaints/{case['id']}")


def test_the_case_page_extends_once_with_a_reason_then_again_with_an_approver(server, manager, staff_ids, new_page):
    case = case_in(manager, staff_ids, "延一", to="handling")
    page = opened(server, new_page, case)
    act_on_page(page, "extend", reason="需要调取录像")
    expect(page.locator("#act-done")).to_be_visible(timeout=ms(10))
    assert state_of(manager, case)["extensions"] == 1
    act_on_page(page, "extend", reason="涉及第三方机构", approver=staff_ids["admin"])
    expect(page.locator("#timeline li")).to_have_count(len(state_of(manager, case)["timeline"]), timeout=ms(10))
    after = state_of(manager, case)
    assert after["extensions"] == 2 and after["timeline"][-1]["data"]["approver"] == staff_ids["admin"]
    assert page.errors == []


def test_the_case_page_transfers_a_case_to_a_department(server, manager, staff_ids, new_page):
    case = case_in(manager, staff_ids, "转二", to="handling")
    page = opened(server, new_page, case)
    act_on_page(page, "transfer", department="银行卡中心", reason="涉及卡片扣费")
    expect(page.locator("#facts")).to_contain_text("已转交相关部门", timeout=ms(10))
    after = state_of(manager, case)
    assert after["state"] == "transferred" and after["department"] == "银行卡中心"


def test_the_case_page_escalates_to_a_superior(server, manager, staff_ids, new_page):
    case = case_in(manager, staff_ids, "升三", to="handling")
    page = opened(server, new_page, case)
    act_on_page(page, "escalate", reason="客户要求上级处理", superior=staff_ids["admin"])
    expect(page.locator("#act-done")).to_be_visible(timeout=ms(10))
    after = state_of(manager, case)
    assert after["state"] == "escalated" and after["handler"] == staff_ids["admin"] and after["escalations"] == 1


def test_the_case_page_reopens_a_decided_case_for_a_second_round(server, manager, staff_ids, new_page):
    case = case_in(manager, staff_ids, "复四", to="decided")
    page = opened(server, new_page, case)
    act_on_page(page, "reopen", reason="客户对答复不满意")
    expect(page.locator("#act-done")).to_be_visible(timeout=ms(10))
    after = state_of(manager, case)
    assert after["state"] == "second_round" and after["round"] == 2


def test_the_case_page_records_a_fix_and_its_recheck(server, manager, staff_ids, new_page):
    case = case_in(manager, staff_ids, "整五", to="upheld")
    page = opened(server, new_page, case)
    act_on_page(page, "rectify", cause="process", owner="王经理", fix="增加双人复核", due="2027-01-31")
    expect(page.locator("#act-done")).to_be_visible(timeout=ms(10))
    assert state_of(manager, case)["rectification"]["owner"] == "王经理"
    act_on_page(page, "recheck", result="done")
    expect(page.locator("#timeline li")).to_have_count(len(state_of(manager, case)["timeline"]), timeout=ms(10))
    assert state_of(manager, case)["rectification"]["checked"] == "done"
    assert page.errors == []


def test_the_case_page_withdraws_a_case_at_the_customers_request(server, manager, staff_ids, new_page):
    case = case_in(manager, staff_ids, "撤六")
    page = opened(server, new_page, case)
    act_on_page(page, "withdraw", reason="客户来电撤回")
    expect(page.locator("#facts")).to_contain_text("已撤回", timeout=ms(10))
    assert state_of(manager, case)["state"] == "withdrawn"


def test_the_case_page_merges_a_repeat_into_the_first_case_and_takes_its_deadline(
        server, manager, staff_ids, new_page):
    first = case_in(manager, staff_ids, "并七")
    repeat = case_in(manager, staff_ids, "并八")
    page = opened(server, new_page, repeat)
    act_on_page(page, "merge", into=first["id"])
    expect(page.locator("#act-done")).to_be_visible(timeout=ms(10))
    after = state_of(manager, repeat)
    assert after["state"] == "merged" and after["merged_into"] == first["id"]
    assert after["due_at"] == state_of(manager, first)["due_at"]


def test_the_desks_statistics_tab_shows_the_figures_the_chart_and_the_exports(server, manager, staff_ids, new_page):
    case_in(manager, staff_ids, "统九", to="upheld")
    page = staff_page(server, new_page, "/manage/demo/complaints")
    expect(page.locator("#cases tbody tr").first).to_be_visible(timeout=ms(10))
    page.get_by_role("tab", name="投诉统计 Statistics").click()
    total = page.locator("#stats tbody tr").last
    expect(total).to_contain_text("合计", timeout=ms(10))
    figures = manager.ok("GET", "/branches/demo/complaints/stats?" + page.evaluate(
        "new URL(document.getElementById('stats-csv').href).search.slice(1)"))
    expect(total.locator("td").nth(1)).to_have_text(str(figures["total"]["received"]))
    expect(page.locator("#weak tbody tr").first).to_contain_text("服务态度")
    expect(page.locator("#chart img")).to_have_js_property("complete", True, timeout=ms(10))
    assert page.locator("#chart img").evaluate("(img) => img.naturalWidth") > 0
    assert "/complaints/stats.xlsx?" in page.locator("#stats-xlsx").get_attribute("href")
    page.locator("select[name=group]").select_option("category")
    page.locator("#stats-query button[type=submit]").click()
    expect(page.locator("#stats tbody tr").first).to_contain_text("服务态度", timeout=ms(10))
    assert page.errors == []
