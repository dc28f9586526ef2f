"""Every page works under the server's real Content-Security-Policy: no script, style, image,
socket or media of any page is refused by it (the other browser tests bypass the policy, see
``CspBypassing`` in conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import seconds

PAGES = {
    "kiosk": "/kiosk/demo?token=demo-kiosk",
    "board": "/display/demo?token=demo-display",
    "counter-top": "/display/demo/counter/3?token=demo-display",
    "evaluator": "/evaluator/demo/5?token=demo-evaluator",
    "teller": "/counter",
    "dashboard": "/manage/demo",
    "reports": "/manage/demo/reports",
    "inspections": "/manage/demo/inspections",
    "bulletin": "/manage/demo/bulletin",
    "admin": "/admin",
    "account": "/account",
    "lobby": "/lobby/demo",
    "root": "/",
    # The complaint pages: the customer's form and case page, the manager's desk, entry and case.
    "complaint-form": "/complain/demo",
    "complaint-status": "/c/not-a-real-case-token",
    "complaint-desk": "/manage/demo/complaints",
    "complaint-entry": "/manage/demo/complaints/new",
    "complaint-case": "/manage/demo/complaints/1",
    # Appointments and remote queueing: the branch's booking page and a booking's own page.
    "book": "/book/demo",
    "book-queue": "/book/demo?tab=queue",
    "booking": "/b/not-a-real-booking-token",
}

RECORD = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture(scope="module")
def strict_context(browser, server):
    context = browser.real.new_context(viewport={"width": 1920, "height": 1080})  # the policy enforced
    context.add_init_script(RECORD)
    page = context.new_page()
    page.goto(f"{server.base_url}/counter")
    page.request.post(f"{server.base_url}/api/v1/auth/login",
                      data={"username": "manager", "password": "demo-pass"},
                      headers={"Origin": server.base_url})
    yield context
    context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_runs_under_the_content_security_policy(strict_context, server, name):
    page = strict_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(server.base_url + PAGES[name])
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle", timeout=seconds(10) * 1000)
    page.wait_for_timeout(300)
    violations = page.evaluate("window.__csp")
    page.close()
    assert violations == [] and not [e for e in errors if "Content Security Policy" in e], (violations, errors)
