"""The kiosk print agent: prints every ticket issued at this kiosk, once.

    branchq kiosk-agent --server http://10.1.2.3:8080 --token … --printer net:10.1.2.50

(``branchq-kiosk-agent`` takes the same options, on a kiosk PC with only ``branchq[kiosk]``.)

It connects to the server as the kiosk (:class:`server.client.BranchClient`, role
``kiosk``, the kiosk's device token). Whenever a ``ticket.issued`` of its own
arrives, at start, after every reconnect, and as a slow safety net, it asks
``GET /api/v1/devices/me/tickets?after_id=<last printed>`` for what the printer
still owes and prints those tickets in id order. Without the websocket (server
restarting, branch not known yet) it keeps printing by polling that route.

The journal
    ``STATE_DIR/journal.json`` holds the id of the last ticket printed. It is
    replaced atomically (temporary file, fsync, rename, fsync of the directory)
    right after each ticket has gone to the printer, so after a crash, a kill -9
    or a power cut the agent resumes exactly where the printer stopped: no
    ticket is lost, and none is printed twice, across reconnects and restarts.

    One window remains: the printer has accepted a ticket but the journal does
    not say so yet. A crash there prints that one ticket again on restart (the
    same number: a duplicate, never a loss: we choose at-least-once, since a
    customer without a ticket is worse than a spare copy). The window is kept
    to the journal write alone: the job is rendered completely before the
    device is touched, sent in one write on its own connection, and the journal
    is written in the same worker-thread call, with no await and no network
    round trip in between. A lock file stops a second agent on the same state
    directory. ("Printed" means the printer accepted the whole job: written
    and fsynced for ``file:``, sent for ``net:``/``usb:``/``serial:``; a jam
    after that is the printer's to report.)

    With no journal (a new state directory), tickets issued more than
    ``FIRST_START_WINDOW_S`` before the start are skipped and logged: the
    customers who took them are gone, and a new kiosk PC must not print a
    kiosk's whole history.

Printer health
    Checked every ``STATUS_INTERVAL_S`` with short timeouts, right before each
    ticket, and whenever a print fails; sent as ``POST /api/v1/devices/me/status``
    when it changes (and once a minute as a heartbeat), which the server turns
    into a ``device.status`` event for the branch's staff screens and for the kiosk
    itself. A failed print is logged and reported at once (``online: false`` with
    the reason), so the kiosk's screen tells the customer to note the number or
    scan the code, and the ticket is retried while it is fresh (offline, out of
    paper, or a write error).

Late tickets are never printed
    A ticket not printed within ``PRINT_WITHIN_S`` of its issue is dropped: its
    customer has left the kiosk (with the number on the screen or the phone page),
    and the next customer must not be handed a stranger's ticket when the printer
    comes back. The drop is journaled like a print, logged, and reported in the
    printer's status message.

Reprints
    A copy asked for at the lobby console (or by the kiosk after a failed print) is a print
    job: ``ticket.reprint_requested`` reaches this kiosk alone and wakes the agent, which asks
    ``GET /api/v1/devices/me/print-jobs?after_id=<last job>`` and prints each job once, marked
    "补打 / REPRINT / 補印" with the time it was asked for. The journal keeps the last job
    beside the last ticket, written the same way, so a copy survives kill -9 exactly as a
    ticket does. A job not printed within ``PRINT_WITHIN_S`` of its request is dropped too.

Language and time
    Each ticket prints in the language its customer used at the kiosk (the print
    job's ``language``; else ``--lang``, else the branch's), with its issue time in
    the branch's zone (the job's ``timezone``; ``--timezone`` only where the server
    does not say).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from pydantic import TypeAdapter, ValidationError

from server.client import BranchClient, Refused, backoff
from server.protocol import EventMessage, PrinterStatus, Priority, Snapshot, TicketToPrint, events

from .layout import (
    LANGUAGES,
    PAPER_DOTS,
    FontChoice,
    Language,
    Layout,
    Mode,
    find_cjk_font,
    ticket_layout,
)
from .printer import (
    BadSpec,
    KioskPrinter,
    PreviewPrinter,
    PrintFailed,
    open_printer,
    printable,
)

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 3.0
SAFETY_POLL_S = 60.0
"""With a live websocket, events wake the agent; this only catches what nothing announced."""
OFFLINE_POLL_S = 3.0
"""Without the websocket, the agent polls for tickets this often."""
HEARTBEAT_S = 60.0
FIRST_START_WINDOW_S = 15 * 60
PRINT_WITHIN_S = 60.0
"""A ticket still unprinted this long after its issue is dropped: its customer has gone."""
PRINT_BATCH = 50
"""What the server returns at most per request (server.services.devices.PRINT_BATCH)."""
HTTP_TIMEOUT_S = 10.0
WEBSOCKET_RETRY_S = 30.0
TOKEN_ENV = "BRANCHQ_KIOSK_TOKEN"

TICKETS = TypeAdapter(list[TicketToPrint])


class Fatal(Exception):
    """Nothing to retry: a bad token, spec or set-up. The agent stops with the message."""


class ServerUnavailable(Exception):
    """The server did not answer usefully this time; try again later."""


class PrinterNotReady(Exception):
    def __init__(self, status: PrinterStatus) -> None:
        super().__init__(status.message or "printer not ready")
        self.status = status


# --- the journal ------------------------------------------------------------------------------


class Journal:
    """The last printed ticket id (and what the agent learned), kept in ``journal.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "journal.json"
        self.existed = self.path.exists()
        try:
            data: dict[str, Any] = json.loads(self.path.read_text()) if self.existed else {}
            self.last_printed: int = int(data.get("last_printed", 0))
            self.last_job: int = int(data.get("last_job", 0))
        except (ValueError, TypeError, AttributeError) as e:
            raise Fatal(f"{self.path} is not a journal this agent wrote ({e}); fix or remove it") from None
        self.branch: str | None = data.get("branch")
        self.language: str | None = data.get("language")

    def record(self, last_printed: int | None = None, *, last_job: int | None = None, **learned: str | None) -> None:
        """Write atomically: after a crash the file holds the old or the new content, never a mix."""
        if last_printed is not None:
            self.last_printed = last_printed
        if last_job is not None:
            self.last_job = last_job
        for key, value in learned.items():
            setattr(self, key, value)
        body = json.dumps(
            {"last_printed": self.last_printed, "last_job": self.last_job, "branch": self.branch,
             "language": self.language, "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
        ).encode()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".journal-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)
        self.existed = True


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """One agent per state directory (two would print every ticket twice)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; one agent per kiosk PC anyway
        yield
        return
    with open(state_dir / "agent.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Fatal(f"another kiosk agent is using {state_dir}") from None
        yield


# --- the server -----------------------------------------------------------------------------


class KioskAPI:
    """The two HTTP routes of a kiosk agent, with the kiosk's bearer token."""

    def __init__(self, server: str, token: str) -> None:
        self.server = server.rstrip("/")
        self.http = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S),
        )

    async def close(self) -> None:
        await self.http.close()

    async def tickets(self, after_id: int) -> list[TicketToPrint]:
        """Tickets this kiosk issued after ``after_id``, oldest first (at most ``PRINT_BATCH``)."""
        body = await self._call("GET", "/api/v1/devices/me/tickets", params={"after_id": str(after_id)})
        try:
            return TICKETS.validate_python(body)
        except ValidationError as e:
            raise ServerUnavailable(f"unexpected ticket list: {e}") from e

    async def print_jobs(self, after_id: int) -> list[TicketToPrint]:
        """This kiosk's reprints after job ``after_id``, oldest first (none from a server without them)."""
        body = await self._call("GET", "/api/v1/devices/me/print-jobs", params={"after_id": str(after_id)},
                                missing=[])
        try:
            return TICKETS.validate_python(body)
        except ValidationError as e:
            raise ServerUnavailable(f"unexpected print-job list: {e}") from e

    async def report(self, status: PrinterStatus, *, last_printed: int | None) -> None:
        body: dict[str, Any] = {"printer": status.model_dump(exclude_none=True)}
        if last_printed:
            body["last_printed"] = last_printed
        await self._call("POST", "/api/v1/devices/me/status", json=body)

    async def _call(self, method: str, path: str, *, missing: Any = None, **kwargs: Any) -> Any:
        """The answer's JSON; ``missing`` (when given) for a 404, i.e. an older server without the route."""
        try:
            async with self.http.request(method, self.server + path, **kwargs) as resp:
                if resp.status == 404 and missing is not None:
                    return missing
                if resp.status in (401, 403):
                    raise Fatal(f"the server refused this kiosk token ({resp.status}: {await resp.text()})")
                if resp.status >= 400:
                    raise ServerUnavailable(f"{method} {path} → {resp.status}: {(await resp.text())[:200]}")
                return await resp.json()
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as e:
            raise ServerUnavailable(f"{method} {path}: {type(e).__name__}: {e}") from e


# --- the agent ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    server: str
    token: str
    state_dir: Path
    branch: str | None = None
    language: Language | None = None
    """For tickets that do not carry their customer's language; None: the branch's."""
    paper_mm: int = 80
    timezone: tzinfo = UTC
    """For tickets that do not carry the branch's zone (an older server)."""
    public_url: str | None = None
    """Base of the phone URL in the QR code (default: the server URL)."""
    footer: str | None = None
    print_within_s: float = PRINT_WITHIN_S


class PrintAgent:
    """Keeps the printer level with the tickets issued at this kiosk. ``run()`` until cancelled."""

    def __init__(self, options: Options, printer: KioskPrinter, journal: Journal, api: KioskAPI) -> None:
        self.options, self.printer, self.journal, self.api = options, printer, journal, api
        self.client: BranchClient | None = None
        self.branch = options.branch or journal.branch
        self.branch_language: str | None = journal.language
        self.checked: PrinterStatus | None = None
        """What the printer itself said at the last check."""
        self.print_error: str | None = None
        """The last print's failure, until a print succeeds."""
        self.dropped: str | None = None
        """The last ticket dropped as too late to print, until one is printed."""
        self.reported: PrinterStatus | None = None
        self._reported_at = 0.0
        self._report_failing = False
        self._wake = asyncio.Event()
        self._status_checked = asyncio.Event()
        self._branch_known = asyncio.Event()
        self._device = asyncio.Lock()
        self._reporting = asyncio.Lock()
        self._seen_connections = 0
        # Decided once, at start: a new state directory skips tickets taken long ago.
        self._first_start_cutoff = (
            None if journal.existed else datetime.now(UTC) - timedelta(seconds=FIRST_START_WINDOW_S)
        )
        if self.branch:
            self._branch_known.set()

    async def run(self) -> None:
        """Print, watch the printer and listen to the server until cancelled.

        Raises:
            Fatal: the server refused the token; retrying would not help.
        """
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._status_loop(), name="printer-status")
                tasks.create_task(self._print_loop(), name="print")
                tasks.create_task(self._websocket(), name="websocket")
        except BaseExceptionGroup as group:
            fatal = group.subgroup(Fatal)
            if fatal is not None:
                raise fatal.exceptions[0] from None
            raise

    # --- what to print ---------------------------------------------------------------------

    async def _print_loop(self) -> None:
        retries: Iterator[float] | None = None
        while True:
            self._wake.clear()
            try:
                await self._print_owed()
                retries, timeout = None, self._poll_interval()
            except PrinterNotReady as e:
                log.warning("printing paused: %s", e)
                timeout = 1.0  # then wait in _until_printable for the printer to be back
            except (ServerUnavailable, PrintFailed) as e:
                log.warning("printing paused: %s", e)
                retries = retries or backoff(initial=1.0, factor=2.0, cap=30.0)
                timeout = next(retries)
            await self._sleep_until_woken(timeout)

    async def _print_owed(self) -> None:
        while True:
            batch = await self.api.tickets(self.journal.last_printed)
            self._learn_branch(batch)
            stale = list(itertools.takewhile(self._taken_before_first_start, batch))
            if stale:  # one journal write for the lot
                log.warning("not printing %d tickets (%s … %s) issued before this agent's first start",
                            len(stale), stale[0].number, stale[-1].number)
                await asyncio.to_thread(self.journal.record, stale[-1].id)
            for ticket in batch[len(stale):]:
                await self._print_one(ticket)
            if len(batch) < PRINT_BATCH:
                break
        while True:  # then the reprints, each once: the journal keeps the last job as well
            jobs = await self.api.print_jobs(self.journal.last_job)
            for job in jobs:
                await self._print_one(job)
            if len(jobs) < PRINT_BATCH:
                break
        if self._first_start_cutoff is not None:
            self._first_start_cutoff = None
            if not self.journal.existed:
                await asyncio.to_thread(self.journal.record)

    def _taken_before_first_start(self, ticket: TicketToPrint) -> bool:
        cutoff = self._first_start_cutoff
        return cutoff is not None and _aware(ticket.issued_at) < cutoff

    async def _print_one(self, ticket: TicketToPrint) -> None:
        await self._until_printable()
        if self.too_late(ticket):
            await self._drop(ticket)
            return
        layout = self.layout_for(ticket)
        name = f"{ticket.id:09d}-{ticket.number}" + (f"-reprint-{ticket.job}" if ticket.job else "")
        try:
            async with self._device:
                await asyncio.to_thread(self._print_and_record, layout, name, ticket)
        except PrinterNotReady as e:
            self.checked = e.status
            await self._report_if_changed()
            raise
        except PrintFailed as e:
            log.error("ticket %s (id %d) NOT printed: %s; will retry", ticket.number, ticket.id, e)
            self.print_error = str(e)
            await self._report_if_changed()
            raise
        log.info("printed %s (id %d)%s", ticket.number, ticket.id, f" again (job {ticket.job})" if ticket.job else "")
        if self.print_error is not None or self.dropped is not None:
            self.print_error = self.dropped = None
            await self._report_if_changed()

    def too_late(self, ticket: TicketToPrint) -> bool:
        """Whether the ticket's customer has surely left the kiosk by now (a reprint: since it was asked for)."""
        asked = ticket.reprinted_at if ticket.job and ticket.reprinted_at else ticket.issued_at
        age = (datetime.now(UTC) - _aware(asked)).total_seconds()
        return age > self.options.print_within_s

    async def _drop(self, ticket: TicketToPrint) -> None:
        log.warning("ticket %s (id %d) NOT printed: issued more than %.0f s ago, its customer has left",
                    ticket.number, ticket.id, self.options.print_within_s)
        await asyncio.to_thread(_journal_done, self.journal, ticket)
        self.dropped = ticket.number
        await self._report_if_changed()

    def _print_and_record(self, layout: Layout, name: str, ticket: TicketToPrint) -> None:
        """In the worker thread: check, print, journal, with nothing else in between."""
        status = self.printer.status()
        if not printable(status):
            raise PrinterNotReady(status)
        try:
            self.printer.print_ticket(layout, name=name)
        except PrintFailed:
            raise
        except Exception as e:  # rendering (font, image) or a driver's own error: still a failed print
            raise PrintFailed(f"{type(e).__name__}: {e}") from e
        _journal_done(self.journal, ticket)

    async def _until_printable(self) -> None:
        """Wait while the last check says offline or out of paper (checks go on every few seconds)."""
        while self.checked is not None and not printable(self.checked):
            self._status_checked.clear()
            await self._status_checked.wait()

    def layout_for(self, ticket: TicketToPrint) -> Layout:
        o = self.options
        base = (o.public_url or o.server).rstrip("/")
        language = ticket.language if ticket.language in LANGUAGES else self.language
        return ticket_layout(
            branch_names=ticket.branch_names,
            service_names=ticket.service_names,
            number=ticket.number,
            ahead=ticket.ahead,
            estimated_wait_s=ticket.estimated_wait_s,
            issued_at=_aware(ticket.issued_at).astimezone(_zone(ticket.timezone, o.timezone)),
            phone_url=f"{base}/t/{ticket.token}",
            footer=o.footer,
            language=language,
            paper_mm=o.paper_mm,
            green_channel=ticket.priority == Priority.GREEN,
            reprinted_at=(_aware(ticket.reprinted_at).astimezone(_zone(ticket.timezone, o.timezone))
                          if ticket.job and ticket.reprinted_at else None),
        )

    @property
    def language(self) -> Language:
        chosen = self.options.language or self.branch_language
        return chosen if chosen in LANGUAGES else "zh-CN"

    def _poll_interval(self) -> float:
        client = self.client
        live = client is not None and client.synced.is_set()
        return SAFETY_POLL_S if live else OFFLINE_POLL_S

    async def _sleep_until_woken(self, timeout: float) -> None:
        """Until an event wakes us, the websocket (re)connects, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(left, 1.0))
                return
            client = self.client
            if client is not None and client.synced.is_set() and client.connections != self._seen_connections:
                self._seen_connections = client.connections
                return  # a new connection: fetch whatever was issued meanwhile

    def _learn_branch(self, batch: list[TicketToPrint]) -> None:
        if self.branch is None and batch:
            self.branch = batch[0].branch
            self.journal.branch = self.branch
            self._branch_known.set()

    # --- the websocket ---------------------------------------------------------------------

    async def _websocket(self) -> None:
        if self.branch is None:
            log.info("branch not known yet (no --branch): it comes with this kiosk's first ticket")
            await self._branch_known.wait()
        branch = self.branch
        assert branch is not None  # _learn_branch() sets it before _branch_known
        while True:
            self.client = BranchClient(
                self.options.server, role="kiosk", branch=branch, token=self.options.token,
                on_event=self._on_event, on_snapshot=self._on_snapshot,
            )
            try:
                await self.client.run()  # reconnects by itself; returns only on what it won't retry
            except Refused as e:
                raise Fatal(f"the server refused the kiosk's websocket: {e}") from None
            except Exception:  # e.g. a proxy answering 404: printing goes on by polling
                log.exception("websocket given up; polling for tickets, trying again in %.0f s", WEBSOCKET_RETRY_S)
            self.client = None
            await asyncio.sleep(WEBSOCKET_RETRY_S)  # a period between attempts

    def _on_event(self, event: EventMessage) -> None:
        if event.kind == events.TICKET_ISSUED.name and "id" in event.data:  # only our own carry the id
            self._wake.set()
        elif event.kind == events.TICKET_REPRINT_REQUESTED.name:  # only the kiosk concerned hears it
            self._wake.set()
        elif event.kind == events.DEVICE_STATUS.name:
            log.debug("server has our status: %s", event.data.get("status"))

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        language = (snapshot.state.get("branch") or {}).get("language")
        if language in LANGUAGES:
            self.branch_language = language
            self.journal.language = language
        self._wake.set()

    # --- printer health --------------------------------------------------------------------

    async def _status_loop(self) -> None:
        while True:
            async with self._device:
                before, self.checked = self.checked, await asyncio.to_thread(self._check)
            self._status_checked.set()
            if printable(self.checked) and (before is None or not printable(before)):
                self._wake.set()  # back (or up): retry at once rather than after the backoff
            await self._report_if_changed()
            await asyncio.sleep(STATUS_INTERVAL_S)  # a period, not a wait for something

    def _check(self) -> PrinterStatus:
        try:
            return self.printer.status()
        except Exception as e:  # a driver's surprise must not stop the health reports
            log.exception("printer status check failed")
            return PrinterStatus(online=False, paper="unknown", message=_cut(f"status check failed: {e}"))

    def effective_status(self) -> PrinterStatus:
        checked = self.checked or PrinterStatus(online=False, paper="unknown")
        if self.print_error is None and self.dropped is not None and printable(checked):
            return checked.model_copy(update={"message": _cut(f"not printed (too late): {self.dropped}")})
        if self.print_error is None:
            return checked
        return PrinterStatus(online=False, paper=checked.paper, message=_cut(f"print failed: {self.print_error}"))

    async def _report_if_changed(self) -> None:
        async with self._reporting:
            status = self.effective_status()
            due = time.monotonic() - self._reported_at >= HEARTBEAT_S
            if status == self.reported and not due:
                return
            try:
                await self.api.report(status, last_printed=self.journal.last_printed)
            except ServerUnavailable as e:
                if not self._report_failing:  # once per outage; the print loop says the rest
                    log.warning("could not report printer status: %s", e)
                self._report_failing = True
                return
            self._report_failing = False
            if status != self.reported:
                log.log(logging.INFO if printable(status) else logging.WARNING, "printer status: %s",
                        status.model_dump(exclude_none=True))
            self.reported, self._reported_at = status, time.monotonic()


def _journal_done(journal: Journal, ticket: TicketToPrint) -> None:
    """Journal a ticket (or a reprint job) as printed or dropped: it is never printed again."""
    if ticket.job:
        journal.record(last_job=ticket.job)
    else:
        journal.record(ticket.id)


@functools.cache
def _branch_zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown branch time zone %r: printing times in the --timezone zone", name)
        return None


def _zone(name: str | None, fallback: tzinfo) -> tzinfo:
    """The branch's zone, as the print job names it, else ``fallback``."""
    return (_branch_zone(name) if name else None) or fallback


def _aware(moment: datetime) -> datetime:
    """The server sends UTC; a time without an offset is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cut(text: str) -> str:
    return text if len(text) <= 200 else text[:199] + "…"


# --- the command ------------------------------------------------------------------------------


TOKEN_FILE = "token"


def enroll(server: str, code: str, state_dir: Path) -> str:
    """Trade a one-time enrollment code for this kiosk's token, kept in ``state_dir`` (mode 600)."""
    request = urllib.request.Request(
        server.rstrip("/") + "/api/v1/devices/enroll", data=json.dumps({"code": code}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            answer = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            reason = json.load(e)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            reason = e.reason
        raise Fatal(f"the server refused the enrollment code: {reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise Fatal(f"cannot reach {server} to enroll: {e}") from None
    if answer["device"]["kind"] != "kiosk":
        raise Fatal(f"that code enrolls a {answer['device']['kind']}, not a kiosk")
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / TOKEN_FILE
    path.write_text(answer["token"] + "\n", encoding="ascii")
    path.chmod(0o600)
    log.info("enrolled as kiosk %r of branch %s; token kept in %s",
             answer["device"]["name"], answer["device"]["branch"], path)
    return answer["token"]


def _stored_token(state_dir: Path) -> str | None:
    path = state_dir / TOKEN_FILE
    if not path.exists():
        return None
    return path.read_text(encoding="ascii").strip() or None


def options_from(args: Any) -> Options:
    state_dir = Path(args.state_dir)
    code = getattr(args, "enroll", None)
    token = (
        args.token or os.environ.get(TOKEN_ENV)
        or (enroll(args.server, code, state_dir) if code else _stored_token(state_dir))
    )
    if not token:
        raise Fatal(f"give the kiosk's device token (--token or {TOKEN_ENV}), or enroll with --enroll CODE")
    try:
        zone: tzinfo = ZoneInfo(args.timezone) if args.timezone else _local_zone()
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Fatal(f"unknown time zone {args.timezone!r}") from None
    if args.paper not in PAPER_DOTS:
        raise Fatal(f"paper must be one of {sorted(PAPER_DOTS)} mm")
    return Options(
        server=args.server, token=token, state_dir=Path(args.state_dir), branch=args.branch,
        language=args.lang, paper_mm=args.paper, timezone=zone, public_url=args.public_url,
        footer=args.footer, print_within_s=getattr(args, "print_within", PRINT_WITHIN_S),
    )


def _local_zone() -> tzinfo:
    """The kiosk PC's zone: it stands in the branch."""
    return datetime.now().astimezone().tzinfo or UTC


def make_printer(spec: str, mode: Mode) -> KioskPrinter:
    font: FontChoice | None = None
    if mode == "raster" or spec.startswith("preview:"):
        font = find_cjk_font()
        if font is None:
            raise Fatal("raster tickets need a CJK font: install fonts-noto-cjk (or fonts-wqy-microhei), "
                        "set BRANCHQ_TICKET_FONT=/path/to/font.ttc, or use --mode gbk|gb18030")
        try:
            font.face("zh-CN", 24)
        except OSError as e:
            raise Fatal(f"cannot load the ticket font {font.path}: {e}") from None
    try:
        printer = open_printer(spec, mode=mode, font=font)
    except BadSpec as e:
        raise Fatal(str(e)) from None
    if isinstance(printer, PreviewPrinter):
        printer.directory.mkdir(parents=True, exist_ok=True)
    return printer


class _QuietDriver(logging.Filter):
    """python-escpos logs every connection on the root logger; the agent checks every few seconds."""

    def filter(self, record: logging.LogRecord) -> bool:
        driver = record.name == "root" and f"{os.sep}escpos{os.sep}" in record.pathname
        return not driver or record.levelno >= logging.WARNING


async def serve(options: Options, printer: KioskPrinter) -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietDriver())
    options.state_dir.mkdir(parents=True, exist_ok=True)
    with state_lock(options.state_dir):
        journal = Journal(options.state_dir)
        api = KioskAPI(options.server, options.token)
        try:
            agent = PrintAgent(options, printer, journal, api)
            log.info("kiosk agent: printer %s, %s mm, state %s, last printed id %s",
                     printer.describe(), options.paper_mm, options.state_dir,
                     journal.last_printed if journal.existed else "— (first start)")
            await agent.run()
        finally:
            await api.close()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``branchq kiosk-agent`` and ``branchq-kiosk-agent``."""
    p.add_argument("--server", required=True, help="server URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--token", help=f"the kiosk's device token (or env {TOKEN_ENV})")
    p.add_argument("--enroll", metavar="CODE",
                   help="first start: trade a manager's one-time code for the token, kept in --state-dir")
    p.add_argument("--printer", required=True,
                   help="usb:VID:PID, net:HOST[:PORT], serial:DEVICE, file:PATH, dummy or preview:DIR")
    p.add_argument("--state-dir", default="var/kiosk-agent", help="journal of printed tickets (default %(default)s)")
    p.add_argument("--mode", choices=["raster", "gbk", "gb18030"], default="raster",
                   help="Chinese as an image (any printer), or the printer's GBK/GB18030 mode (default %(default)s)")
    p.add_argument("--paper", type=int, choices=[58, 80], default=80, help="paper width in mm (default %(default)s)")
    p.add_argument("--lang", choices=["zh-CN", "en", "zh-TW"],
                   help="language of tickets that do not say their customer's (default: the branch's)")
    p.add_argument("--branch", help="branch id (default: learned from the kiosk's tickets)")
    p.add_argument("--timezone", help="issue time zone if the server gives no branch zone (default: this PC's)")
    p.add_argument("--print-within", type=float, default=PRINT_WITHIN_S, metavar="SECONDS",
                   help="drop a ticket not printed this long after its issue (default %(default)s)")
    p.add_argument("--public-url", help="base URL of the phone page in the QR code (default: --server)")
    p.add_argument("--footer", help="last line of every ticket (default: a polite reminder)")


def main(argv: list[str] | None = None, *, prog: str = "branchq-kiosk-agent") -> None:
    """``branchq-kiosk-agent``: the agent alone, importing nothing of the server's own libraries."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog=prog, description="print the tickets issued at a kiosk on its ESC/POS printer")
    add_arguments(p)
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run(args)


def run(args: Any) -> None:
    """``branchq kiosk-agent``: runs until SIGTERM / Ctrl-C; exits 2 on a fatal set-up error."""
    try:
        options = options_from(args)
        printer = make_printer(args.printer, args.mode)
        asyncio.run(_until_signalled(serve(options, printer)))
    except Fatal as e:
        print(f"branchq kiosk-agent: {e}", file=sys.stderr)
        sys.exit(2)


async def _until_signalled(work) -> None:
    """Run ``work``; SIGTERM cancels it cleanly (a print in progress finishes and is journaled)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' loop
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
