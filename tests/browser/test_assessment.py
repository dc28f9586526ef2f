"""The staff assessment page in real Chromium: a manager sees every teller and opens the figures
behind a score; a teller sees only their own; the zh-TW page shows no Simplified Chinese."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import seconds

from .test_languages import assert_traditional, sign_in

MS = 1000
EVALUATOR = {"Authorization": "Bearer demo-evaluator"}


def serve_and_rate_at_counter_5(server, branch) -> None:
    branch.issue("D")
    ticket = branch.call_next(5)
    branch.act(5, "finish")
    evaluator = server.api()
    assert evaluator.ok("POST", "/branches/demo/counters/5/feedback/prompt", {"number": ticket["number"]},
                        headers=EVALUATOR)["recorded"] is True
    evaluator.ok("POST", "/branches/demo/counters/5/feedback", {"score": 5}, headers=EVALUATOR)


def test_a_manager_opens_the_figures_behind_a_tellers_score(server, branch, new_page):
    serve_and_rate_at_counter_5(server, branch)
    page = new_page(f"{server.base_url}/manage/demo/assessment", width=1366, height=768)
    sign_in(page, "manager")
    row = page.locator('#tellers tr[data-teller="teller5"]')
    expect(row).to_be_visible(timeout=seconds(10) * MS)
    expect(page.locator('#tellers tr[data-teller="teller1"]')).to_be_visible()
    expect(page.locator("#figures")).to_be_hidden()
    row.locator('button[data-part="attitude"]').click()
    figures = page.locator("#figures")
    expect(figures).to_be_visible()
    expect(figures.locator("#who")).to_contain_text("teller5")
    attitude = figures.locator('section[data-part="attitude"]')
    expect(attitude).to_have_class("chosen")
    expect(attitude).to_contain_text("评价覆盖率 Rating coverage")
    expect(attitude).to_contain_text("100.0%")
    expect(figures.locator('section[data-part="efficiency"]')).to_contain_text("D ×")
    assert page.locator("#xlsx").get_attribute("href").startswith("/api/v1/branches/demo/reports/assessment.xlsx?")
    page.locator("#close").click()
    expect(figures).to_be_hidden()
    assert page.errors == []


def test_a_teller_sees_only_their_own_assessment(server, branch, new_page):
    serve_and_rate_at_counter_5(server, branch)
    page = new_page(f"{server.base_url}/manage/demo/assessment")
    sign_in(page, "teller5")
    expect(page.locator('#tellers tr[data-teller="teller5"]')).to_be_visible(timeout=seconds(10) * MS)
    expect(page.locator("#tellers tbody tr")).to_have_count(1)
    expect(page.locator("#title")).to_contain_text("我的考核 My assessment")
    page.locator('#tellers tr[data-teller="teller5"] button[data-part="score"]').click()
    expect(page.locator("#figures")).to_be_visible()
    assert page.errors == []


def test_the_assessment_page_in_zh_tw_shows_only_traditional_chinese_or_english(server, new_page):
    page = new_page(f"{server.base_url}/manage/demo/assessment?lang=zh-TW")
    sign_in(page, "manager")
    expect(page.locator('#tellers tr[data-teller="teller1"]')).to_be_visible(timeout=seconds(10) * MS)
    page.locator('#tellers tr[data-teller="teller1"] button[data-part="score"]').click()
    expect(page.locator("#figures")).to_be_visible()
    assert_traditional(page, "the assessment page")
    assert page.errors == []


def test_the_evaluator_page_records_each_prompt_it_shows_so_coverage_counts_it(server, branch, new_page):
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})

    def prompted() -> int:
        report = manager.ok("GET", "/branches/demo/reports/assessment")
        return next(t for t in report["tellers"] if t["username"] == "teller5")["figures"]["prompted"]

    before = prompted()
    evaluator = new_page(f"{server.base_url}/evaluator/demo/5?token=demo-evaluator", width=1280, height=800)
    expect(evaluator.locator("#welcome")).to_be_visible(timeout=seconds(5) * MS)
    evaluator.wait_for_timeout(500)  # the socket's snapshot is in before the finish
    branch.issue("D")
    branch.call_next(5)
    branch.act(5, "finish")
    expect(evaluator.locator("#rate")).to_be_visible(timeout=seconds(5) * MS)
    deadline = seconds(5) * MS
    while prompted() == before and deadline > 0:  # the page posts the prompt as it shows it
        evaluator.wait_for_timeout(100)
        deadline -= 100
    assert prompted() == before + 1
    assert evaluator.errors == []
