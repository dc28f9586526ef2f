"""``branchq serve`` as a real subprocess, for tests that restart, kill or drive the CLI.

The server runs the installed console script (``branchq`` beside the test's Python) on a
free 127.0.0.1 port, with its working directory, session-secret file and output log in a
directory of the test's own. ``start()`` returns once ``GET /api/v1/health`` answers 200
(polled against a deadline scaled by :func:`tests.conftest.seconds`); starting again after
``kill()`` (SIGKILL) or ``stop()`` (SIGTERM) keeps the port, database and secret, so staff
cookies stay valid across the restart. ``env`` adds BRANCHQ_* settings (the test's own
BRANCHQ_* variables are never passed on). Use it as an async context manager so that the
process never outlives the test::

    async with ServerProcess(db_url, tmp_path, demo=True) as server:
        ...  # server.base_url
        await server.kill()
        await server.start()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import aiohttp

from tests.conftest import seconds

BRANCHQ = Path(sys.executable).parent / "branchq"


def branchq_command() -> str:
    """The console script of the environment running the tests."""
    if BRANCHQ.exists():
        return str(BRANCHQ)
    found = shutil.which("branchq")
    if found is None:
        raise RuntimeError(f"no branchq console script beside {sys.executable} or on PATH")
    return found


TEST_SECRET_KEY = "dGVzdHMtb25seS1zZWNyZXQta2V5LTMyLWJ5dGVzLWxvbmc="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The test's environment without its BRANCHQ_* settings; the secret file in ``workdir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHQ_")}
    env["BRANCHQ_SECRET_FILE"] = str(workdir / "secret.key")
    # Every process of a test shares one key, as a deployment's processes must.
    env["BRANCHQ_SECRET_KEY"] = TEST_SECRET_KEY
    # Tests drive one demo kiosk far faster than a customer; the limits have their own tests.
    env["BRANCHQ_ISSUE_RATE_LIMIT"] = env["BRANCHQ_PUBLIC_RATE_LIMIT"] = "1000000/second"
    env.update(extra)
    return env


class ServerProcess:
    """One ``branchq serve`` process on a fixed port and database, startable again."""

    def __init__(
        self,
        database: str,
        workdir: Path,
        *,
        demo: bool = False,
        migrate: bool = False,
        env: dict[str, str] | None = None,
        start_timeout_s: float = 30,
    ) -> None:
        self.database = database
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.demo = demo
        self.migrate = migrate
        self.env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def argv(self) -> list[str]:
        argv = [
            branchq_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--database", self.database,
        ]
        if self.demo:
            argv.append("--demo")
        if self.migrate:
            argv.append("--migrate")
        return argv

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the process and wait until its health check answers."""
        if self.running:
            raise RuntimeError("the server is running already")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            # Popen returns at once; a plain Popen (not asyncio's) outlives any one event loop.
            self.proc = subprocess.Popen(  # noqa: ASYNC220
                self.argv, cwd=self.workdir, env=clean_env(self.workdir, **self.env),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            await self._wait_healthy()
        except BaseException:
            await self.kill()
            raise

    async def _wait_healthy(self) -> None:
        timeout_s = seconds(self.start_timeout_s)
        deadline = time.monotonic() + timeout_s
        url = self.base_url + "/api/v1/health"
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"branchq serve exited with {self.proc.returncode} before answering:\n"
                        f"{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=seconds(2))) as r:
                        if r.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"branchq serve did not answer {url} within {timeout_s:.0f} s:\n{self.tail()}"
                    )
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: the process dies mid-flight, as on a power cut of the server process."""
        if self.running:
            self.proc.send_signal(signal.SIGKILL)
        await self._reap(seconds(10))

    async def stop(self) -> int | None:
        """SIGTERM, as systemd stops it; SIGKILL if it has not exited in time. The exit code."""
        if self.running:
            self.proc.send_signal(signal.SIGTERM)
            if not await self._reap(seconds(15)):
                self.proc.kill()
                await self._reap(seconds(10))
        return self.proc.returncode if self.proc else None

    async def _reap(self, timeout_s: float) -> bool:
        if self.proc is None:
            return True
        deadline = time.monotonic() + timeout_s
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # --- output ---------------------------------------------------------------------------

    def output(self) -> str:
        """Everything the process printed (all starts), stdout and stderr together."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    # --- HTTP -----------------------------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        """A client with its own cookies (one per staff member).

        The cookie jar accepts cookies from an IP address (``unsafe``), and every request
        uses a new connection, so a killed server leaves no stale pooled connection behind.
        """
        return aiohttp.ClientSession(
            base_url=self.base_url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(force_close=True),
            timeout=aiohttp.ClientTimeout(total=seconds(15)),
        )
