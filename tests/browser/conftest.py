"""Real Chromium against a real server process.

The browser is Debian's Chromium (``/usr/bin/chromium``) driven by the ``playwright``
package; no browser is ever downloaded. Without it the browser tests skip with the
reason, except under CI=true, where they fail. The server is ``branchq serve --demo`` in
its own process, on a free port, with its own SQLite file and working directory, so a
test can stop it and start it again on the same port and database.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.conftest import IN_CI, seconds

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
DISPLAY_TOKEN = "demo-display"


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` until it holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.1f} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``branchq serve --demo`` in a subprocess; stop() and start() keep port and database."""

    def __init__(self, workdir: Path, *, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = dict(env or {})
        """BRANCHQ_* settings of this server (the test's own are never passed on)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "server.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHQ_")}
        # Pages here are driven far faster than by people; the limits have their own tests.
        env["BRANCHQ_ISSUE_RATE_LIMIT"] = env["BRANCHQ_PUBLIC_RATE_LIMIT"] = "1000000/second"
        env["BRANCHQ_COMPLAINT_RATE_LIMIT"] = "1000000/second"  # the complaint form's own limit
        env["BRANCHQ_BOOKING_RATE_LIMIT"] = env["BRANCHQ_NOTIFY_RATE_LIMIT"] = "1000000/second"
        env.update(self.env)
        argv = [
            sys.executable, "-m", "server", "serve", "--demo", "--host", "127.0.0.1",
            "--port", str(self.port), "--database", f"sqlite:///{self.workdir / 'branchq.db'}",
        ]
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            argv, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            # Generous: it returns once ready; a loaded machine starts a fresh demo in 15 s or more.
            wait_until(self._ready, seconds(60), f"the server on port {self.port}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"server did not start:\n{self.log_tail()}") from None

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(self.base_url + "/api/v1/health", timeout=1) as resp:
                return resp.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        """Stop as systemd would (SIGTERM): clients get 1001 and start reconnecting."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=seconds(10))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def api(self) -> Api:
        return Api(self.base_url)


class Api:
    """A small HTTP client with its own cookies (one per staff member)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(self, method: str, path: str, body: dict | None = None, *,
             headers: dict[str, str] | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + "/api/v1" + path, data=data, method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with self.opener.open(request, timeout=seconds(10)) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def ok(self, method: str, path: str, body: dict | None = None, **kw) -> dict:
        status, answer = self.call(method, path, body, **kw)
        assert status < 300, f"{method} {path} → {status} {answer}"
        return answer


class Branch:
    """The demo branch as tests drive it: tickets issued by the lobby manager (staff are never
    rate-limited, a kiosk is), tellers at their counters, and public calls as a phone makes them."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.public = server.api()
        self._manager: Api | None = None
        self._tellers: dict[int, Api] = {}

    def issue(self, service: str) -> dict:
        if self._manager is None:
            self._manager = self.server.api()
            self._manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
        return self._manager.ok("POST", "/branches/demo/tickets", {"service": service})

    def teller(self, counter: int) -> Api:
        """Teller N signed in; counter N opened under them the first time."""
        api = self._tellers.get(counter)
        if api is None:
            api = self.server.api()
            api.ok("POST", "/auth/login", {"username": f"teller{counter}", "password": "demo-pass"})
            view = api.ok("GET", f"/branches/demo/counters/{counter}")
            if view["counter"]["state"] != "open":
                api.ok("POST", f"/branches/demo/counters/{counter}/open")
            self._tellers[counter] = api
        return api

    def act(self, counter: int, action: str, body: dict | None = None) -> dict:
        return self.teller(counter).ok("POST", f"/branches/demo/counters/{counter}/{action}", body)

    def call_next(self, counter: int) -> dict:
        """Finish whatever the counter holds and call the next, saying what it holds (``expect``),
        as the teller page does: a bare call-next moments after a call is refused as a double press."""
        ticket = self.next_or_none(counter)
        assert ticket is not None, f"nothing waiting for counter {counter}"
        return ticket

    def next_or_none(self, counter: int) -> dict | None:
        """As :meth:`call_next`, None when nothing waits (the counter's ticket finished all the same)."""
        current = self.teller(counter).ok("GET", f"/branches/demo/counters/{counter}")["counter"]["current"]
        return self.act(counter, "call-next", {"expect": current["id"] if current else None})["ticket"]


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path) -> Iterator:
    """Chromium for one module: Playwright's sync API keeps an event loop running while it is
    open, which would break asyncio.run() in the other suites' fixtures if it outlived the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield CspBypassing(browser)
        browser.close()


class CspBypassing:
    """The browser, whose contexts bypass the pages' Content-Security-Policy unless told otherwise.

    Playwright compiles ``wait_for_function`` predicates with ``eval``, which the server's policy
    (``script-src 'self'``, no ``unsafe-eval``) rightly refuses. The pages themselves are opened
    under the real policy in ``tests/browser/test_csp.py``, which fails on any violation.
    """

    def __init__(self, real) -> None:
        self.real = real

    def new_context(self, **options):
        options.setdefault("bypass_csp", True)
        return self.real.new_context(**options)

    def __getattr__(self, name: str):
        return getattr(self.real, name)


@pytest.fixture
def new_page(browser) -> Iterator[Callable]:
    """Pages in their own contexts (own storage), closed after the test; console errors collected."""
    contexts = []

    def make(url: str, *, width: int = 1920, height: int = 1080):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(url)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """One demo server for a module's tests (each test drives its own counters)."""
    process = ServerProcess(tmp_path_factory.mktemp("server"))
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def branch(server) -> Branch:
    return Branch(server)


@pytest.fixture
def board_url(server) -> Callable[..., str]:
    def url(path: str = "", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": DISPLAY_TOKEN, **params}.items())
        return f"{server.base_url}/display/demo{path}?{query}"

    return url
