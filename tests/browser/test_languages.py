"""Every page in Traditional Chinese, the one zh-TW table, and the server's refusals in the page's words."""

from __future__ import annotations

import re

import opencc
import pytest
from playwright.sync_api import expect

from scripts.zh_tw import draft
from tests.conftest import seconds

MS = 1000
S2T = opencc.OpenCC("s2t")
#: Characters both standards write, which s2t still turns into an older Traditional variant.
SHARED = {"台"}
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def ms(s: float) -> float:
    return seconds(s) * MS


def simplified_only(text: str) -> list[str]:
    """The characters of ``text`` that only Simplified Chinese writes (each checked on its own,
    so that s2t's phrase choices, e.g. 考核 → 考覈, cannot flag a Traditional text)."""
    return sorted({ch for ch in text if HAN.match(ch) and ch not in SHARED and S2T.convert(ch) != ch})


def sign_in(page, username: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("demo-pass")
    page.locator("form.signin button[type=submit]").click()


# Every text node a person can see, and the placeholders, labels and alt texts; text marked as
# another language's content (lang="zh-CN", e.g. the admin's column of Simplified names) is not the page's.
VISIBLE_TEXT = """() => {
  const texts = [];
  const own = (el) => (el.closest('[lang]:not(html)')?.lang ?? document.documentElement.lang)
    === document.documentElement.lang;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.textContent.trim() || ['SCRIPT', 'STYLE', 'TEMPLATE'].includes(el.tagName)) continue;
    if (el.closest('template') || !el.checkVisibility() || !own(el)) continue;
    texts.push(node.textContent);
  }
  for (const el of document.querySelectorAll('input[placeholder], [aria-label], img[alt]')) {
    if (!el.checkVisibility() || !own(el)) continue;
    texts.push(el.placeholder || '', el.getAttribute('aria-label') || '', el.alt || '');
  }
  return texts.join('\\n');
}"""


def assert_traditional(page, what: str) -> None:
    text = page.evaluate(VISIBLE_TEXT)
    bad = simplified_only(text)
    assert not bad, f"{what} in zh-TW shows Simplified-only characters {bad}:\n{text[:2000]}"
    assert HAN.search(text), f"{what} shows no Chinese at all:\n{text[:500]}"


def test_the_simplified_check_tells_the_two_scripts_apart():
    assert simplified_only("打印机故障") == ["机"]
    assert simplified_only("印表機故障，請到服務台") == []
    assert simplified_only("櫃員考核 Teller scorecard") == []
    assert simplified_only("网络中断") == ["断", "络", "网"]


def test_every_page_in_zh_tw_shows_only_traditional_chinese_or_english(server, branch, new_page):
    base = server.base_url
    ticket = branch.issue("A")
    branch.teller(3)

    kiosk = new_page(f"{base}/kiosk/demo?token=demo-kiosk", width=1080, height=1920)
    kiosk.get_by_role("button", name="繁體中文").click()
    expect(kiosk.locator("#services button").first).to_be_visible(timeout=ms(10))
    assert_traditional(kiosk, "the kiosk")
    kiosk.locator("#green").click()
    assert_traditional(kiosk, "the kiosk's green channel")

    board = new_page(f"{base}/display/demo?token=demo-display&lang=zh-TW")
    expect(board.locator("body")).to_have_attribute("data-status", "connected", timeout=ms(10))
    assert_traditional(board, "the board")
    top = new_page(f"{base}/display/demo/counter/3?token=demo-display&lang=zh-TW", width=800, height=480)
    expect(top.locator("body")).to_have_attribute("data-status", "connected", timeout=ms(10))
    assert_traditional(top, "the counter-top screen")

    evaluator = new_page(f"{base}/evaluator/demo/3?token=demo-evaluator&lang=zh-TW", width=1280, height=800)
    expect(evaluator.locator("#teller")).to_contain_text("teller3", timeout=ms(10))
    assert_traditional(evaluator, "the evaluator")

    phone = new_page(f"{base}/t/{ticket['token']}?lang=zh-TW", width=390, height=844)
    expect(phone.locator("#number")).to_have_text(ticket["number"], timeout=ms(10))
    assert_traditional(phone, "the phone page")

    teller = new_page(f"{base}/counter?branch=demo&counter=3&lang=zh-TW")
    expect(teller.locator("form.signin")).to_be_visible(timeout=ms(10))
    assert_traditional(teller, "the teller's sign-in")
    sign_in(teller, "teller3")
    expect(teller.locator("#status")).to_have_attribute("data-status", "connected", timeout=ms(10))
    expect(teller.locator("#waiting")).to_contain_text(ticket["number"], timeout=ms(10))
    assert_traditional(teller, "the teller's page")

    dashboard = new_page(f"{base}/manage/demo?lang=zh-TW")
    sign_in(dashboard, "manager")
    expect(dashboard.locator("#status")).to_have_attribute("data-status", "connected", timeout=ms(10))
    expect(dashboard.locator("#kpis .card").first).to_be_visible(timeout=ms(10))
    assert_traditional(dashboard, "the dashboard")

    reports = new_page(f"{base}/manage/demo/reports?lang=zh-TW")
    sign_in(reports, "manager")
    expect(reports.locator("#summary th").first).to_be_visible(timeout=ms(15))
    expect(reports.locator("#staffing th").first).to_be_visible(timeout=ms(15))
    assert_traditional(reports, "the reports")
    days = reports.locator("#staffing tbody tr td:first-child").all_text_contents()
    assert not {d.strip().lower() for d in days} & {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, days
    assert all(d.startswith("週") for d in days), days

    admin = new_page(f"{base}/admin/demo?lang=zh-TW")
    sign_in(admin, "admin")
    expect(admin.locator("#service-table tbody tr").first).to_be_visible(timeout=ms(15))
    assert_traditional(admin, "the admin page")
    for page in (kiosk, board, top, evaluator, phone, teller, dashboard, reports, admin):
        assert page.errors == []


def test_the_zh_tw_table_is_the_reviewed_s2twp_draft_of_the_zh_cn_one(server, new_page):
    page = new_page(f"{server.base_url}/static/common/i18n.js")
    strings = page.evaluate("import('/static/common/i18n.js').then((m) => m.STRINGS)")
    assert list(strings) == ["zh-CN", "en", "zh-TW"]
    assert set(strings["zh-TW"]) == set(strings["zh-CN"]) == set(strings["en"])
    wrong = {k: (strings["zh-TW"][k], draft(v, k)) for k, v in strings["zh-CN"].items()
             if strings["zh-TW"][k] != draft(v, k)}
    assert not wrong, f"run scripts/zh_tw.py: {wrong}"
    kiosk = page.evaluate("import('/static/common/i18n.js').then((m) => m.wordsOf('zh-TW', 'kiosk.'))")
    assert kiosk["print_problem"] == "印表機故障：請記下號碼或掃碼" and "網路" in kiosk["offline"]


@pytest.mark.parametrize(("lang", "words"), [("zh-TW", "使用者名稱或密碼錯誤"), ("zh-CN", "用户名或密码错误")])
def test_a_refused_sign_in_reads_in_the_pages_chinese(server, new_page, lang, words):
    page = new_page(f"{server.base_url}/counter?lang={lang}")
    page.locator("input[name=username]").fill("teller1")
    page.locator("input[name=password]").fill("not-the-password")
    page.locator("form.signin button[type=submit]").click()
    expect(page.locator("form.signin .error")).to_contain_text(words, timeout=ms(5))
    expect(page.locator("form.signin .error")).to_contain_text("wrong username or password")


def test_a_language_chosen_on_the_teller_page_is_kept(server, new_page):
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=4")
    sign_in(page, "teller4")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=ms(10))
    page.locator("#lang").select_option("zh-TW")
    expect(page.locator('[data-action="call-next"]')).to_contain_text("叫號 Call next")
    page.reload()
    expect(page.locator('[data-action="call-next"]')).to_contain_text("叫號 Call next", timeout=ms(10))
    assert page.errors == []
