"""The branch's configuration reaching the screens, in real Chromium against a real demo server:
the kiosk offers the branch's languages (and follows a change while open), the board announces
with the branch's chime, repeats and languages unless its address says otherwise, and a manager
may not change what is the admin's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import seconds

from .conftest import Api, ServerProcess

MS = 1000
BRANCH = "/admin/branches/demo"
RESTORED = ("languages", "announcements", "hours", "holidays")


def ms(n: float) -> float:
    return seconds(n) * MS


def signed_in(server: ServerProcess, username: str) -> Api:
    api = server.api()
    api.ok("POST", "/auth/login", {"username": username, "password": "demo-pass"})
    return api


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[Api]:
    """The admin, signed in; the demo branch's settings are put back as they were afterwards."""
    api = signed_in(server, "admin")
    before = api.ok("GET", BRANCH)
    yield api
    api.ok("PATCH", BRANCH, {field: before[field] for field in RESTORED})


def configure(admin: Api, **fields) -> dict:
    detail = admin.ok("PATCH", BRANCH, fields)
    for field, value in fields.items():
        assert detail[field] == value, (field, detail[field])
    return detail


def open_kiosk(new_page, server: ServerProcess):
    page = new_page(f"{server.base_url}/kiosk/demo?token=demo-kiosk", width=1920, height=1080)
    expect(page.locator("#services button").first).to_be_visible(timeout=ms(10))
    return page


def language_buttons(page) -> dict:
    return {name: page.get_by_role("button", name=name) for name in ("简体中文", "English", "繁體中文")}


# --- the kiosk -----------------------------------------------------------------------------


def test_a_branch_with_one_language_shows_no_language_switch_at_the_kiosk(server, admin, new_page):
    configure(admin, languages=["zh-CN"])
    page = open_kiosk(new_page, server)
    expect(page.locator(".languages")).to_be_hidden()
    expect(page.locator("#start h2")).to_have_text("请选择业务")
    assert page.errors == []


def test_the_kiosk_offers_only_the_languages_the_branch_has(server, admin, new_page):
    configure(admin, languages=["zh-CN", "en"])
    page = open_kiosk(new_page, server)
    buttons = language_buttons(page)
    expect(page.locator(".languages")).to_be_visible()
    expect(buttons["简体中文"]).to_be_visible()
    expect(buttons["English"]).to_be_visible()
    expect(page.locator('.languages button[data-lang="zh-TW"]')).to_be_hidden()
    buttons["English"].click()  # the ones offered still switch
    expect(page.locator("#start h2")).to_have_text("Please choose a service")
    assert page.errors == []


def test_an_open_kiosk_follows_a_language_change_without_reloading(server, admin, new_page):
    page = open_kiosk(new_page, server)
    buttons = language_buttons(page)
    for button in buttons.values():
        expect(button).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    configure(admin, languages=["zh-CN", "en"])
    expect(page.locator('.languages button[data-lang="zh-TW"]')).to_be_hidden(timeout=ms(3))
    expect(buttons["简体中文"]).to_be_visible()
    expect(buttons["English"]).to_be_visible()

    configure(admin, languages=["zh-CN"])
    expect(page.locator(".languages")).to_be_hidden(timeout=ms(3))
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert page.errors == []


# --- the board -----------------------------------------------------------------------------

ANNOUNCER = (
    "() => { const a = window.__announcer; "
    "return {languages: a.languages, repeats: a.repeats, chime: a.chime}; }"
)


def announcer_settings(page, *, languages: list[str], repeats: int) -> dict:
    """The board's announcer once it is set up with ``languages`` and ``repeats``."""
    page.wait_for_function(
        """([languages, repeats]) => { const a = window.__announcer;
             return a !== undefined && JSON.stringify(a.languages) === JSON.stringify(languages)
                    && a.repeats === repeats; }""",
        arg=[languages, repeats], timeout=ms(5),
    )
    return page.evaluate(ANNOUNCER)


def test_the_board_announces_with_the_branchs_chime_repeats_and_languages(admin, new_page, board_url):
    configure(admin, announcements={"chime": False, "repeat": 2, "languages": ["en"]})
    page = new_page(board_url(announce="fast"))
    assert announcer_settings(page, languages=["en"], repeats=2) == {
        "languages": ["en"], "repeats": 2, "chime": False,
    }
    assert page.errors == []


def test_an_open_board_follows_a_change_of_announcement_settings(admin, new_page, board_url):
    page = new_page(board_url(announce="fast"))
    announcer_settings(page, languages=["zh-CN", "en"], repeats=1)
    page.evaluate("window.__sameDocument = true")
    configure(admin, announcements={"chime": False, "repeat": 3, "languages": ["zh-TW", "en"]})
    assert announcer_settings(page, languages=["zh-TW", "en"], repeats=3)["chime"] is False
    assert page.evaluate("window.__sameDocument") is True, "followed without a reload"
    assert page.errors == []


def test_the_boards_address_overrides_the_branchs_languages_and_repeats(admin, new_page, board_url):
    configure(admin, announcements={"chime": False, "repeat": 2, "languages": ["en"]})
    page = new_page(board_url(announce="fast", langs="zh-CN", repeats="1"))
    assert announcer_settings(page, languages=["zh-CN"], repeats=1) == {
        "languages": ["zh-CN"], "repeats": 1, "chime": False,  # the chime stays the branch's
    }
    assert page.errors == []


# --- who may change what -------------------------------------------------------------------


def test_a_manager_may_change_hours_and_holidays_but_not_the_languages(server, admin):
    before = admin.ok("GET", BRANCH)
    manager = signed_in(server, "manager")
    status, answer = manager.call("PATCH", BRANCH, {"languages": ["zh-CN", "en"]})
    assert status == 403, answer
    assert answer["error"]["code"] == "forbidden"
    status, answer = manager.call("PATCH", BRANCH, {"announcements": {"chime": False}})
    assert status == 403, answer
    after = admin.ok("GET", BRANCH)
    assert (after["languages"], after["announcements"]) == (before["languages"], before["announcements"])

    # Their own fields go through: the refusal is about the field, not the branch.
    detail = manager.ok("PATCH", BRANCH, {"holidays": ["2030-10-01"]})
    assert detail["holidays"] == ["2030-10-01"]
