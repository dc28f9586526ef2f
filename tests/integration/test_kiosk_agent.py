"""The kiosk print agent against a real server: every kiosk ticket on paper exactly once,
a kill -9 and restart in between, and the printer's health on the manager's dashboard.

``branchq serve --demo`` (SQLite) and ``branchq kiosk-agent`` both run as subprocesses.
The "printers" are a file (``file:``), whose bytes are read back with the ESC/POS reader
of the layout tests, and a fake network printer: a small asyncio TCP server on 127.0.0.1
that answers the real-time status request ``DLE EOT n`` like a printer whose paper is out
or fine, and keeps the jobs it receives. Every wait is for a condition, with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from kiosk.agent import PRINT_BATCH, Journal, Options, PrintAgent
from kiosk.printer import DummyPrinter
from server.client import BranchClient
from server.protocol import PrinterStatus, TicketToPrint
from tests.conftest import seconds
from tests.integration.server_process import ServerProcess, branchq_command, clean_env
from tests.unit.test_layout import CASH, parse_escpos

pytestmark = pytest.mark.slow

B = "/api/v1/branches/demo"
KIOSK = {"Authorization": "Bearer demo-kiosk"}
NUMBER = re.compile(r"[A-Z]{1,2}\d{3,5}")


async def eventually(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` (scaled) seconds."""
    deadline = time.monotonic() + seconds(timeout)
    while True:
        with contextlib.suppress(Exception):  # e.g. a file read while it is being appended to
            if result := check():
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds(timeout):.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


# --- the agent as a process -------------------------------------------------------------------


class AgentProcess:
    """``branchq kiosk-agent`` for the demo kiosk, startable again with the same state dir."""

    def __init__(self, server: ServerProcess, workdir: Path, printer: str, *extra: str) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.log_path = workdir / "agent.log"
        self.argv = [
            branchq_command(), "kiosk-agent", "--server", server.base_url, "--token", "demo-kiosk",
            "--printer", printer, "--state-dir", str(self.state_dir), "--mode", "gb18030",
            "--paper", "58", "--timezone", "Asia/Shanghai", *extra,
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # returns at once
                self.argv, cwd=self.workdir, env=clean_env(self.workdir),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    async def kill(self) -> None:
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        await self._end(signal.SIGTERM)

    async def _end(self, sig: int) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            await eventually(lambda: self.proc.poll() is not None, timeout=10, what="the agent to exit")
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def last_printed(self) -> int:
        path = self.state_dir / "journal.json"
        return json.loads(path.read_text())["last_printed"] if path.exists() else 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.asynccontextmanager
async def agent_running(agent: AgentProcess) -> AsyncIterator[AgentProcess]:
    agent.start()
    try:
        yield agent
    except BaseException:
        print(f"--- agent log ---\n{agent.log()[-4000:]}")
        raise
    finally:
        await agent.stop()


def printed_numbers(path: Path) -> list[str]:
    """The ticket numbers on paper, in print order: the big (scaled) lines of each ticket."""
    if not path.exists():
        return []
    return [line.text for line in parse_escpos(path.read_bytes()).lines
            if line.scale > 1 and NUMBER.fullmatch(line.text)]


# --- the server ------------------------------------------------------------------------------


@pytest.fixture
async def server(tmp_path) -> AsyncIterator[ServerProcess]:
    async with ServerProcess(f"sqlite:///{tmp_path / 'branchq.db'}", tmp_path / "server", demo=True) as s:
        yield s


async def ok(resp: aiohttp.ClientResponse, status: int = 200) -> Any:
    body = await resp.text()
    assert resp.status == status, f"{resp.method} {resp.url} → {resp.status} {body}"
    return await resp.json()


async def issue_at_kiosk(http: aiohttp.ClientSession, service: str = "A") -> dict:
    return await ok(await http.post(f"{B}/tickets", json={"service": service}, headers=KIOSK), 201)


@contextlib.asynccontextmanager
async def manager(server: ServerProcess) -> AsyncIterator[tuple[aiohttp.ClientSession, BranchClient]]:
    """The manager signed in over HTTP, and her dashboard's websocket (with the session cookie)."""
    async with server.session() as http:
        await ok(await http.post("/api/v1/auth/login", json={"username": "manager", "password": "demo-pass"}))
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
        async with BranchClient(server.base_url, role="dashboard", branch="demo", cookie=cookie) as dashboard:
            yield http, dashboard


async def kiosk_printer_status(dashboard: BranchClient, wanted: Callable[[dict], bool], *, timeout: float) -> dict:
    """The next ``device.status`` of the kiosk whose printer status is ``wanted``."""
    deadline = time.monotonic() + seconds(timeout)
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no such kiosk printer status within {seconds(timeout):.0f} s; saw {seen}")
        with contextlib.suppress(TimeoutError):
            event = await dashboard.next_event("device.status", timeout=left)
            printer = event.data["status"].get("printer", {})
            seen.append(printer)
            if event.data["kind"] == "kiosk" and wanted(printer):
                return printer


# --- printing exactly once -------------------------------------------------------------------------


async def test_every_kiosk_ticket_is_printed_exactly_once_across_a_kill_and_a_restart(server, tmp_path):
    paper = tmp_path / "printer" / "paper.bin"  # the directory is missing at first: prints fail
    # Exactly once is the point here; tickets too late to print have their own test.
    agent = AgentProcess(server, tmp_path, f"file:{paper}", "--print-within", "3600")
    async with server.session() as kiosk, manager(server) as (staff, dashboard):
        kiosk_tickets: list[dict] = []
        for service in ["A", "B", "staff", "C", "A", "staff", "D"]:
            if service == "staff":
                await ok(await staff.post(f"{B}/tickets", json={"service": "A"}), 201)
            else:
                kiosk_tickets.append(await issue_at_kiosk(kiosk, service))

        async with agent_running(agent):
            # A failed print is reported, and retried once the printer works again.
            failed = await kiosk_printer_status(dashboard, lambda p: not p["online"], timeout=20)
            assert "print failed" in failed["message"]
            assert printed_numbers(paper) == []
            paper.parent.mkdir()
            await kiosk_printer_status(dashboard, lambda p: p["online"] and p["paper"] == "ok", timeout=40)
            first_five = [t["number"] for t in kiosk_tickets]
            await eventually(lambda: printed_numbers(paper) == first_five, timeout=10,
                             what=f"the 5 kiosk tickets {first_five}")

            # Ten more, one at a time; the agent is killed once the third is printed and journaled.
            for _ in range(3):
                kiosk_tickets.append(ticket := await issue_at_kiosk(kiosk, "B"))
                await eventually(lambda t=ticket: agent.last_printed() == t["id"], timeout=10,
                                 what=f"{ticket['number']} printed and journaled")
            await agent.kill()

        for service in ["A", "staff", "C", "A", "E"]:  # while no agent runs
            if service == "staff":
                await ok(await staff.post(f"{B}/tickets", json={"service": "B"}), 201)
            else:
                kiosk_tickets.append(await issue_at_kiosk(kiosk, service))

        async with agent_running(agent):
            await eventually(lambda: agent.last_printed() == kiosk_tickets[-1]["id"], timeout=15,
                             what="the tickets issued while the agent was down")
            for service in ["B", "C", "A"]:
                kiosk_tickets.append(await issue_at_kiosk(kiosk, service))
            expected = [t["number"] for t in kiosk_tickets]
            await eventually(lambda: printed_numbers(paper) == expected, timeout=10,
                             what="all 15 kiosk tickets")

    assert len(expected) == 15
    numbers = printed_numbers(paper)
    assert numbers == expected, "each kiosk ticket once, in issue order, and no staff ticket"
    assert agent.last_printed() == kiosk_tickets[-1]["id"]
    job = parse_escpos(paper.read_bytes())
    assert job.qr == [f"{server.base_url}/t/{t['token']}" for t in kiosk_tickets]
    assert "现金" in job.texts and "转账汇款" in job.texts


# --- a network printer's health --------------------------------------------------------------------

DLE_EOT = b"\x10\x04"
ONLINE, OFFLINE = 0x12, 0x1A  # DLE EOT 1: bit 3 set = offline
PAPER_OK, PAPER_OUT = 0x12, 0x72  # DLE EOT 4: bits 5 and 6 = paper-end sensor


class FakeNetworkPrinter:
    """A printer on 127.0.0.1: answers ``DLE EOT 1|4``, and keeps whatever else it is sent as jobs."""

    MAX_CONNECTIONS = 500
    MAX_JOB = 1 << 20

    def __init__(self) -> None:
        self.paper_out = False
        self.jobs: list[bytes] = []
        self.status_queries = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def unplug(self) -> None:
        """Stop listening: connections are refused from now on."""
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        data = bytearray()
        try:
            if self.connections > self.MAX_CONNECTIONS:
                return
            async with asyncio.timeout(seconds(15)):
                while chunk := await reader.read(4096):
                    data += chunk
                    while data.startswith(DLE_EOT) and len(data) >= 3:
                        n, data = data[2], data[3:]
                        self.status_queries += 1
                        writer.write(bytes([(PAPER_OUT if self.paper_out else PAPER_OK) if n == 4 else ONLINE]))
                        await writer.drain()
                    if len(data) > self.MAX_JOB:
                        break
        except (TimeoutError, ConnectionError):
            pass
        finally:
            if data:
                self.jobs.append(bytes(data))
            writer.close()

    def printed_numbers(self) -> list[str]:
        return [line.text for job in self.jobs for line in parse_escpos(job).lines
                if line.scale > 1 and NUMBER.fullmatch(line.text)]


async def test_network_printer_out_of_paper_or_unplugged_reaches_the_dashboard_and_tickets_wait(
    server, tmp_path
):
    printer = FakeNetworkPrinter()
    printer.paper_out = True
    await printer.start()
    agent = AgentProcess(server, tmp_path, f"net:127.0.0.1:{printer.port}", "--branch", "demo")
    async with server.session() as kiosk, manager(server) as (_staff, dashboard), agent_running(agent):
        out = await kiosk_printer_status(dashboard, lambda p: p["paper"] == "out", timeout=20)
        assert out["online"] is True

        ticket = await issue_at_kiosk(kiosk, "C")
        queries = printer.status_queries
        await eventually(lambda: printer.status_queries >= queries + 4, timeout=10,
                         what="two more status checks after the ticket was issued")
        assert printer.jobs == [], "nothing may be sent to a printer without paper"

        printer.paper_out = False
        back = await kiosk_printer_status(dashboard, lambda p: p["paper"] == "ok", timeout=10)
        assert back["online"] is True
        await eventually(lambda: printer.printed_numbers() == [ticket["number"]], timeout=10,
                         what=f"{ticket['number']} printed once the paper is back")

        await printer.unplug()
        offline = await kiosk_printer_status(dashboard, lambda p: not p["online"], timeout=10)
        assert "connect" in offline["message"]
    assert printer.printed_numbers() == [ticket["number"]]


# --- a new state directory ------------------------------------------------------------------------


class FakeKioskAPI:
    """The two routes of :class:`kiosk.agent.KioskAPI`, over a list of tickets."""

    def __init__(self, tickets: list[TicketToPrint]) -> None:
        self.all = tickets
        self.reports: list[PrinterStatus] = []

    async def tickets(self, after_id: int) -> list[TicketToPrint]:
        return [t for t in self.all if t.id > after_id][:PRINT_BATCH]

    async def report(self, status: PrinterStatus, *, last_printed: int | None) -> None:
        self.reports.append(status)

    async def print_jobs(self, after_id: int) -> list[TicketToPrint]:
        return []  # nobody asked for a reprint


def ticket_to_print(ticket_id: int, number: str, issued_at: datetime) -> TicketToPrint:
    return TicketToPrint(
        id=ticket_id, token=f"token{ticket_id}", number=number, service="A", service_names=CASH,
        branch="demo", branch_names={"zh-CN": "演示支行", "en": "Demo Branch"}, priority="normal",
        issued_at=issued_at, ahead=0, estimated_wait_s=0,
    )


async def test_a_new_state_directory_skips_tickets_taken_long_before_the_first_start(tmp_path):
    now = datetime.now(UTC)
    history = [ticket_to_print(i, f"A{i:03d}", now - timedelta(hours=3)) for i in range(1, 121)]
    fresh = [ticket_to_print(121, "A121", now - timedelta(minutes=2)), ticket_to_print(122, "A122", now)]
    api, printer = FakeKioskAPI([*history, *fresh]), DummyPrinter(mode="gb18030")
    # Only the first start's window is looked at here: late tickets have their own test.
    options = Options(server="http://branchq.invalid", token="t", state_dir=tmp_path, branch="demo",
                      print_within_s=24 * 3600)

    agent = PrintAgent(options, printer, Journal(tmp_path), api)
    await agent._print_owed()
    assert [name for name, _ in printer.jobs] == ["000000121-A121", "000000122-A122"]
    assert Journal(tmp_path).last_printed == 122

    # Once the journal exists, the first start's window no longer applies.
    api.all.append(ticket_to_print(123, "A123", now - timedelta(hours=5)))
    agent = PrintAgent(options, printer, Journal(tmp_path), api)
    await agent._print_owed()
    assert [name for name, _ in printer.jobs][-1] == "000000123-A123"
    assert parse_escpos(printer.jobs[-1][1]).qr == ["http://branchq.invalid/t/token123"]


class OfflinePrinter(DummyPrinter):
    """A dummy printer that can be switched off, as a printer whose cover is open."""

    online: bool = True

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=self.online, paper="ok" if self.online else "unknown")


async def test_a_ticket_not_printed_within_a_short_time_is_dropped_and_never_printed_late(tmp_path):
    now = datetime.now(UTC)
    Journal(tmp_path).record(0)  # an agent that has run here before: no first-start window
    left = ticket_to_print(1, "A001", now - timedelta(minutes=5))  # its customer left long ago
    fresh = ticket_to_print(2, "A002", now)
    api, printer = FakeKioskAPI([left, fresh]), OfflinePrinter(mode="gb18030")
    options = Options(server="http://branchq.invalid", token="t", state_dir=tmp_path, branch="demo")
    agent = PrintAgent(options, printer, Journal(tmp_path), api)
    agent.checked = printer.status()

    await agent._print_owed()  # the printer is back: only the ticket whose customer is there prints
    assert [name for name, _ in printer.jobs] == ["000000002-A002"]
    assert Journal(tmp_path).last_printed == 2, "the dropped ticket is journaled: it never prints later"
    assert any("A001" in (r.message or "") for r in api.reports), "the drop is reported at once"

    # A ticket that waits out an outage is dropped when the printer returns too late for it.
    printer.online = False
    agent.checked = printer.status()
    stuck = ticket_to_print(3, "A003", now - timedelta(seconds=options.print_within_s + 1))
    api.all.append(stuck)
    waiting = asyncio.create_task(agent._print_owed())
    await asyncio.sleep(0)
    printer.online = True
    agent.checked = printer.status()
    agent._status_checked.set()
    await asyncio.wait_for(waiting, seconds(5))
    assert [name for name, _ in printer.jobs] == ["000000002-A002"]
    assert Journal(tmp_path).last_printed == 3


async def test_a_ticket_prints_in_its_customers_language_and_the_branchs_time(tmp_path):
    issued = datetime(2030, 5, 6, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, 21:30 the day before in New York
    api, printer = FakeKioskAPI([]), DummyPrinter(mode="gb18030")
    # The kiosk PC is set to New York and the agent to Simplified Chinese: neither is the customer's.
    options = Options(server="http://branchq.invalid", token="t", state_dir=tmp_path, branch="demo",
                      language="zh-CN", timezone=ZoneInfo("America/New_York"))
    agent = PrintAgent(options, printer, Journal(tmp_path), api)
    english = ticket_to_print(1, "A001", issued).model_copy(update={"language": "en", "timezone": "Asia/Shanghai"})
    texts = agent.layout_for(english).texts()
    assert "Issued 2030-05-06 09:30" in texts, texts
    tw = ticket_to_print(2, "A002", issued).model_copy(update={"language": "zh-TW", "timezone": "Asia/Shanghai"})
    assert "取號時間 2030-05-06 09:30" in agent.layout_for(tw).texts()
    unsaid = ticket_to_print(3, "A003", issued)  # an older server: the agent's own choices
    assert "取号时间 2030-05-05 21:30" in agent.layout_for(unsaid).texts()


async def test_the_kiosk_sends_its_customers_language_with_the_ticket_and_the_print_job_carries_it(server):
    async with server.session() as kiosk:
        english = await ok(
            await kiosk.post(f"{B}/tickets", json={"service": "A", "language": "en"}, headers=KIOSK), 201
        )
        plain = await issue_at_kiosk(kiosk, "A")
        jobs = await ok(await kiosk.get("/api/v1/devices/me/tickets", params={"after_id": "0"}, headers=KIOSK))
    by_id = {j["id"]: j for j in jobs}
    assert by_id[english["id"]]["language"] == "en"
    assert by_id[plain["id"]]["language"] is None
    assert by_id[english["id"]]["timezone"] == "Asia/Shanghai"


async def test_the_agent_enrolls_with_a_one_time_code_and_keeps_its_token(server, tmp_path):
    from argparse import Namespace

    from kiosk.agent import Fatal, enroll, options_from

    async with manager(server) as (staff, _dashboard):
        code = (await ok(await staff.post("/api/v1/admin/branches/demo/enrollments",
                                          json={"kind": "kiosk", "name": "kiosk by the door"}), 201))["code"]
        display_code = (await ok(await staff.post("/api/v1/admin/branches/demo/enrollments",
                                                  json={"kind": "display", "name": "hall"}), 201))["code"]
    state = tmp_path / "agent-state"
    token = await asyncio.to_thread(enroll, server.base_url, code, state)
    assert (state / "token").read_text().strip() == token
    assert (state / "token").stat().st_mode & 0o777 == 0o600, "the token is the kiosk's secret"
    async with server.session() as http:
        me = await ok(await http.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"}))
    assert (me["kind"], me["name"]) == ("kiosk", "kiosk by the door")

    with pytest.raises(Fatal, match="refused the enrollment code"):
        await asyncio.to_thread(enroll, server.base_url, code, tmp_path / "again")
    with pytest.raises(Fatal, match="not a kiosk"):
        await asyncio.to_thread(enroll, server.base_url, display_code, tmp_path / "display")
    args = Namespace(token=None, enroll=None, server=server.base_url, state_dir=str(state), branch=None,
                     lang=None, paper=80, timezone="Asia/Shanghai", public_url=None, footer=None)
    assert options_from(args).token == token, "later starts use the kept token"


# --- reprints ------------------------------------------------------------------------------------


def last_job(agent: AgentProcess) -> int:
    path = agent.state_dir / "journal.json"
    return json.loads(path.read_text()).get("last_job", 0) if path.exists() else 0


async def test_a_reprint_prints_one_marked_copy_and_never_again_after_a_kill_and_restart(server, tmp_path):
    paper = tmp_path / "paper.bin"
    agent = AgentProcess(server, tmp_path, f"file:{paper}", "--print-within", "3600")
    async with server.session() as kiosk, manager(server) as (staff, _dashboard):
        first, second = await issue_at_kiosk(kiosk, "A"), await issue_at_kiosk(kiosk, "B")
        async with agent_running(agent):
            await eventually(lambda: printed_numbers(paper) == [first["number"], second["number"]], timeout=20,
                             what="the two tickets")
            job = await ok(await staff.post(f"{B}/tickets/{first['id']}/reprint", json={}))
            await eventually(lambda: last_job(agent) == job["job"], timeout=10, what="the reprint journaled")
            assert printed_numbers(paper) == [first["number"], second["number"], first["number"]]
            await agent.kill()
        texts = parse_escpos(paper.read_bytes()).texts
        assert sum("补打 / REPRINT" in t for t in texts) == 1, texts
        again = await ok(await kiosk.post(f"{B}/tickets/{second['id']}/reprint", json={}, headers=KIOSK))
        third = await issue_at_kiosk(kiosk, "C")
        async with agent_running(agent):
            await eventually(lambda: agent.last_printed() == third["id"] and last_job(agent) == again["job"],
                             timeout=20, what="the ticket and the copy asked for while the agent was down")
            assert printed_numbers(paper) == [first["number"], second["number"], first["number"],
                                              third["number"], second["number"]]
    texts = parse_escpos(paper.read_bytes()).texts
    assert sum("补打 / REPRINT" in t for t in texts) == 2
