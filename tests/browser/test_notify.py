"""The admin page's notifications in real Chromium: delivery counts, a dead letter with the
gateway's error, and its retry. The server's webhook points at a port where nothing listens and
gives up after one attempt, so a customer's message becomes a dead letter within moments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Api, ServerProcess, free_port, wait_until
from tests.browser.test_admin import admin_page, ms
from tests.conftest import seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("server"), env={
        "BRANCHQ_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/nobody-listens",
        "BRANCHQ_WEBHOOK_SECRET": "test-secret", "BRANCHQ_NOTIFY_MAX_ATTEMPTS": "1",
        "BRANCHQ_NOTIFY_POLL_S": "0.05", "BRANCHQ_NOTIFY_TIMEOUT_S": "1",
    })
    process.start()
    yield process
    process.stop()


def dead_letters(admin: Api) -> list[dict]:
    return admin.ok("GET", "/admin/notifications?state=dead")["messages"]


def test_the_admin_sees_a_dead_letter_with_its_error_and_retries_it(server, branch, new_page):
    ticket = branch.issue("A")
    branch.public.ok("POST", f"/tickets/{ticket['token']}/notify",
                     {"phone": "13812345678", "ahead": 5, "consent": True})
    admin = server.api()
    admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
    wait_until(lambda: dead_letters(admin), seconds(10), "the dead letter")

    page = admin_page(new_page, server, path="/admin")
    section = page.locator("#notifications")
    expect(section).to_be_visible(timeout=ms(10))
    expect(page.locator("#notify-channels")).to_contain_text("Webhook")
    counts = page.locator('#notify-counts tr[data-kind="ahead"][data-channel="webhook"]')
    expect(counts).to_contain_text("前面还有 N 位")
    expect(counts).to_contain_text("0.0%")
    row = page.locator('#notify-list tr[data-state="dead"]')
    expect(row).to_contain_text("138****5678")
    expect(row).to_contain_text("unreachable")

    row.locator('button[data-action="notify.retry"]').click()
    expect(section.locator(".done")).to_contain_text("已重新排队", timeout=ms(5))
    wait_until(lambda: dead_letters(admin) and dead_letters(admin)[0]["attempts"] == 1, seconds(10),
               "the retried attempt")
    audit = admin.ok("GET", "/admin/branches/demo/audit?limit=5")
    assert any(a["action"] == "notify.retry" for a in audit)

    page.locator("#lang").select_option("en")
    expect(section.locator("h2")).to_have_text("Notifications")
    expect(page.locator('#notify-counts tr[data-kind="ahead"]')).to_contain_text("N ahead")
    assert page.errors == []
