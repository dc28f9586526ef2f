"""A breach reaches the counter pages of its branch as a small banner, and goes when it clears."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import seconds

from .conftest import Branch, ServerProcess
from .test_languages import sign_in

MS = 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """The demo server, evaluating the service standards every second (not every 30)."""
    process = ServerProcess(tmp_path_factory.mktemp("server"), env={"BRANCHQ_STANDARDS_EVERY_S": "1"})
    process.start()
    yield process
    process.stop()


def test_a_breach_shows_as_a_banner_on_the_counter_page_until_it_clears(server, new_page):
    branch = Branch(server)
    admin = server.api()
    admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    admin.ok("PATCH", "/admin/branches/demo/services/E", {"target_wait_s": 1})
    page = new_page(f"{server.base_url}/counter?branch=demo&counter=1", width=1366, height=768)
    sign_in(page, "teller1")
    banner = page.locator("#breach-banner")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=seconds(10) * MS)
    expect(banner).to_be_hidden()
    branch.issue("E")  # counter 6, E's counter, is closed
    expect(banner).to_be_visible(timeout=seconds(15) * MS)
    expect(banner).to_contain_text("服务标准未达标")
    expect(banner).to_contain_text("E")
    branch.teller(6)
    branch.call_next(6)
    expect(banner).to_be_hidden(timeout=seconds(15) * MS)
    assert page.errors == []
