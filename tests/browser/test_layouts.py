"""Every screen holds its layout at each device's real size with 1, 5, 12 and 16 services.

Four branches are made through the admin API (1, 5, 12 and 16 services, as many counters up to 12, every
counter open with a customer called, tickets waiting for every service), and each screen is
drawn at 1920×1080, 1080×1920 and 1366×768: the kiosk, the waiting-area board, the counter-top
screen, the teller's page and the dashboard. A layout holds when nothing visible lies outside
the viewport or outside the box that should hold it, and no text is cut short (ellipsised or
clipped); a list inside its own scrolling box may scroll down (never sideways), the page itself
never scrolls.

One server for the module, one browser context per size and kind of user, pages reused.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import seconds

from .conftest import Api, ServerProcess

pytestmark = pytest.mark.slow

MS = 1000
SIZES = [(1920, 1080), (1080, 1920), (1366, 768)]
SERVICE_COUNTS = [1, 5, 12, 16]
MAX_COUNTERS = 12
PASSWORD = "layout-pass-1"
SCREENSHOTS = os.environ.get("LAYOUT_SCREENSHOTS")
"""A directory to keep every screen's screenshot in (else only failing ones, in the test's tmp_path)."""

# Codes without G (the green channel's series); names as long as a real bank's.
NAMES = [
    ("A", "现金业务", "Cash deposits and withdrawals", "現金業務"),
    ("B", "转账汇款", "Transfers and remittances", "轉帳匯款"),
    ("C", "开户销户", "Opening and closing accounts", "開戶銷戶"),
    ("D", "理财咨询", "Wealth management advice", "理財諮詢"),
    ("E", "对公业务", "Corporate banking", "對公業務"),
    ("F", "外汇业务", "Foreign exchange", "外匯業務"),
    ("H", "个人贷款", "Personal loans and mortgages", "個人貸款"),
    ("J", "信用卡", "Credit cards", "信用卡"),
    ("K", "社保医保", "Social security cards", "社保醫保"),
    ("L", "缴费业务", "Bill payments", "繳費業務"),
    ("M", "挂失补卡", "Lost or replacement cards", "掛失補卡"),
    ("N", "贵金属", "Precious metals", "貴金屬"),
    ("P", "保险代理", "Insurance products", "保險代理"),
    ("Q", "养老金", "Pensions", "養老金"),
    ("R", "手机银行", "Mobile banking help", "手機銀行"),
    ("S", "大额预约", "Large withdrawals by appointment", "大額預約"),
]

OVERFLOW = """() => {
  const W = window.innerWidth, H = window.innerHeight, problems = [];
  const scrolls = (s) => ['auto', 'scroll'].includes(s.overflowX) || ['auto', 'scroll'].includes(s.overflowY);
  const clips = (s) => s.overflowX !== 'visible' || s.overflowY !== 'visible';
  const describe = (el) => {
    const text = (el.textContent ?? '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
      + `${typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}`
      + (text ? ` "${text}"` : '');
  };
  const box = (r) => `${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}`;
  const outside = (r, b) => r.left < b.left - 1 || r.top < b.top - 1
    || r.right > b.right + 1 || r.bottom > b.bottom + 1;
  for (const el of document.body.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'TEMPLATE', 'BR', 'OPTION'].includes(el.tagName)) continue;
    if (el.closest('[hidden], dialog:not([open])')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || style.display === 'contents') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    // The nearest ancestor that clips: a scrolling one may hold more than it shows.
    let clipper = null;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (clips(getComputedStyle(a))) { clipper = a; break; }
    }
    const inScroller = clipper && scrolls(getComputedStyle(clipper));
    if (!inScroller && outside(r, {left: 0, top: 0, right: W, bottom: H})) {
      problems.push(`outside the viewport: ${describe(el)} at ${box(r)}`);
    }
    if (clipper && !inScroller && outside(r, clipper.getBoundingClientRect())) {
      problems.push(`cut by ${describe(clipper).split(' "')[0]}: ${describe(el)} at ${box(r)}`);
    }
    if (clips(style) && !scrolls(style) && el.textContent.trim()
        && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
      problems.push(`text cut short: ${describe(el)} needs ${el.scrollWidth}×${el.scrollHeight}`
                    + ` in ${el.clientWidth}×${el.clientHeight}`);
    }
    // A list may scroll down within its box, never sideways (a table cut on the right).
    if (scrolls(style) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`scrolls sideways: ${describe(el)} needs ${el.scrollWidth} in ${el.clientWidth}`);
    }
    // A block that spills out of its parent lies over its neighbours (a button under another).
    const parent = el.parentElement;
    if (parent && parent !== document.body && style.position !== 'fixed' && style.position !== 'absolute'
        && !style.display.startsWith('inline') && !scrolls(getComputedStyle(parent))) {
      const p = parent.getBoundingClientRect();
      if (p.width > 0 && outside(r, p)) {
        problems.push(`spills out of ${describe(parent).split(' "')[0]}: ${describe(el)} at ${box(r)} of ${box(p)}`);
      }
    }
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > W || doc.scrollHeight > H) {
    problems.push(`the page scrolls: ${doc.scrollWidth}×${doc.scrollHeight}`);
  }
  return problems;
}"""


def yaml_branch(n: int) -> dict:
    services = [
        {"code": code, "names": {"zh-CN": zh, "en": en, "zh-TW": tw}, "target_wait_s": 600,
         "max_wait_s": 1800, "target_service_s": 300, "daily_cap": None, "green_allowed": True, "hours": None}
        for code, zh, en, tw in NAMES[:n]
    ]
    counters = [  # up to 12, each taking its own service first (and any past the twelfth), then A
        {"number": i + 1, "names": {"zh-CN": f"{i + 1}号窗口", "en": f"Counter {i + 1}", "zh-TW": f"{i + 1}號櫃檯"},
         "services": list(dict.fromkeys([c for c, *_ in NAMES[i:n:MAX_COUNTERS]] + ["A"])), "mode": "ordered",
         "green_only": False, "green_ratio": None}
        for i in range(min(n, MAX_COUNTERS))
    ]
    return {
        "id": f"lay{n}", "names": {"zh-CN": f"布局测试第{n}支行", "en": f"Layout test branch {n}",
                                   "zh-TW": f"佈局測試第{n}支行"},
        "timezone": "Asia/Shanghai", "language": "zh-CN", "languages": ["zh-CN", "en", "zh-TW"],
        "hours": {}, "holidays": [], "no_show_grace_s": 600,
        "announcements": {"chime": False, "repeat": 1, "languages": ["zh-CN", "en"]},
        "services": services, "counters": counters,
    }


class LayoutBranch:
    """One branch of ``n`` services and counters, busy: its devices' tokens and its staff."""

    def __init__(self, server: ServerProcess, admin: Api, n: int) -> None:
        self.id, self.n = f"lay{n}", n
        admin.ok("POST", "/admin/branches", yaml_branch(n))
        self.manager, self.teller = f"{self.id}-manager", f"{self.id}-teller"
        admin.ok("POST", "/admin/staff", {"username": self.manager, "password": PASSWORD, "role": "manager",
                                          "branch": self.id, "display_name": "Layout manager"})
        admin.ok("POST", "/admin/staff", {"username": self.teller, "password": PASSWORD, "role": "teller",
                                          "branch": self.id, "counters": [1], "display_name": "Layout teller"})
        self.tokens = {kind: self._enroll(server, admin, kind) for kind in ("kiosk", "display")}
        manager = server.api()
        manager.ok("POST", "/auth/login", {"username": self.manager, "password": PASSWORD})
        for code, *_ in NAMES[:n]:
            for _ in range(3):
                manager.ok("POST", f"/branches/{self.id}/tickets", {"service": code})
        for number in range(1, min(n, MAX_COUNTERS) + 1):
            manager.ok("POST", f"/branches/{self.id}/counters/{number}/open")
            manager.ok("POST", f"/branches/{self.id}/counters/{number}/call-next")

    def _enroll(self, server: ServerProcess, admin: Api, kind: str) -> str:
        code = admin.ok("POST", f"/admin/branches/{self.id}/enrollments", {"kind": kind, "name": f"{kind} {self.id}"})
        return server.api().ok("POST", "/devices/enroll", {"code": code["code"]})["token"]


@pytest.fixture(scope="module")
def branches(server) -> dict[int, LayoutBranch]:
    admin = server.api()
    admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    return {n: LayoutBranch(server, admin, n) for n in SERVICE_COUNTS}


@pytest.fixture(scope="module")
def contexts(browser, server):
    """One context per size and kind of user (devices, teller, manager), each made once."""
    made: dict[tuple, object] = {}

    def get(size: tuple[int, int], who: str):
        if (size, who) not in made:
            context = browser.new_context(viewport={"width": size[0], "height": size[1]})
            page = context.new_page()
            page.errors = []
            page.on("pageerror", lambda e, page=page: page.errors.append(str(e)))
            made[size, who] = (context, page, {"signed_in": None})
        return made[size, who]

    yield get
    for context, _page, _ in made.values():
        context.close()


def sign_in(context, server: ServerProcess, username: str, signed: dict) -> None:
    if signed["signed_in"] == username:
        return
    answer = context.request.post(f"{server.base_url}/api/v1/auth/login",
                                  data={"username": username, "password": PASSWORD},
                                  headers={"Origin": server.base_url})
    assert answer.ok, answer.text()
    signed["signed_in"] = username


def open_screen(screen: str, branch: LayoutBranch, server: ServerProcess, contexts, size):
    base = server.base_url
    if screen in ("kiosk", "board", "countertop"):
        context, page, _ = contexts(size, "device")
        if screen == "kiosk":
            page.goto(f"{base}/kiosk/{branch.id}?token={branch.tokens['kiosk']}")
            expect(page.locator("#services button")).to_have_count(branch.n, timeout=seconds(10) * MS)
            expect(page.locator("#services button").first).to_be_enabled(timeout=seconds(10) * MS)
        else:
            path = "" if screen == "board" else "/counter/1"
            page.goto(f"{base}/display/{branch.id}{path}?token={branch.tokens['display']}&announce=off")
            expect(page.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
            if screen == "countertop":
                expect(page.locator("#serving")).to_have_attribute("data-state", "called", timeout=seconds(5) * MS)
        return page
    who = "teller" if screen == "teller" else "manager"
    context, page, signed = contexts(size, who)
    sign_in(context, server, branch.teller if who == "teller" else branch.manager, signed)
    if screen == "teller":
        page.goto(f"{base}/counter?branch={branch.id}&counter=1")
        expect(page.locator("#current-number")).not_to_have_text("—", timeout=seconds(10) * MS)
    else:
        page.goto(f"{base}/manage/{branch.id}")
        expect(page.locator("#counters tbody tr")).to_have_count(min(branch.n, MAX_COUNTERS), timeout=seconds(10) * MS)
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    return page


def views(screen: str, page, branch: LayoutBranch):
    """The states of a screen worth checking, each yielded once drawn: the kiosk in English, its
    result screen and its booking keypad too; the board in English too (longer names)."""
    yield "zh-CN"
    if screen == "kiosk":
        page.get_by_role("button", name="English").click()
        expect(page.locator("#start h2")).to_have_text("Please choose a service")
        yield "en"
        page.locator("#services button").last.click()
        expect(page.locator("#result")).to_be_visible(timeout=seconds(5) * MS)
        page.wait_for_function("document.getElementById('qr').naturalWidth > 0", timeout=seconds(5) * MS)
        yield "result"
        # "I have a booking": the code's keypad (taps just after a change of screen are ignored).
        page.wait_for_timeout(800)
        page.locator("#done").click()
        expect(page.locator("#start")).to_be_visible()
        page.wait_for_timeout(800)
        page.locator("#booking-entry").click()
        expect(page.locator("#keypad button")).to_have_count(33)
        yield "booking"
    elif screen == "board":
        page.goto(page.url + ("&" if "?" in page.url else "?") + "lang=en&announce=off")
        expect(page.locator("body")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
        expect(page.locator("#now-counter")).to_contain_text("Counter")
        yield "en"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", ["kiosk", "board", "countertop", "teller", "dashboard"])
def test_the_screen_holds_its_layout_with_1_5_12_and_16_services(screen, size, branches, server, contexts, tmp_path):
    found = {}
    for n, branch in branches.items():
        page = open_screen(screen, branch, server, contexts, size)
        for view in views(screen, page, branch):
            page.evaluate("document.fonts.ready")
            problems = page.evaluate(OVERFLOW)
            name = f"{screen}-{n}-{view}-{size[0]}x{size[1]}.png"
            if problems or SCREENSHOTS:
                page.screenshot(path=Path(SCREENSHOTS or tmp_path) / name)
            if problems:
                found[f"{n} services, {view}"] = problems
        assert page.errors == [], page.errors
    assert not found, "\n".join(f"{n}: {p}" for n, ps in found.items() for p in ps[:12])
