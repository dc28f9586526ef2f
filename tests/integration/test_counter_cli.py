"""``branchq counter``, the teller's terminal, driven key by key in a real pseudo-terminal
against a real ``branchq serve --demo`` process."""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from counter.cli import Screen, Words, render, split_keys, transfer_target
from server.protocol import CounterResult, QueueAnswer
from tests.conftest import KIOSK, seconds
from tests.integration.server_process import ServerProcess, branchq_command, clean_env

B = "/api/v1/branches/demo"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A command in a pseudo-terminal of 100×30: send keys, wait for text on the screen."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.cooked = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(
            argv, stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env, cwd=cwd,
            start_new_session=True,
        )
        self.output = ""
        self.mark = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def screen(self) -> str:
        """What was shown since the last key, escape sequences taken out."""
        return ANSI.sub("\n", self.output[self.mark :])

    def press(self, keys: str) -> None:
        self.mark = len(self.output)
        os.write(self.master, keys.encode())

    async def expect(self, pattern: str, timeout_s: float = 10) -> re.Match:
        """Read the terminal until ``pattern`` shows (since the last key), or fail with the screen."""
        deadline = time.monotonic() + seconds(timeout_s)
        while (found := re.search(pattern, self.screen())) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await self._read(remaining):
                raise AssertionError(f"{pattern!r} not shown; the screen:\n{self.screen()[-2500:]}")
        return found

    async def _read(self, timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        loop.add_reader(self.master, lambda: readable.done() or readable.set_result(None))
        try:
            await asyncio.wait_for(readable, timeout_s)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(self.master)
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the command has exited and the terminal is gone
            return False
        self.output += self._decoder.decode(data)
        return bool(data)

    async def exit_status(self, timeout_s: float = 10) -> int:
        return await asyncio.wait_for(asyncio.to_thread(self.proc.wait), seconds(timeout_s))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


async def ok(resp, status: int = 200) -> dict:
    assert resp.status == status, f"{resp.status}: {await resp.text()}"
    return await resp.json()


def teller_command(server: ServerProcess) -> list[str]:
    return [branchq_command(), "counter", "--server", server.base_url, "--branch", "demo",
            "--counter", "3", "--user", "teller3", "--lang", "en"]


@pytest.mark.slow
async def test_a_teller_opens_calls_and_finishes_at_the_terminal_and_a_key_out_of_order_is_explained(
    tmp_path,
):
    server = ServerProcess(f"sqlite:///{tmp_path / 'branchq.db'}", tmp_path / "server", demo=True)
    async with server, server.session() as kiosk, server.session() as public, server.session() as manager:
        issued = [
            await ok(await kiosk.post(f"{B}/tickets", json={"service": "A"},
                                      headers={**KIOSK, "Idempotency-Key": f"cli-{n}"}), 201)
            for n in (1, 2)
        ]
        assert [t["number"] for t in issued] == ["A001", "A002"]
        await ok(await manager.post("/api/v1/auth/login",
                                    json={"username": "manager", "password": "demo-pass"}))

        async def ticket_state(n: int) -> str:
            return (await ok(await public.get(f"/api/v1/tickets/{issued[n]['token']}")))["state"]

        async def counter_3() -> dict:
            return (await ok(await manager.get(f"{B}/counters/3")))["counter"]

        workdir = tmp_path / "teller"
        workdir.mkdir()
        env = clean_env(workdir, BRANCHQ_PASSWORD="demo-pass", TERM="xterm")
        term = Terminal(teller_command(server), env=env, cwd=workdir)
        try:
            await term.expect(r"counter 3 · CLOSED(.|\n)*waiting for this counter: 2(.|\n)*q quit")

            term.press("o")
            await term.expect(r"counter 3 is open")
            await term.expect(r"counter 3 · OPEN · teller teller3")

            term.press("n")
            await term.expect(r"A001 +Cash +called")
            await term.expect(r"waiting for this counter: 1 +next A002")

            term.press("f")
            await term.expect(r"A001 done")
            assert await ticket_state(0) == "done"
            assert (await counter_3())["current"] is None

            # Nothing is called now: finishing again is refused in plain words, nothing changes.
            before = await counter_3()
            term.press("f")
            await term.expect(r"! no ticket is called at counter 3")
            assert await counter_3() == before
            assert before["state"] == "open" and before["current"] is None
            assert [await ticket_state(0), await ticket_state(1)] == ["done", "waiting"]

            term.press("q")
            assert await term.exit_status() == 0, term.screen()[-2500:]
            assert termios.tcgetattr(term.slave) == term.cooked, "terminal mode not restored after q"
            assert "Traceback" not in term.output, term.output[-2500:]
        finally:
            term.close()

        # Back at the terminal: the counter as it was left; Ctrl-C leaves as cleanly as q.
        term = Terminal(teller_command(server), env=env, cwd=workdir)
        try:
            await term.expect(r"counter 3 · OPEN · teller teller3(.|\n)*next A002(.|\n)*q quit")
            term.press("\x03")
            assert await term.exit_status() == 0, term.screen()[-2500:]
            assert termios.tcgetattr(term.slave) == term.cooked, "terminal mode not restored after Ctrl-C"
            assert "Traceback" not in term.output, term.output[-2500:]
        finally:
            term.close()


# --- the pure parts: keys, transfer targets, the screen -------------------------------------


@pytest.mark.parametrize(
    ("typed", "keys"),
    [
        ("onf", ["o", "n", "f"]),
        ("\r\n", ["\r"]),  # one Enter, not two calls
        ("\r\r", ["\r", "\r"]),
        ("\n", ["\r"]),
        ("\x1b[Af", ["\x1b[A", "f"]),  # an arrow key is one key, not Esc, [ and A
        ("\x1b", ["\x1b"]),
        ("午饭", ["午", "饭"]),
    ],
)
def test_typed_text_is_split_into_keys(typed, keys):
    assert split_keys(typed) == keys


@pytest.mark.parametrize(
    ("typed", "target"),
    [("b", {"service": "B"}), (" C ", {"service": "C"}), ("4", {"to_counter": 4}),
     ("0", None), ("B4", None), ("", None), ("ABC", None)],
)
def test_a_transfer_goes_to_a_service_letter_or_a_counter_number(typed, target):
    assert transfer_target(typed) == target


def test_the_screen_shows_the_called_ticket_its_timers_the_queue_and_fits_the_width():
    from datetime import UTC, datetime

    called = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    ticket = {
        "id": 1, "number": "G001", "service": "A", "priority": "green", "green_reason": "elderly",
        "state": "serving", "issued_at": "2026-03-02T01:20:00Z", "queued_at": "2026-03-02T01:20:00Z",
        "called_at": called.isoformat(), "started_at": "2026-03-02T01:31:00Z", "finished_at": None,
        "counter": 3, "target_counter": None, "recalls": 1, "transfers": 0,
    }
    view = CounterResult.model_validate({
        "counter": {"number": 3, "names": {}, "state": "open", "staff": "teller3", "pause_reason": None,
                    "services": ["A", "B", "C"], "current": ticket},
        "ticket": None,
        "today": {"served": 4, "average_service_s": 250.0},
    })
    queue = QueueAnswer.model_validate({"branch": "demo", "counter": 3, "tickets": [
        {"id": 2, "number": "A002", "service": "A", "priority": "normal", "green_reason": None,
         "queued_at": "2026-03-02T01:21:00Z", "issued_at": "2026-03-02T01:21:00Z", "waited_s": 60,
         "target_counter": None},
    ]})
    screen = Screen("demo", 3, "teller3", branch_names={"en": "Demo Branch", "zh-CN": "演示支行"},
                    service_names={"A": {"en": "Cash", "zh-CN": "现金"}}, view=view, queue=queue,
                    online=True, status="serving G001")

    en = "\n".join(render(screen, Words("en"), now=datetime(2026, 3, 2, 1, 33, 5, tzinfo=UTC)))
    assert "Demo Branch · counter 3 · OPEN · teller teller3" in en
    assert "G001   Cash   serving   green channel (elderly)" in en
    assert "waited 10:00   service 2:05   recalled 1×" in en
    assert "waiting for this counter: 1   next A002" in en
    assert "today: 4 served, average 4:10" in en

    zh = render(screen, Words("zh-CN"), now=datetime(2026, 3, 2, 1, 33, 5, tzinfo=UTC), width=30)
    assert zh[0].startswith("演示支行 · 3 号窗口 · 服务中")
    assert all(sum(2 if "\u4e00" <= c <= "\u9fff" or c in "，：（）" else 1 for c in line) <= 30
               for line in zh)


class _Counter3:
    """The server's side of counter 3, as far as call-next goes: each call finishes the current
    ticket and calls the next of A001, A002, …; it records each command with its ``expect``."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.connected.set()
        self.sent: list[tuple[str, dict]] = []
        self.calls = 0

    async def command(self, type_: str, **args) -> dict:
        self.sent.append((type_, args))
        self.calls += 1
        ticket = {
            "id": self.calls, "number": f"A{self.calls:03d}", "service": "A", "priority": "normal",
            "green_reason": None, "state": "called", "issued_at": "2026-03-02T01:20:00Z",
            "queued_at": "2026-03-02T01:20:00Z", "called_at": "2026-03-02T01:30:00Z", "started_at": None,
            "finished_at": None, "counter": 3, "target_counter": None, "recalls": 0, "transfers": 0,
        }
        return {"counter": {"number": 3, "names": {}, "state": "open", "staff": "teller3", "pause_reason": None,
                            "services": ["A"], "current": ticket}, "ticket": ticket}


async def test_call_next_pressed_again_moments_after_the_terminals_own_call_finishes_nobody(monkeypatch):
    """As on the teller page: the second press of a double press says who was just called and sends
    nothing (the server would take it, with ``expect`` naming the called customer); a press after
    that is meant, and after the moment any press is."""
    import counter.cli as cli

    terminal = cli.TellerTerminal(cli.Options("http://127.0.0.1:1", "demo", 3, "teller3", lang="en"),
                                  None, "")  # type: ignore[arg-type]
    server = terminal.client = _Counter3()  # type: ignore[assignment]
    now = [1000.0]
    monkeypatch.setattr(cli.time, "monotonic", lambda: now[0])

    await terminal.act("n")
    assert server.sent == [("counter/call_next", {"counter": 3, "timeout": cli.COMMAND_TIMEOUT_S, "expect": None})]
    now[0] += 0.4
    await terminal.act(" ")
    assert len(server.sent) == 1, "the second press of a double press sends nothing"
    assert terminal.screen.status == "just called: A001 (press again to finish it and call the next)"
    await terminal.act("n")  # pressed once more: meant
    assert [args["expect"] for _type, args in server.sent] == [None, 1]
    now[0] += cli.JUST_CALLED_S + 0.1  # A002 called long enough ago: the key finishes it
    await terminal.act("\r")
    assert [args["expect"] for _type, args in server.sent] == [None, 1, 2]
