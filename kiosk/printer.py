"""The kiosk's printer, opened from a one-line spec, and its health.

Specs (``--printer``)::

    usb:VID:PID[:IN_EP:OUT_EP]   python-escpos Usb (ids in hex: usb:04b8:0202); needs pyusb
    net:HOST[:PORT]              a network printer, raw TCP (9100 unless given)
    serial:DEVICE[:BAUD]         python-escpos Serial (9600 baud unless given); needs pyserial
    file:PATH                    appends each job to PATH (a file, or /dev/usb/lp0)
    dummy                        keeps the jobs in memory (tests, dry runs)
    preview:DIR                  writes one PNG per ticket into DIR, no ESC/POS at all

Every ticket is rendered to its complete ESC/POS job first and then sent in one
write on a fresh connection, so nothing slow happens between "the printer has
it" and the agent's journal entry, and a half-rendered ticket never reaches
paper. All device I/O here blocks, with short timeouts; the agent runs it in a
worker thread, one operation at a time.
"""

from __future__ import annotations

import contextlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from escpos.escpos import Escpos

from server.protocol import PrinterStatus

from .layout import FontChoice, Layout, Mode, preview_png, render_job

STATUS_TIMEOUT_S = 2.0
"""Connecting to a printer and waiting for its answer to a status request."""
PRINT_TIMEOUT_S = 10.0
"""Sending one ticket (a raster ticket is about 50 kB)."""
NET_PORT = 9100

OK = PrinterStatus(online=True, paper="ok")


class BadSpec(ValueError):
    """A ``--printer`` spec that names no known kind of printer."""


class PrintFailed(Exception):
    """The ticket did not reach the printer (or the printer refused it)."""


def printable(status: PrinterStatus) -> bool:
    """Worth sending a ticket: online, and not known to be out of paper."""
    return status.online and status.paper != "out"


class KioskPrinter(ABC):
    """A printer the agent prints whole tickets on. Methods block; keep them short."""

    spec: str

    @abstractmethod
    def print_ticket(self, layout: Layout, *, name: str) -> None:
        """Print one ticket; ``name`` identifies it in files and logs.

        Raises:
            PrintFailed: with the reason; the ticket may be retried.
        """

    def status(self) -> PrinterStatus:
        """Online and paper, asked of the printer when it can say (short timeouts)."""
        return OK

    def describe(self) -> str:
        return self.spec


# --- printers that speak ESC/POS ------------------------------------------------------------


class AppendFile(Escpos):
    """A file or character device that jobs are appended to (python-escpos ``File`` truncates)."""

    _device: Any  # the open file, or False when closed (python-escpos's ``device`` property sets it)

    def __init__(self, path: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = path

    def open(self) -> None:
        self.device = open(self.path, "ab")  # noqa: SIM115 (closed in close())

    def _raw(self, msg: bytes) -> None:
        self.device.write(msg)

    def close(self) -> None:
        if not self._device:
            return
        try:
            self._device.flush()
            with contextlib.suppress(OSError):  # a printer device may not support fsync
                os.fsync(self._device.fileno())
        finally:
            self._device.close()
            self._device = False


@dataclass
class EscposPrinter(KioskPrinter):
    """A real (or file) ESC/POS printer: ``connect(timeout)`` returns a new, unopened printer object."""

    spec: str
    connect: Callable[[float], Escpos]
    mode: Mode = "gb18030"
    font: FontChoice | None = None
    answers_status: bool = True
    """The link is two-way (network, USB, serial): ask it with ``DLE EOT``."""

    def print_ticket(self, layout: Layout, *, name: str) -> None:
        job = render_job(layout, mode=self.mode, font=self.font)
        device = self.connect(PRINT_TIMEOUT_S)
        try:
            device.open()
            device._raw(job)
        except Exception as e:  # each driver has its own errors: OSError, USBError, SerialException…
            raise PrintFailed(f"{self.spec}: {_reason(e)}") from e
        finally:
            _close_quietly(device)

    def status(self) -> PrinterStatus:
        if not self.answers_status:
            return OK
        device = self.connect(STATUS_TIMEOUT_S)
        try:
            device.open()
        except Exception as e:  # noqa: BLE001 (as above)
            _close_quietly(device)
            return PrinterStatus(online=False, paper="unknown", message=_short(f"cannot connect: {_reason(e)}"))
        try:
            return _ask(device)
        finally:
            _close_quietly(device)


def _ask(device: Escpos) -> PrinterStatus:
    """``is_online()`` (DLE EOT 1) and ``paper_status()`` (DLE EOT 4) of an open printer."""
    try:
        online = device.is_online()
    except (TimeoutError, NotImplementedError):  # socket.timeout is TimeoutError
        # Connected, but the printer does not answer real-time status requests.
        return PrinterStatus(online=True, paper="unknown", message="no answer to status requests")
    except Exception as e:  # noqa: BLE001 (a driver's own error: a status, not a crash)
        return PrinterStatus(online=False, paper="unknown", message=_short(f"status failed: {_reason(e)}"))
    if not online:
        return PrinterStatus(online=False, paper="unknown", message="printer reports offline (cover open?)")
    try:
        paper = device.paper_status()
    except Exception as e:  # noqa: BLE001 (likewise)
        return PrinterStatus(online=True, paper="unknown", message=_short(f"no paper status: {_reason(e)}"))
    if paper == 0:
        return PrinterStatus(online=True, paper="out", message="out of paper")
    if paper == 1:
        return PrinterStatus(online=True, paper="near_end", message="paper nearly out")
    return OK


def _close_quietly(device: Escpos) -> None:
    with contextlib.suppress(Exception):
        device.close()
    # The object would close again when collected; once is enough.
    device._device = False


def _reason(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:199] + "…"


# --- printers without ESC/POS ------------------------------------------------------------------


@dataclass
class DummyPrinter(KioskPrinter):
    """Keeps each job in memory."""

    spec: str = "dummy"
    mode: Mode = "gb18030"
    font: FontChoice | None = None
    jobs: list[tuple[str, bytes]] = field(default_factory=list)

    def print_ticket(self, layout: Layout, *, name: str) -> None:
        self.jobs.append((name, render_job(layout, mode=self.mode, font=self.font)))


@dataclass
class PreviewPrinter(KioskPrinter):
    """Writes ``DIR/<name>.png`` for each ticket: what a raster ticket would look like."""

    spec: str
    directory: Path
    font: FontChoice | None = None

    def print_ticket(self, layout: Layout, *, name: str) -> None:
        try:
            preview_png(layout, self.directory / f"{name}.png", font=self.font)
        except OSError as e:
            raise PrintFailed(f"{self.spec}: {_reason(e)}") from e


# --- specs ----------------------------------------------------------------------------------


def open_printer(spec: str, *, mode: Mode = "gb18030", font: FontChoice | None = None) -> KioskPrinter:
    """The printer a spec names (nothing is opened yet: a printer may be off when the agent starts).

    Raises:
        BadSpec: the spec is not one of the forms in this module's docstring.
    """
    kind, _, rest = spec.partition(":")
    if kind == "dummy" and not rest:
        return DummyPrinter(spec, mode=mode, font=font)
    if kind == "preview" and rest:
        return PreviewPrinter(spec, Path(rest), font=font)
    if kind == "file" and rest:
        return EscposPrinter(spec, lambda _timeout: AppendFile(rest), mode, font, answers_status=False)
    if kind == "net" and rest:
        host, port = _host_port(spec, rest)
        return EscposPrinter(spec, lambda timeout: _network(host, port, timeout), mode, font)
    if kind == "usb" and rest:
        _require("usb", "pyusb")
        return EscposPrinter(spec, _usb(spec, rest), mode, font)
    if kind == "serial" and rest:
        _require("serial", "pyserial")
        return EscposPrinter(spec, _serial(rest), mode, font)
    raise BadSpec(
        f"unknown printer {spec!r}: use usb:VID:PID, net:HOST[:PORT], serial:DEVICE, file:PATH, dummy or preview:DIR"
    )


def _require(kind: str, package: str) -> None:
    from escpos import printer

    driver = {"usb": printer.Usb, "serial": printer.Serial}[kind]
    if not driver.is_usable():
        raise BadSpec(f"{kind} printers need {package}: pip install 'python-escpos[{kind}]'")


def _host_port(spec: str, rest: str) -> tuple[str, int]:
    # python-escpos opens an IPv4 socket: a host name or an IPv4 address.
    match = re.fullmatch(r"(?P<host>[^:\[\]]+)(?::(?P<port>\d+))?", rest)
    if not match:
        raise BadSpec(f"{spec!r}: expected net:HOST[:PORT]")
    host, port = match["host"], int(match["port"] or NET_PORT)
    if not 0 < port < 65536:
        raise BadSpec(f"{spec!r}: port out of range")
    return host, port


def _network(host: str, port: int, timeout: float) -> Escpos:
    from escpos.printer import Network

    return Network(host, port=port, timeout=timeout)


def _usb(spec: str, rest: str):
    try:
        ids = [int(part, 16) for part in rest.split(":")]
    except ValueError:
        raise BadSpec(f"{spec!r}: expected usb:VID:PID[:IN_EP:OUT_EP] in hexadecimal") from None
    if len(ids) not in (2, 4):
        raise BadSpec(f"{spec!r}: expected usb:VID:PID[:IN_EP:OUT_EP] in hexadecimal")

    def connect(timeout: float) -> Escpos:
        from escpos.printer import Usb

        endpoints = {"in_ep": ids[2], "out_ep": ids[3]} if len(ids) == 4 else {}
        # pyusb counts its timeout in milliseconds.
        return Usb(ids[0], ids[1], timeout=int(timeout * 1000), **endpoints)

    return connect


def _serial(rest: str):
    device, baud = rest, 9600
    head, _, tail = rest.rpartition(":")
    if head and tail.isdigit():
        device, baud = head, int(tail)

    def connect(timeout: float) -> Escpos:
        from escpos.printer import Serial

        return Serial(devfile=device, baudrate=baud, timeout=timeout)

    return connect
