"""What the complaint pages' browser tests share: sizes, made-up contacts, a manager's case."""

from __future__ import annotations

import itertools

from tests.conftest import seconds

from .test_languages import sign_in

MS = 1000
PHONE = {"width": 390, "height": 844}
STAFF_SIZES = [(1366, 768), (1920, 1080)]
_phones = itertools.count(13800001000)


def ms(s: float) -> float:
    return seconds(s) * MS


def a_phone() -> str:
    """A mobile number of its own for each case (the server limits cases per contact)."""
    return str(next(_phones))


def _by_name(manager, name: str) -> list[dict]:
    """The branch's cases whose complainant is ``name`` (the case page shows the full name)."""
    found = []
    for c in manager.ok("GET", "/branches/demo/complaints"):
        if c["contact"]["name"][:1] != name[:1]:
            continue
        detail = manager.ok("GET", f"/branches/demo/complaints/{c['id']}")
        if (detail.get("contact_full") or {}).get("name") == name:
            found.append(detail)
    return found


def staff_page(server, new_page, path: str, *, width: int = 1366, height: int = 768, lang: str = ""):
    page = new_page(f"{server.base_url}{path}{'?lang=' + lang if lang else ''}", width=width, height=height)
    sign_in(page, "manager")
    return page


def staff_pages(case: dict) -> list[tuple[str, str]]:
    """The desk, the entry form and ``case``'s page, each with what shows once it has loaded."""
    return [("/manage/demo/complaints", "#cases tbody tr"),
            ("/manage/demo/complaints/new", "select[name=teller] option"),
            (f"/manage/demo/complaints/{case['id']}", "#actions button")]


def hotline_case(manager, *, name: str, phone: str, teller: int | None = None, **extra) -> dict:
    body = {"channel": "hotline", "category": "attitude", "text": "柜员态度不好，不耐烦",
            "contact": {"name": name, "phone": phone}, **({"teller": teller} if teller else {}), **extra}
    return manager.ok("POST", "/branches/demo/complaints/entries", body)


def fill_customer_form(page, *, name: str, phone: str, text: str = "等了很久也没有人解释原因") -> None:
    page.locator("select[name=category]").select_option("waiting")
    page.locator("textarea[name=text]").fill(text)
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=phone]").fill(phone)


SIDEWAYS = """() => {
  const W = window.innerWidth, problems = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('[hidden]') || ['OPTION', 'SCRIPT', 'STYLE'].includes(el.tagName)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const name = `${el.tagName.toLowerCase()}#${el.id}`;
    if (r.left < -1 || r.right > W + 1) problems.push(`${name} ${Math.round(r.left)}–${Math.round(r.right)}`);
    const s = getComputedStyle(el);
    // A field's own text may scroll inside it (that is how a long entry is typed); nothing else may.
    const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
    if (!field && s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name} scrolls sideways`);
    }
  }
  const wide = document.documentElement.scrollWidth;
  if (wide > W) problems.push(`the page is ${wide} wide`);
  return problems;
}"""
