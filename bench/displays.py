"""Call-to-display latency with thousands of connected displays.

    .venv/bin/python -m bench.displays

What it measures, per display count N (env ``BENCH_DISPLAYS``, default ``1000,5000``):

* ``branchq``: one ``branchq serve --demo`` process on a fresh SQLite file; N displays
  connected to ``/ws`` with the demo display token; a driver (teller3, signed in over
  HTTP, counter 3 open, tickets for service A issued beforehand by the demo kiosk) makes
  ``BENCH_CALLS`` (default 200) ``call-next`` requests ``BENCH_INTERVAL_MS`` (default 50)
  apart (closed loop: a call is sent on its slot, or as soon as the previous one has
  answered, so ``calls/s`` shows what was actually offered). For each call: latency = when
  the *last* display received that ticket's ``ticket.called`` − when the HTTP request was
  sent. Also p50/p99 over every
  (display, call) pair, the call-next HTTP latency and events delivered per second.
* ``bare loop``: the baseline, a bare aiohttp server (below, run as a subprocess) that
  accepts the same N websockets and, on ``POST /fire``, sends one message of the size of
  the ``ticket.called`` event just seen to every socket in a plain loop
  (``for ws in sockets: await ws.send_str(msg)``), measured the same way.
* ``bare loop x2``: the same, but two messages per socket (a ``ticket.finished``- and a
  ``ticket.called``-sized one), as branchq's call-next emits both events; it separates
  the cost of the hub from the cost of the second event. ``BENCH_BARE2=0`` skips it.
* with ``BENCH_TWO_PROCESSES=1``: the same on a fresh PostgreSQL database, once with one
  branchq process, and once with two (displays on process B, calls made on process A, so
  every event goes A → commit → NOTIFY → B reads it → B's sockets).

Displays are held by separate client processes (``BENCH_CLIENT_PROCS``, default: one per
spare CPU, at most one per 1,000 displays) speaking the websocket protocol on a raw
asyncio Protocol: no per-message tasks or futures, so that the client side adds as
little as possible to what is measured. They answer pings, record every close code and
reason (a slow client is closed with 1013 by the server), and report receive timestamps.

Timing: every timestamp is ``time.monotonic_ns()``, i.e. ``CLOCK_MONOTONIC``, which on
Linux is one system-wide clock shared by all processes; so a send time taken in this
process and a receive time taken in a client process are directly comparable. A receive
time is taken when the client's event loop hands it the bytes (top of
``data_received``), so it includes the client's own scheduling delay: an upper bound on
the true delivery time, the same for branchq and the baseline.

Nothing is asserted; the targets are printed beside the figures. Results go to
``var/bench/displays.json``. Everything runs on 127.0.0.1, every phase has a timeout,
and every process started here is stopped (SIGTERM, then SIGKILL) in ``finally``.

The bench servers get ``BRANCHQ_ISSUE_RATE_LIMIT`` raised: the demo kiosk pre-issues the
tickets, and its rate limit is not what is measured. The table also shows each server's
and client's CPU share and the 1-minute load average: on a machine busy with other work
the figures mean little.

Other knobs: ``BENCH_ONLY`` (some of ``branchq,bare,bare2,pg1,pg2``),
``BENCH_CONNECT_BATCH`` (100 connections at a time), ``BENCH_DRAIN_S`` (60 s to wait for
the last events), ``BENCH_PG_URL`` (``postgresql://postgres@127.0.0.1:5432``; databases
``branchq_bench_disp_*`` are created and dropped), ``BENCH_KEEP_LOGS=1`` (keep the temp
directory with the server and client logs), ``BENCH_PROFILE=1`` (run each branchq server
under pyinstrument; reports go to ``var/bench/displays-profile-*.txt``; the latencies of such
a run are not comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
OUT_DIR = ROOT / "var" / "bench"

#: The one clock of this benchmark (see "Timing" above).
now_ns = time.monotonic_ns

WARMUP_CALLS = 3
PHASE_TIMEOUT_S = 600.0

TARGET_P99_MS_1000 = 100.0
TARGET_RATIO_BARE_5000 = 1.25
TARGET_RATIO_TWO_PROCESSES = 1.5

DISPLAY_HELLO = {"type": "hello", "role": "display", "branch": "demo", "token": "demo-display"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def raise_nofile(needed: int) -> int:
    """Raise this process's open-file limit (children inherit it); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        with contextlib.suppress(ValueError, OSError):  # only root may raise the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return needed
    target = needed if hard == resource.RLIM_INFINITY else min(max(needed, soft), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# =========================================================================================
# Display clients (child process: ``python -m bench.displays --client``)
# =========================================================================================


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (RFC 6455 §5.2)."""
    key = os.urandom(4)
    n = len(payload)
    masked = (
        int.from_bytes(payload, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")
    ).to_bytes(n, "big")
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + key + masked


CALLED = b'"kind":"ticket.called"'
FINISHED = b'"kind":"ticket.finished"'


class Displays:
    """All display connections of one client process, and what they received."""

    def __init__(self) -> None:
        self.conns: list[DisplayProtocol] = []
        self.reset()
        self.samples: dict[str, str] = {}
        self.closes: Counter[str] = Counter()  # "1013 too slow…" → count, after ready
        self.refusals: Counter[str] = Counter()  # failures while connecting
        self.protocol_errors: Counter[str] = Counter()

    def reset(self) -> None:
        self.times: dict[str, list[int]] = defaultdict(list)
        self.events = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.cpu_s = time.process_time()

    def on_event(self, payload: bytes, t: int) -> None:
        self.events += 1
        if self.first_ns is None:
            self.first_ns = t
        self.last_ns = t
        if CALLED in payload:
            self.times[orjson.loads(payload)["data"]["number"]].append(t)
            if "called" not in self.samples:
                self.samples["called"] = payload.decode()
        elif FINISHED in payload and "finished" not in self.samples:
            self.samples["finished"] = payload.decode()

    def alive(self) -> int:
        return sum(1 for c in self.conns if c.ready and not c.closed)


class DisplayProtocol(asyncio.Protocol):
    """A display over a raw socket: handshake, hello, welcome, snapshot, then events."""

    def __init__(self, owner: Displays, request: bytes, hello: bytes) -> None:
        self.owner, self.request, self.hello = owner, request, hello
        self.buf = b""
        self.upgraded = False
        self.stage = 0  # 0 waiting for welcome, 1 for snapshot, 2 ready
        self.ready = False
        self.closed = False
        self.close_info: str | None = None
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def _fail(self, why: str) -> None:
        if not self.done.done():
            self.done.set_result(why)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        t = now_ns()
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            head, buf = buf[:end], buf[end + 4 :]
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail("handshake: " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            self.upgraded = True
            self.transport.write(self.hello)
        pos, n = 0, len(buf)
        while n - pos >= 2:
            if buf.startswith(b"HTTP/", pos):  # not a frame: the server wrote an HTTP response
                status = buf[pos:].split(b"\r\n", 1)[0].decode(errors="replace")
                self._lost(f"HTTP response written into the websocket stream after the upgrade: {status}")
                self.transport.close()
                self.buf = b""
                return
            b0, b1 = buf[pos], buf[pos + 1] & 0x7F
            if b1 == 126:
                if n - pos < 4:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif b1 == 127:
                if n - pos < 10:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            else:
                length, header = b1, 2
            if n - pos < header + length:
                break
            payload = buf[pos + header : pos + header + length]
            pos += header + length
            if not b0 & 0x80:
                self.owner.protocol_errors["fragmented frame"] += 1
            self._frame(b0 & 0x0F, payload, t)
        self.buf = buf[pos:] if pos < n else b""

    def _frame(self, opcode: int, payload: bytes, t: int) -> None:
        if opcode == 1:
            if self.stage == 2:
                self.owner.on_event(payload, t)
            elif self.stage == 0:
                if b'"welcome"' not in payload:
                    self._fail("expected welcome, got " + payload[:80].decode(errors="replace"))
                    return
                self.stage = 1
            else:
                if b'"snapshot"' not in payload:
                    self._fail("expected snapshot, got " + payload[:80].decode(errors="replace"))
                    return
                self.stage = 2
                self.ready = True
                if not self.done.done():
                    self.done.set_result(None)
        elif opcode == 9:
            self.transport.write(ws_frame(10, payload))
        elif opcode == 8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.close_info = f"{code} {payload[2:].decode(errors='replace')}".strip()
            if not self.closed:
                self.transport.write(ws_frame(8, payload[:2]))
            self._lost(self.close_info)
            self.transport.close()
        elif opcode not in (2, 10):
            self.owner.protocol_errors[f"opcode {opcode}"] += 1

    def _lost(self, why: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self.ready:
            self.owner.closes[why] += 1
        self._fail(why)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(self.close_info or f"connection lost without close frame ({exc or 'EOF'})")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.transport.write(ws_frame(8, (1000).to_bytes(2, "big")))
            self.transport.close()


async def connect_displays(owner: Displays, host: str, port: int, count: int, batch: int,
                           hello: dict) -> dict:
    loop = asyncio.get_running_loop()
    hello_frame = ws_frame(1, orjson.dumps(hello))

    async def one() -> str | None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: DisplayProtocol(owner, request, hello_frame), host, port),
                10,
            )
        except (OSError, TimeoutError) as e:
            return f"connect: {type(e).__name__} {e}"
        owner.conns.append(proto)
        try:
            return await asyncio.wait_for(asyncio.shield(proto.done), 30)
        except TimeoutError:
            proto.close()
            return "no snapshot within 30 s"

    started = now_ns()
    for first in range(0, count, batch):
        for outcome in await asyncio.gather(*(one() for _ in range(min(batch, count - first)))):
            if outcome is not None:
                owner.refusals[outcome] += 1
    return {
        "ready": owner.alive(),
        "seconds": (now_ns() - started) / 1e9,
        "refusals": dict(owner.refusals),
    }


async def collect(owner: Displays, keys: list[str], timeout_s: float) -> dict:
    """Wait until every live display has every key (or the timeout), then hand over and reset."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = owner.alive()
        if all(len(owner.times.get(k, ())) >= alive for k in keys):
            break
        await asyncio.sleep(0.02)
    out = {
        "times": {k: owner.times.get(k, []) for k in keys},
        "events": owner.events,
        "first_ns": owner.first_ns,
        "last_ns": owner.last_ns,
        "cpu_s": time.process_time() - owner.cpu_s,
        "alive": owner.alive(),
        "closes": dict(owner.closes),
        "protocol_errors": dict(owner.protocol_errors),
        "samples": owner.samples,
    }
    owner.reset()
    return out


async def client_main() -> None:
    """Commands as JSON lines on stdin, one JSON line answer each on stdout."""
    raise_nofile(65536)
    loop = asyncio.get_running_loop()
    owner = Displays()
    out = sys.stdout.buffer
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.buffer.readline)
            if not line:
                break
            cmd = orjson.loads(line)
            op = cmd["cmd"]
            if op == "connect":
                answer = await connect_displays(
                    owner, cmd["host"], cmd["port"], cmd["count"], cmd["batch"], cmd["hello"]
                )
            elif op == "reset":
                owner.reset()
                answer = {"alive": owner.alive()}
            elif op == "collect":
                answer = await collect(owner, cmd["keys"], cmd["timeout"])
            elif op == "close":
                for conn in owner.conns:
                    conn.close()
                await asyncio.sleep(0.2)
                answer = {"closed": len(owner.conns)}
                out.write(orjson.dumps(answer) + b"\n")
                out.flush()
                break
            else:
                answer = {"error": f"unknown command {op}"}
            out.write(orjson.dumps(answer) + b"\n")
            out.flush()
    finally:
        for conn in owner.conns:
            conn.close()


# =========================================================================================
# The baseline server (child process: ``python -m bench.displays --bare-server PORT``)
# =========================================================================================


def bare_main(port: int) -> None:
    from aiohttp import WSMsgType, web

    raise_nofile(65536)
    sockets: set[web.WebSocketResponse] = set()

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        # The same socket settings as branchq's /ws.
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=64 * 1024, compress=False)
        await ws.prepare(request)
        msg = await ws.receive(timeout=10)
        if msg.type != WSMsgType.TEXT:
            await ws.close()
            return ws
        await ws.send_str('{"type":"welcome","role":"display","branch":"demo"}')
        await ws.send_str('{"type":"snapshot","seq":0,"state":{}}')
        sockets.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    async def fire(request: web.Request) -> web.Response:
        messages = (await request.json())["messages"]
        if len(messages) == 1:
            msg = messages[0]
            for ws in list(sockets):
                await ws.send_str(msg)
        else:
            for ws in list(sockets):
                for msg in messages:
                    await ws.send_str(msg)
        return web.json_response({"sent": len(sockets)})

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "sockets": len(sockets)})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/ws", ws_handler)
    app.router.add_post("/fire", fire)
    app.router.add_get("/api/v1/health", health)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, shutdown_timeout=5)


# =========================================================================================
# The orchestrator
# =========================================================================================


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child if the benchmark itself dies (Linux), so none outlive it."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def open_log(path: Path):
    """A log file for a child's stdout/stderr (the child keeps its own descriptor)."""
    return open(path, "ab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server subprocess with its log in a file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str], port: int) -> None:
        self.name, self.argv, self.cwd, self.env, self.port = name, argv, cwd, env, port
        self.log_path = cwd / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float = 90.0) -> None:
        import aiohttp

        with open_log(self.log_path) as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=self.cwd, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log, preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"http://127.0.0.1:{self.port}/api/v1/health") as r:
                        if r.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not healthy within {timeout_s:.0f} s: {self.tail()}")
                await asyncio.sleep(0.2)

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def problems(self) -> list[str]:
        """Log lines that look like trouble (ERROR, WARNING, tracebacks)."""
        with contextlib.suppress(OSError):
            return [
                line for line in self.log_path.read_text(errors="replace").splitlines()
                if " ERROR " in line or " WARNING " in line or line.startswith("Traceback")
                or "Error:" in line
            ]
        return []

    async def stop(self) -> int | None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return proc.returncode if proc else None
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            return await proc.wait()


class Client:
    """One display-holding child process."""

    def __init__(self, index: int, log_path: Path) -> None:
        self.index, self.log_path = index, log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open_log(self.log_path) as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.displays", "--client", cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                limit=1 << 30, preexec_fn=die_with_parent,
            )

    async def ask(self, cmd: dict, timeout_s: float = PHASE_TIMEOUT_S) -> dict:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(orjson.dumps(cmd) + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout_s)
        if not line:
            raise RuntimeError(f"display client {self.index} died: {self.log_path.read_text()[-2000:]}")
        return orjson.loads(line)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(Exception):
            await self.ask({"cmd": "close"}, 10)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def loadavg() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure here."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return float(Path("/proc/loadavg").read_text().split()[0])
    return None


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def client_count(displays: int) -> int:
    configured = env_int("BENCH_CLIENT_PROCS", 0)
    if configured > 0:
        return configured
    spare = max(1, (os.cpu_count() or 2) - 1)
    return max(1, min(spare, math.ceil(displays / 1000)))


async def hold_displays(workdir: Path, tag: str, port: int, displays: int,
                        clients: list[Client]) -> dict:
    """Start client processes (into ``clients``, for the caller to stop) and connect in batches."""
    n = client_count(displays)
    shares = [displays // n + (1 if i < displays % n else 0) for i in range(n)]
    for i in range(n):
        clients.append(Client(i, workdir / f"{tag}-client{i}.log"))
        await clients[-1].start()
    batch = max(1, env_int("BENCH_CONNECT_BATCH", 100) // n)
    answers = await asyncio.gather(*(
        c.ask({"cmd": "connect", "host": "127.0.0.1", "port": port, "count": share,
               "batch": batch, "hello": DISPLAY_HELLO})
        for c, share in zip(clients, shares, strict=False)
    ))
    refusals: Counter[str] = Counter()
    for a in answers:
        refusals.update(a["refusals"])
    return {
        "client_processes": n,
        "ready": sum(a["ready"] for a in answers),
        "connect_s": round(max(a["seconds"] for a in answers), 2),
        "refusals": dict(refusals),
    }


async def measure(clients: list[Client], call, calls: int, interval_s: float,
                  servers: list[Server]) -> dict:
    """``call()`` makes one call and returns its key (the ticket number displays will see).

    Calls are closed-loop: each waits for the previous answer, and is sent on its slot
    (``interval_s`` apart) or right after the previous answer if that came late; so a
    server slowed down by its own fan-out also receives fewer calls (see ``calls_per_s``).
    """
    drain_s = float(env_int("BENCH_DRAIN_S", 60))
    warm = []
    for _ in range(WARMUP_CALLS):
        warm.append(await call())
        await asyncio.sleep(interval_s)
    await asyncio.gather(*(c.ask({"cmd": "collect", "keys": warm, "timeout": 30}) for c in clients))

    sent: dict[str, int] = {}
    http_ms: list[float] = []
    cpu_before = [process_cpu_s(s.proc.pid) for s in servers]
    load_before = loadavg()
    started = now_ns()
    for i in range(calls):
        delay = (started + int(i * interval_s * 1e9) - now_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        t = now_ns()
        key = await call()
        http_ms.append((now_ns() - t) / 1e6)
        if key in sent:
            raise RuntimeError(f"call {i} returned {key!r} twice")
        sent[key] = t
    calls_done_ns = now_ns()
    keys = list(sent)
    answers = await asyncio.gather(*(
        c.ask({"cmd": "collect", "keys": keys, "timeout": drain_s}, drain_s + 120) for c in clients
    ))

    cpu_after = [process_cpu_s(s.proc.pid) for s in servers]
    alive = sum(a["alive"] for a in answers)
    per_call_ms, pair_ms = [], []
    missing = 0
    for key, t_sent in sent.items():
        times = [t for a in answers for t in a["times"][key]]
        missing += max(0, alive - len(times))
        if times:
            per_call_ms.append((max(times) - t_sent) / 1e6)
            pair_ms.extend((t - t_sent) / 1e6 for t in times)
    per_call_ms.sort()
    pair_ms.sort()
    http_ms.sort()
    events = sum(a["events"] for a in answers)
    last = max((a["last_ns"] for a in answers if a["last_ns"]), default=None)
    window_s = (last - started) / 1e9 if last else None
    closes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for a in answers:
        closes.update(a["closes"])
        errors.update(a["protocol_errors"])
        for k, v in a["samples"].items():
            samples.setdefault(k, v)

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {
        "calls": len(sent),
        "calls_per_s": round(len(sent) / ((calls_done_ns - started) / 1e9), 1),
        "alive_after": alive,
        "last_display_ms": {"p50": r(percentile(per_call_ms, 50)), "p99": r(percentile(per_call_ms, 99)),
                            "max": r(per_call_ms[-1] if per_call_ms else None)},
        "pairs_ms": {"p50": r(percentile(pair_ms, 50)), "p99": r(percentile(pair_ms, 99)),
                     "max": r(pair_ms[-1] if pair_ms else None), "count": len(pair_ms)},
        "http_ms": {"p50": r(percentile(http_ms, 50)), "p99": r(percentile(http_ms, 99)),
                    "max": r(http_ms[-1] if http_ms else None)},
        "events_delivered": events,
        "events_per_s": round(events / window_s) if window_s else None,
        "window_s": round(window_s, 2) if window_s else None,
        "loadavg_1m": [load_before, loadavg()],
        # CPU busy share over the window (1.0 = one core saturated)
        "server_cpu": [round((b - a) / window_s, 2) if a is not None and b is not None and window_s
                       else None for a, b in zip(cpu_before, cpu_after, strict=True)],
        "client_cpu": [round(a["cpu_s"] / window_s, 2) if window_s else None for a in answers],
        "missing_deliveries": missing,
        "closed_by_server": dict(closes),
        "protocol_errors": dict(errors),
        "samples": samples,
    }


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHQ_")}
    # The demo kiosk pre-issues the tickets; its rate limit is not what is measured here.
    env["BRANCHQ_ISSUE_RATE_LIMIT"] = "100000/second"
    env.update(extra or {})
    return env


def branchq_argv(database: str, port: int, workdir: Path, tag: str) -> list[str]:
    serve = ["serve", "--demo", "--database", database, "--port", str(port)]
    if os.environ.get("BENCH_PROFILE") == "1":
        return [str(VENV_BIN / "python"), "-m", "pyinstrument", "-r", "text", "--show-all",
                "-o", str(workdir / f"profile-{tag}.txt"), "-m", "server", *serve]
    return [str(VENV_BIN / "branchq"), *serve]


async def branchq_driver(http, base: str, tickets: int):
    """Sign teller3 in, open counter 3, issue ``tickets`` A tickets; returns ``call()``."""
    async with http.post(f"{base}/api/v1/auth/login",
                         json={"username": "teller3", "password": "demo-pass"}) as r:
        if r.status != 200:
            raise RuntimeError(f"teller3 login: {r.status} {await r.text()}")
    async with http.post(f"{base}/api/v1/branches/demo/counters/3/open") as r:
        if r.status != 200:
            raise RuntimeError(f"open counter 3: {r.status} {await r.text()}")

    async def issue() -> None:
        key = uuid.uuid4().hex  # the same key on a retry: the same ticket
        for _ in range(120):
            async with http.post(
                f"{base}/api/v1/branches/demo/tickets", json={"service": "A", "priority": "normal"},
                headers={"Authorization": "Bearer demo-kiosk", "Idempotency-Key": key},
            ) as r:
                if r.status == 201:
                    return
                if r.status != 429:
                    raise RuntimeError(f"issue: {r.status} {await r.text()}")
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
        raise RuntimeError("issue: still rate-limited after 120 tries")

    for first in range(0, tickets, 10):
        await asyncio.gather(*(issue() for _ in range(min(10, tickets - first))))

    current: dict[str, int | None] = {"id": None}  # sent as expect: calls come faster than just_called allows

    async def call() -> str:
        url = f"{base}/api/v1/branches/demo/counters/3/call-next"
        async with http.post(url, json={"expect": current["id"]}) as r:
            body = await r.json()
            if r.status != 200 or not body.get("ticket"):
                raise RuntimeError(f"call-next: {r.status} {body}")
            current["id"] = body["ticket"]["id"]
            return body["ticket"]["number"]

    return call


async def run_branchq(tag: str, displays: int, calls: int, interval_s: float, workdir: Path,
                      *, database: str, processes: int) -> dict:
    """branchq with ``processes`` (1 or 2) server processes; displays on the last one."""
    import aiohttp

    servers: list[Server] = []
    clients: list[Client] = []
    result: dict[str, Any] = {"scenario": tag, "displays": displays}
    try:
        for i in range(processes):
            port = free_port()
            s = Server(f"{tag}-p{i}", branchq_argv(database, port, workdir, f"{tag}-p{i}"),
                       workdir, server_env(), port)
            servers.append(s)
            await s.start()  # one after the other: the first migrates and seeds
        caller, shown = servers[0], servers[-1]
        async with aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(limit=10),
            timeout=aiohttp.ClientTimeout(total=60),
        ) as http:
            call = await branchq_driver(http, f"http://127.0.0.1:{caller.port}",
                                        calls + WARMUP_CALLS + 2)
            info = await hold_displays(workdir, tag, shown.port, displays, clients)
            result.update(info)
            if info["ready"] < displays:
                print(f"  {tag}: only {info['ready']} of {displays} displays connected: "
                      f"{info['refusals']}", flush=True)
            await asyncio.sleep(1.0)  # let the connection burst settle
            result.update(await measure(clients, call, calls, interval_s, servers))
    except Exception as e:  # noqa: BLE001 — a failed scenario is reported in the table
        result["error"] = f"{type(e).__name__}: {e}"
        print(f"  {tag} failed: {result['error']}", flush=True)
    finally:
        for c in clients:
            await c.stop()
        codes = [await s.stop() for s in reversed(servers)]
        result["server_exit_codes"] = codes[::-1]
        result["server_log_problems"] = [line for s in servers for line in s.problems()][:30]
        if os.environ.get("BENCH_PROFILE") == "1":
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            for s in servers:
                src = workdir / f"profile-{s.name}.txt"
                if src.exists():
                    dst = OUT_DIR / f"displays-profile-{s.name}-{displays}.txt"
                    shutil.copyfile(src, dst)
                    result.setdefault("profiles", []).append(str(dst.relative_to(ROOT)))
    return result


SYNTHETIC_CALLED = (
    '{"type":"event","seq":12,"kind":"ticket.called","at":"2025-01-01T09:00:00.000000+00:00",'
    '"data":{"id":7,"number":"A007","service":"A","priority":"normal","state":"called","counter":3}}'
)


def bare_messages(samples: dict[str, str], index: int, two: bool) -> tuple[str, list[str]]:
    """Messages the size of the events branchq sent; the called one carries a unique key."""
    called = orjson.loads(samples.get("called", SYNTHETIC_CALLED))
    number = str(called["data"]["number"])
    key = "Z" + str(index).zfill(max(1, len(number) - 1))
    called["data"]["number"] = key
    messages = [orjson.dumps(called).decode()]
    if two:
        finished = samples.get("finished", SYNTHETIC_CALLED.replace("ticket.called", "ticket.finished"))
        messages.insert(0, finished)
    return key, messages


async def run_bare(tag: str, displays: int, calls: int, interval_s: float, workdir: Path,
                   samples: dict[str, str], *, two: bool) -> dict:
    import aiohttp

    port = free_port()
    server = Server(tag, [sys.executable, "-m", "bench.displays", "--bare-server", str(port)],
                    workdir, server_env({"PYTHONPATH": str(ROOT)}), port)
    clients: list[Client] = []
    result: dict[str, Any] = {"scenario": tag, "displays": displays,
                              "message_bytes": [len(m.encode()) for m in bare_messages(samples, 0, two)[1]]}
    try:
        await server.start()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            counter = iter(range(1, 1 << 30))

            async def call() -> str:
                key, messages = bare_messages(samples, next(counter), two)
                async with http.post(f"http://127.0.0.1:{port}/fire", json={"messages": messages}) as r:
                    if r.status != 200:
                        raise RuntimeError(f"/fire: {r.status} {await r.text()}")
                return key

            info = await hold_displays(workdir, tag, port, displays, clients)
            result.update(info)
            await asyncio.sleep(1.0)
            result.update(await measure(clients, call, calls, interval_s, [server]))
            result.pop("samples", None)
    except Exception as e:  # noqa: BLE001 — a failed scenario is reported in the table
        result["error"] = f"{type(e).__name__}: {e}"
        print(f"  {tag} failed: {result['error']}", flush=True)
    finally:
        for c in clients:
            await c.stop()
        result["server_exit_codes"] = [await server.stop()]
        result["server_log_problems"] = server.problems()[:30]
    return result


async def create_pg_database(base_url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(f"{base_url}/postgres", timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base_url}/{name}"


async def drop_pg_database(base_url: str, name: str) -> None:
    import asyncpg

    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(f"{base_url}/postgres", timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def fmt(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def print_table(results: list[dict]) -> None:
    head = (f"{'scenario':<15} {'displays':>8} {'calls':>5} {'calls/s':>7} {'last p50':>8} "
            f"{'last p99':>8} {'pair p50':>8} {'pair p99':>8} {'http p50':>8} {'http p99':>8} "
            f"{'events/s':>8} {'srv cpu':>8} {'cli cpu':>7}  notes")
    print("\nms from sending the HTTP call to ticket.called on the last display (last) / on each "
          "display (pair); http = the call's own HTTP latency; cpu = busy share of one core")
    print(head)
    print("-" * len(head))
    for r in results:
        notes = []
        if r.get("error"):
            notes.append("ERROR " + r["error"][:60])
        if r.get("ready") is not None and r["ready"] < r["displays"]:
            top = max(r.get("refusals", {}).items(), key=lambda kv: kv[1], default=None)
            notes.append(f"only {r['ready']} connected" + (f" ({top[1]}x {top[0][:70]!r})" if top else ""))
        if r.get("closed_by_server"):
            notes.append("closed: " + ", ".join(f"{v}x {k[:40]}" for k, v in r["closed_by_server"].items()))
        if r.get("missing_deliveries"):
            notes.append(f"{r['missing_deliveries']} deliveries not in by the end of the drain wait")
        if r.get("connect_s") is not None:
            notes.append(f"connect {r['connect_s']:.1f}s")
        ld, pr, hp = r.get("last_display_ms", {}), r.get("pairs_ms", {}), r.get("http_ms", {})
        cpu = "+".join(fmt(c, 2) for c in r.get("server_cpu", [])) or "—"
        cli = "+".join(fmt(c, 2) for c in r.get("client_cpu", [])) or "—"
        print(f"{r['scenario']:<15} {r['displays']:>8} {r.get('calls', 0):>5} "
              f"{fmt(r.get('calls_per_s')):>7} {fmt(ld.get('p50')):>8} {fmt(ld.get('p99')):>8} "
              f"{fmt(pr.get('p50')):>8} {fmt(pr.get('p99')):>8} {fmt(hp.get('p50')):>8} "
              f"{fmt(hp.get('p99')):>8} {r.get('events_per_s') or '—':>8} {cpu:>8} {cli:>7}  "
              f"{'; '.join(notes)}")


def targets(results: list[dict]) -> list[dict]:
    """The targets beside the figures (p99 of the last display); nothing is asserted."""
    by = {(r["scenario"], r["displays"]): r for r in results}

    def p99(scenario: str, n: int) -> float | None:
        r = by.get((scenario, n))
        return r.get("last_display_ms", {}).get("p99") if r else None

    out = []
    for n in sorted({r["displays"] for r in results}):
        v = p99("branchq", n)
        if n == 1000 and v is not None:
            out.append({"target": "p99 ≤ 100 ms at 1,000 displays", "displays": n,
                        "value": f"{v:.1f} ms", "met": v <= TARGET_P99_MS_1000})
        bare = p99("bare loop", n)
        if v is not None and bare:
            ratio = v / bare
            entry = {"target": f"p99 ≤ {TARGET_RATIO_BARE_5000}× bare loop", "displays": n,
                     "value": f"{v:.1f} / {bare:.1f} ms = {ratio:.2f}×"}
            if n == 5000:
                entry["met"] = ratio <= TARGET_RATIO_BARE_5000
            out.append(entry)
            p50, b50 = by[("branchq", n)]["last_display_ms"]["p50"], by[("bare loop", n)]["last_display_ms"]["p50"]
            if p50 and b50:
                out.append({"target": "(p50 vs bare loop, for information)", "displays": n,
                            "value": f"{p50:.1f} / {b50:.1f} ms = {p50 / b50:.2f}×"})
        two, one = p99("pg 2 processes", n), p99("pg 1 process", n)
        if two is not None and one:
            out.append({"target": f"two processes ≤ {TARGET_RATIO_TWO_PROCESSES}× one (PostgreSQL, p99)",
                        "displays": n, "value": f"{two:.1f} / {one:.1f} ms = {two / one:.2f}×",
                        "met": two / one <= TARGET_RATIO_TWO_PROCESSES})
    return out


async def orchestrate() -> int:
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # stop cleanly: the finally blocks do the rest
        loop.add_signal_handler(sig, main_task.cancel)
    display_counts = [int(x) for x in os.environ.get("BENCH_DISPLAYS", "1000,5000").split(",") if x.strip()]
    calls = env_int("BENCH_CALLS", 200)
    interval_s = env_int("BENCH_INTERVAL_MS", 50) / 1000
    two_processes = os.environ.get("BENCH_TWO_PROCESSES") == "1"
    bare2 = os.environ.get("BENCH_BARE2", "1") != "0"
    wanted = {"branchq", "bare", *(["bare2"] if bare2 else []), *(["pg1", "pg2"] if two_processes else [])}
    only = {x.strip() for x in os.environ.get("BENCH_ONLY", "").split(",") if x.strip()}
    if only:
        wanted &= only
    pg_base = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
    nofile = raise_nofile(max(display_counts) + 1024)
    print(f"displays {display_counts}, {calls} calls {interval_s * 1000:.0f} ms apart "
          f"(+{WARMUP_CALLS} warm-up), {os.cpu_count()} CPUs, open-file limit {nofile}", flush=True)
    if nofile < max(display_counts) + 100:
        print(f"warning: open-file limit {nofile} is too low for {max(display_counts)} displays")

    results: list[dict] = []
    samples: dict[str, str] = {}
    workdir = Path(tempfile.mkdtemp(prefix="branchq-bench-disp-"))
    pg_names: list[str] = []
    try:
        for n in display_counts:
            print(f"\n== {n} displays", flush=True)
            if "branchq" in wanted:
                d = workdir / f"sqlite-{n}"
                d.mkdir()
                r = await run_branchq("branchq", n, calls, interval_s, d,
                                      database=f"sqlite:///{d}/branchq.db", processes=1)
                samples.update(r.pop("samples", None) or {})
                r["event_bytes"] = {k: len(v.encode()) for k, v in samples.items()}
                results.append(r)
                print(f"  branchq done: last p99 {r.get('last_display_ms', {}).get('p99')} ms", flush=True)
            for key, tag, two in (("bare", "bare loop", False), ("bare2", "bare loop x2", True)):
                if key not in wanted:
                    continue
                d = workdir / f"{tag.replace(' ', '-')}-{n}"
                d.mkdir()
                r = await run_bare(tag, n, calls, interval_s, d, samples, two=two)
                results.append(r)
                print(f"  {tag} done: last p99 {r.get('last_display_ms', {}).get('p99')} ms", flush=True)
            for key, tag, procs in (("pg1", "pg 1 process", 1), ("pg2", "pg 2 processes", 2)):
                if key in wanted:
                    name = f"branchq_bench_disp_{os.getpid()}_{n}_{procs}"
                    pg_names.append(name)
                    d = workdir / f"pg{procs}-{n}"
                    d.mkdir()
                    try:
                        url = await create_pg_database(pg_base, name)
                        r = await run_branchq(tag, n, calls, interval_s, d, database=url, processes=procs)
                    except Exception as e:  # noqa: BLE001 — likewise
                        r = {"scenario": tag, "displays": n, "error": f"{type(e).__name__}: {e}"}
                    finally:
                        await drop_pg_database(pg_base, name)
                    r.pop("samples", None)
                    results.append(r)
                    print(f"  {tag} done: last p99 {r.get('last_display_ms', {}).get('p99')} ms", flush=True)
    finally:
        for name in pg_names:
            await drop_pg_database(pg_base, name)
        if os.environ.get("BENCH_KEEP_LOGS") == "1":
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print_table(results)
    busy = [f"{r['scenario']} ({r['displays']})" for r in results
            if max((x or 0) for x in r.get("loadavg_1m", [0])) > (os.cpu_count() or 1) * 0.75]
    if busy:
        print(f"note: the machine was busy with other work (1-min load > 0.75 x CPUs) during: "
              f"{', '.join(busy)}")
    checks = targets(results)
    print("\ntargets (p99 of the last display; not asserted):")
    for c in checks:
        met = c.get("met")
        mark = "" if met is None else ("  met" if met else "  NOT met")
        print(f"  {c['displays']:>5} displays  {c['target']:<48} {c['value']}{mark}")
    for r in results:
        if r.get("server_log_problems"):
            print(f"\nserver log of {r['scenario']} ({r['displays']}): "
                  f"{len(r['server_log_problems'])} problem lines, e.g.")
            for line in r["server_log_problems"][:5]:
                print("   ", line[:200])

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / "displays.json"
    out.write_text(json.dumps({
        "benchmark": "displays",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "params": {"displays": display_counts, "calls": calls, "interval_ms": interval_s * 1000,
                   "warmup_calls": WARMUP_CALLS, "two_processes": two_processes,
                   "profiled": os.environ.get("BENCH_PROFILE") == "1"},
        "results": results,
        "targets": checks,
    }, indent=2, ensure_ascii=False))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.displays", description=__doc__.splitlines()[0])
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client:
        asyncio.run(client_main())
    elif args.bare_server:
        bare_main(args.bare_server)
    else:
        try:
            sys.exit(asyncio.run(orchestrate()))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted; servers and clients stopped", file=sys.stderr)
            sys.exit(130)


if __name__ == "__main__":
    main()
