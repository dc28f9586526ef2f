"""Issuance and call-next throughput and latency, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.issuance          # what ``make bench`` runs

Scenarios (each on a fresh SQLite file in a temporary directory and on a fresh PostgreSQL
database ``branchq_bench_*``, each with its own server process):

``issuance``
    ``branchq serve --demo``; ``BENCH_CLIENTS`` (16) clients issue tickets at branch ``demo``
    as fast as they can for ``BENCH_SECONDS`` (10) s: ``POST /api/v1/branches/demo/tickets``
    with ``Authorization: Bearer demo-kiosk``, services A–E in turn.
``100-branches``
    ``branchq db upgrade``, then branches ``b000`` … ``b099`` (the demo branch's services
    and counters), each with one kiosk token, are created directly in the database
    (``create_branch`` + ``add_device``) before the server starts (``branchq serve``, no
    demo); the clients issue round-robin across the branches.
``call-next``
    ``branchq serve --demo``; ``BENCH_CALL_TICKETS`` (3,000) tickets are issued first (A–E
    in turn, not measured), then ``teller1`` … ``teller6`` sign in (one cookie jar each),
    open counters 1 … 6, and each counter calls next in a loop until its queue is empty or
    the time is up. A call-next also finishes the counter's previous ticket.

Every request that does not answer 2xx (or fails on the wire) is an error; the first few
of each scenario are printed. Latencies (successful requests only) go to an HdrHistogram
in microseconds. The issuance scenarios start with ``BENCH_WARMUP`` (1) s of unrecorded
load. Throughput = successful requests / wall time of the measured window (from the start
until the last in-flight request is answered).

The bench process is the client: one ``aiohttp.ClientSession`` with keep-alive and a
connection limit of at least the number of clients. The server runs as a subprocess
(``.venv/bin/branchq``) with its working directory and log in the scenario's temporary
directory. Everything is on 127.0.0.1, every phase has a deadline, and the server is
stopped (SIGTERM, then SIGKILL) and the database dropped in ``finally``.

Nothing is asserted: the targets are printed beside the figures. Results also go to
``var/bench/results.json``.

Environment: ``BENCH_SECONDS`` (10), ``BENCH_CLIENTS`` (16), ``BENCH_WARMUP`` (1),
``BENCH_BRANCHES`` (100), ``BENCH_CALL_TICKETS`` (3000), ``BENCH_COUNTERS`` (6, at most 6),
``BENCH_IDEMPOTENCY`` (1: send a fresh ``Idempotency-Key`` with every issuance, as kiosks do),
``BENCH_SCENARIOS`` (``issuance,100-branches,call-next``), ``BENCH_DATABASES``
(``sqlite,postgresql``), ``BENCH_PG_URL`` (``postgresql://postgres@127.0.0.1:5432``),
``BENCH_PROFILE=1`` (run the server under pyinstrument, if installed; one text report per
scenario in ``var/bench/issuance-profile-*.txt``; such figures are not comparable),
``BENCH_KEEP=1`` (keep the temporary directories with the server logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from hdrh.histogram import HdrHistogram

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
BRANCHQ = VENV_BIN / "branchq"
OUT_DIR = ROOT / "var" / "bench"
RESULTS = OUT_DIR / "results.json"

SERVICES = "ABCDE"
DEMO_KIOSK = "demo-kiosk"
DEMO_PASSWORD = "demo-pass"
HOST = "127.0.0.1"

START_TIMEOUT_S = 90.0  # migrations + demo seeding (argon2) + first health answer
SETUP_TIMEOUT_S = 180.0  # branch creation, pre-issuing the call-next tickets
REQUEST_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL
FIRST_ERRORS = 5

TARGETS = {  # (scenario, database) → (metric, comparison, value, label)
    ("issuance", "sqlite"): ("per_second", ">=", 700, "≥ 700/s"),
    ("issuance", "postgresql"): ("per_second", ">=", 600, "≥ 600/s"),
    ("100-branches", "postgresql"): ("per_second", ">=", 1500, "≥ 1,500/s"),
    ("call-next", "sqlite"): ("p99_ms", "<=", 25, "p99 ≤ 25 ms"),
    ("call-next", "postgresql"): ("p99_ms", "<=", 25, "p99 ≤ 25 ms"),
}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def env_list(name: str, default: str) -> list[str]:
    raw = os.environ.get(name, "").strip() or default
    return [x.strip() for x in raw.split(",") if x.strip()]


@dataclass(frozen=True)
class Config:
    seconds: float = field(default_factory=lambda: env_float("BENCH_SECONDS", 10.0))
    clients: int = field(default_factory=lambda: env_int("BENCH_CLIENTS", 16))
    warmup: float = field(default_factory=lambda: env_float("BENCH_WARMUP", 1.0))
    branches: int = field(default_factory=lambda: env_int("BENCH_BRANCHES", 100))
    call_tickets: int = field(default_factory=lambda: env_int("BENCH_CALL_TICKETS", 3000))
    counters: int = field(default_factory=lambda: min(6, env_int("BENCH_COUNTERS", 6)))
    idempotency: bool = field(default_factory=lambda: os.environ.get("BENCH_IDEMPOTENCY", "1") != "0")
    scenarios: tuple[str, ...] = field(
        default_factory=lambda: tuple(env_list("BENCH_SCENARIOS", "issuance,100-branches,call-next"))
    )
    databases: tuple[str, ...] = field(
        default_factory=lambda: tuple(env_list("BENCH_DATABASES", "sqlite,postgresql"))
    )
    pg_url: str = field(
        default_factory=lambda: os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
    )
    profile: bool = field(default_factory=lambda: os.environ.get("BENCH_PROFILE") == "1")
    keep: bool = field(default_factory=lambda: os.environ.get("BENCH_KEEP") == "1")


class ScenarioFailed(Exception):
    """The scenario could not be measured (server did not start, set-up refused, …)."""


# =========================================================================================
# Measuring
# =========================================================================================


class Stats:
    """Counts, the first errors, and an HdrHistogram of successful latencies in µs."""

    def __init__(self) -> None:
        self.hist = HdrHistogram(1, 120_000_000, 3)
        self.requests = 0
        self.ok = 0
        self.errors = 0
        self.error_kinds: dict[str, int] = {}
        self.first_errors: list[str] = []

    def success(self, micros: int) -> None:
        self.requests += 1
        self.ok += 1
        self.hist.record_value(max(1, micros))

    def failure(self, kind: str, detail: str) -> None:
        self.requests += 1
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if len(self.first_errors) < FIRST_ERRORS:
            self.first_errors.append(detail)

    def ms(self, percentile: float) -> float | None:
        if self.ok == 0:
            return None
        return round(self.hist.get_value_at_percentile(percentile) / 1000, 2)

    def summary(self, elapsed_s: float) -> dict:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "first_errors": self.first_errors,
            "elapsed_s": round(elapsed_s, 3),
            "per_second": round(self.ok / elapsed_s, 1) if elapsed_s > 0 else None,
            "p50_ms": self.ms(50),
            "p90_ms": self.ms(90),
            "p99_ms": self.ms(99),
            "p999_ms": self.ms(99.9),
            "max_ms": round(self.hist.get_max_value() / 1000, 2) if self.ok else None,
            "mean_ms": round(self.hist.get_mean_value() / 1000, 2) if self.ok else None,
        }


async def request(
    http: aiohttp.ClientSession, method: str, url: str, stats: Stats | None, **kw
) -> tuple[int | None, bytes]:
    """One timed request; returns (status or None on a wire failure, body)."""
    t0 = time.perf_counter_ns()
    try:
        async with http.request(method, url, **kw) as r:
            body = await r.read()
            status = r.status
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        if stats is not None:
            stats.failure(type(e).__name__, f"{method} {url}: {type(e).__name__}: {e}")
        return None, b""
    micros = (time.perf_counter_ns() - t0) // 1000
    if stats is not None:
        if 200 <= status < 300:
            stats.success(micros)
        else:
            text = body[:300].decode("utf-8", "replace")
            stats.failure(f"HTTP {status}", f"{method} {url} → {status}: {text}")
    return status, body


def client_session(limit: int, jar: aiohttp.abc.AbstractCookieJar | None = None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False,
                                     keepalive_timeout=60)
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=jar,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    )


@dataclass
class IssuePlan:
    """Who issues where: request n goes to branch n mod B, service A–E in turn per branch."""

    base: str
    kiosks: list[tuple[str, str]]  # (branch, token)
    idempotency: bool

    def args(self, n: int) -> tuple[str, dict, dict]:
        branch, token = self.kiosks[n % len(self.kiosks)]
        service = SERVICES[(n // len(self.kiosks)) % len(SERVICES)]
        headers = {"Authorization": f"Bearer {token}"}
        if self.idempotency:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return f"{self.base}/api/v1/branches/{branch}/tickets", headers, {"service": service}


async def issue_load(
    http: aiohttp.ClientSession, plan: IssuePlan, clients: int, stats: Stats,
    *, deadline: float, limit: int | None = None, numbers: itertools.count | None = None,
) -> float:
    """``clients`` workers issue until ``deadline`` (or ``limit`` requests); returns wall time."""
    numbers = numbers or itertools.count()
    taken = 0

    async def worker() -> None:
        nonlocal taken
        while time.monotonic() < deadline and (limit is None or taken < limit):
            taken += 1
            url, headers, body = plan.args(next(numbers))
            await request(http, "POST", url, stats, headers=headers, json=body)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - t0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """Share of one CPU used by the server and by this client process over a window."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.client0 = time.process_time()
        self.server0 = cpu_seconds(self.pid) if self.pid else None
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.t0
        self.client_pct = round(100 * (time.process_time() - self.client0) / wall) if wall else None
        server1 = cpu_seconds(self.pid) if self.pid else None
        self.server_pct = (
            round(100 * (server1 - self.server0) / wall)
            if wall and server1 is not None and self.server0 is not None else None
        )

    def as_dict(self) -> dict:
        return {"server_cpu_pct": self.server_pct, "client_cpu_pct": self.client_pct}


# =========================================================================================
# Servers and databases
# =========================================================================================


def load1() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure here."""
    with contextlib.suppress(OSError, AttributeError):
        return round(os.getloadavg()[0], 2)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    """This environment without ``BRANCHQ_*`` (the command line says everything), and no
    rate limits: the bench is one kiosk issuing as fast as sixteen, on purpose."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHQ_")}
    env["BRANCHQ_ISSUE_RATE_LIMIT"] = env["BRANCHQ_PUBLIC_RATE_LIMIT"] = "1000000/second"
    return env


class Server:
    """``branchq serve`` as a subprocess; its log and working directory in ``workdir``."""

    def __init__(self, tag: str, database: str, workdir: Path, *, demo: bool, profile: bool) -> None:
        self.tag, self.database, self.workdir = tag, database, workdir
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = workdir / "server.log"
        self.profile_path: Path | None = None
        serve = ["serve", "--database", database, "--host", HOST, "--port", str(self.port)]
        if demo:
            serve.append("--demo")
        if profile:
            self.profile_path = OUT_DIR / f"issuance-profile-{tag}.txt"
            self.argv = [str(VENV_BIN / "python"), "-m", "pyinstrument", "-r", "text",
                         "-o", str(self.profile_path), "-m", "server", *serve]
        else:
            self.argv = [str(BRANCHQ), *serve]
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=self.workdir, env=server_env(),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        async with client_session(1) as http:
            while True:
                if self.proc.returncode is not None:
                    raise ScenarioFailed(f"server exited with {self.proc.returncode}:\n{self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(f"{self.base}/api/v1/health",
                                        timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise ScenarioFailed(
                        f"server not healthy within {START_TIMEOUT_S:.0f} s:\n{self.tail()}"
                    )
                await asyncio.sleep(0.2)

    async def stop(self) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            grace = STOP_GRACE_S * (6 if self.profile_path else 1)  # pyinstrument writes its report
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        return proc.returncode

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def problems(self, limit: int = 20) -> list[str]:
        """Log lines that look like trouble: ERROR/CRITICAL records and traceback endings."""
        found: list[str] = []
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                record = " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
                exception_line = (  # the last line of a traceback: "SomeError: why"
                    i > 0 and lines[i - 1].startswith("  ") and line and not line.startswith(" ")
                    and ("Error" in line or "Exception" in line)
                )
                if record or exception_line:
                    found.append(line.strip()[:300])
                if len(found) >= limit:
                    break
        return found


def pg_admin_url(cfg: Config) -> str:
    return f"{cfg.pg_url}/postgres"


async def create_pg_database(cfg: Config, name: str) -> str:
    import asyncpg

    assert name.startswith("branchq_bench_"), name
    conn = await asyncpg.connect(pg_admin_url(cfg), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{cfg.pg_url}/{name}"


async def drop_pg_database(cfg: Config, name: str) -> str | None:
    """Drop the database; returns a problem, or None."""
    import asyncpg

    assert name.startswith("branchq_bench_"), name
    try:
        conn = await asyncpg.connect(pg_admin_url(cfg), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
    except Exception as e:  # noqa: BLE001  reported, never fatal
        return f"could not drop {name}: {type(e).__name__}: {e}"
    return None


async def db_upgrade(database: str, workdir: Path) -> None:
    """``branchq db upgrade --database …`` as a subprocess, with a deadline."""
    proc = await asyncio.create_subprocess_exec(
        str(BRANCHQ), "db", "upgrade", "--database", database, cwd=workdir, env=server_env(),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), START_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ScenarioFailed(f"branchq db upgrade took more than {START_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        raise ScenarioFailed(f"branchq db upgrade failed ({proc.returncode}):\n{out.decode(errors='replace')[-2000:]}")


async def create_branches(database: str, count: int) -> list[tuple[str, str]]:
    """Branches b000 … with the demo branch's services and counters, one kiosk token each."""
    from server.services import auth
    from server.services.branches import BranchSpec, create_branch
    from server.services.context import Services
    from server.services.demo import DEMO_BRANCH
    from server.store.engine import open_database

    template = DEMO_BRANCH.model_dump(by_alias=True)
    kiosks = []
    db = open_database(database)
    try:
        app = Services(db)
        for i in range(count):
            branch = f"b{i:03d}"
            spec = BranchSpec.model_validate(
                {**template, "id": branch,
                 "names": {"zh-CN": f"基准支行{i:03d}", "en": f"Bench Branch {i:03d}", "zh-TW": f"基準分行{i:03d}"}}
            )
            await create_branch(app, spec)
            token = await auth.add_device(
                app, branch_id=branch, kind="kiosk", name=f"bench kiosk {branch}",
                token=f"bench-kiosk-{branch}-{secrets.token_urlsafe(12)}",
            )
            kiosks.append((branch, token))
    finally:
        await db.dispose()
    return kiosks


# =========================================================================================
# Scenarios
# =========================================================================================


async def scenario_issuance(cfg: Config, server: Server, kiosks: list[tuple[str, str]]) -> dict:
    plan = IssuePlan(server.base, kiosks, cfg.idempotency)
    numbers = itertools.count()
    async with client_session(max(16, cfg.clients)) as http:
        warm = Stats()
        if cfg.warmup > 0:
            await issue_load(http, plan, cfg.clients, warm, deadline=time.monotonic() + cfg.warmup,
                             numbers=numbers)
        stats = Stats()
        with CpuMeter(server.pid) as cpu:
            elapsed = await issue_load(http, plan, cfg.clients, stats,
                                       deadline=time.monotonic() + cfg.seconds, numbers=numbers)
    result = stats.summary(elapsed)
    result.update(cpu.as_dict())
    result["warmup"] = {"seconds": cfg.warmup, "requests": warm.requests, "errors": warm.errors,
                        "first_errors": warm.first_errors}
    result["clients"] = cfg.clients
    result["branches"] = len(kiosks)
    return result


def _current_of_refusal(body: bytes, current: int | None) -> int | None:
    """The counter's current ticket in a 409's ``error.counter`` (``current`` if it has none)."""
    try:
        counter = json.loads(body)["error"]["counter"]
    except (ValueError, KeyError, TypeError):
        return current
    return (counter.get("current") or {}).get("id")


async def scenario_call_next(cfg: Config, server: Server) -> dict:
    base = server.base
    setup: dict = {"tickets_wanted": cfg.call_tickets}

    # 1. the queue: tickets A–E in turn, from the demo kiosk (not measured)
    pre = Stats()
    async with client_session(max(16, cfg.clients)) as http:
        t = await issue_load(
            http, IssuePlan(base, [("demo", DEMO_KIOSK)], cfg.idempotency), cfg.clients, pre,
            deadline=time.monotonic() + SETUP_TIMEOUT_S, limit=cfg.call_tickets,
        )
    setup.update(tickets_issued=pre.ok, issue_errors=pre.errors, issue_first_errors=pre.first_errors,
                 issue_s=round(t, 2))
    if pre.ok == 0:
        raise ScenarioFailed(f"no ticket could be issued: {pre.first_errors}")

    # 2. tellers sign in (one cookie jar each) and open their counters
    numbers = list(range(1, cfg.counters + 1))
    sessions = {n: client_session(2, aiohttp.CookieJar(unsafe=True)) for n in numbers}
    stats = Stats()
    per_counter: dict[int, dict] = {}
    try:
        ready = []
        for n in numbers:
            http = sessions[n]
            status, body = await request(http, "POST", f"{base}/api/v1/auth/login", stats,
                                         json={"username": f"teller{n}", "password": DEMO_PASSWORD})
            if status != 200:
                per_counter[n] = {"ready": False, "why": f"login {status}: {body[:200].decode(errors='replace')}"}
                continue
            status, body = await request(http, "POST", f"{base}/api/v1/branches/demo/counters/{n}/open", stats)
            if status is None or not 200 <= status < 300:
                per_counter[n] = {"ready": False, "why": f"open {status}: {body[:200].decode(errors='replace')}"}
                continue
            ready.append(n)
        if not ready:
            raise ScenarioFailed(f"no counter could be opened: {per_counter}")
        setup_stats = stats.summary(1.0)
        setup.update(setup_requests=setup_stats["requests"], setup_errors=setup_stats["errors"],
                     setup_first_errors=setup_stats["first_errors"])

        # 3. each counter calls next until its queue is empty or the time is up
        stats = Stats()
        deadline = time.monotonic() + cfg.seconds

        async def counter(n: int) -> None:
            http = sessions[n]
            url = f"{base}/api/v1/branches/demo/counters/{n}/call-next"
            mine = {"ready": True, "calls": 0, "tickets": 0, "emptied": False}
            per_counter[n] = mine
            current: int | None = None  # the ticket this counter believes current: sent as expect
            while time.monotonic() < deadline:
                mine["calls"] += 1
                # Without expect, a call-next moments after the last call is refused (just_called).
                status, body = await request(http, "POST", url, stats, json={"expect": current})
                if status == 409:  # stale: go on from the counter as the server has it
                    current = _current_of_refusal(body, current)
                    continue
                if status is None or not 200 <= status < 300:
                    continue
                try:
                    ticket = json.loads(body).get("ticket")
                except (ValueError, AttributeError):
                    ticket = "unparsed"
                if ticket is None:
                    mine["emptied"] = True
                    return
                current = ticket.get("id") if isinstance(ticket, dict) else None
                mine["tickets"] += 1

        with CpuMeter(server.pid) as cpu:
            t0 = time.perf_counter()
            await asyncio.gather(*(counter(n) for n in ready))
            elapsed = time.perf_counter() - t0
    finally:
        for http in sessions.values():
            await http.close()

    result = stats.summary(elapsed)
    result.update(cpu.as_dict())
    result["counters"] = {str(n): per_counter.get(n) for n in numbers}
    result["tickets_called"] = sum(c.get("tickets", 0) for c in per_counter.values() if c)
    result["setup"] = setup
    return result


async def run_scenario(cfg: Config, scenario: str, database: str) -> dict:
    """Fresh database, server subprocess, the load, and the clean-up, always."""
    tag = f"{scenario}-{database}"
    workdir = Path(tempfile.mkdtemp(prefix=f"branchq-bench-{tag}-"))
    pg_name = None
    server: Server | None = None
    out: dict = {"scenario": scenario, "database": database, "status": "ok", "loadavg_1m_before": load1()}
    started = time.perf_counter()
    try:
        if database == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        elif database == "postgresql":
            name = f"branchq_bench_{scenario.replace('-', '_')}_{secrets.token_hex(4)}"
            out["pg_database"] = name
            url = await create_pg_database(cfg, name)
            pg_name = name  # dropped in finally from here on
        else:
            raise ScenarioFailed(f"unknown database {database!r} (sqlite, postgresql)")

        kiosks = [("demo", DEMO_KIOSK)]
        if scenario == "100-branches":
            await db_upgrade(url, workdir)
            t0 = time.perf_counter()
            kiosks = await asyncio.wait_for(create_branches(url, cfg.branches), SETUP_TIMEOUT_S)
            out["setup_branches_s"] = round(time.perf_counter() - t0, 2)
        server = Server(tag, url, workdir, demo=scenario != "100-branches", profile=cfg.profile)
        await server.start()

        budget = cfg.seconds + cfg.warmup + SETUP_TIMEOUT_S + 2 * REQUEST_TIMEOUT_S
        if scenario in ("issuance", "100-branches"):
            measured = await asyncio.wait_for(scenario_issuance(cfg, server, kiosks), budget)
        elif scenario == "call-next":
            measured = await asyncio.wait_for(scenario_call_next(cfg, server), budget)
        else:
            raise ScenarioFailed(f"unknown scenario {scenario!r}")
        out.update(measured)
        if server.proc and server.proc.returncode is not None:
            out["status"] = "server died"
    except ScenarioFailed as e:
        out.update(status="failed", reason=str(e))
    except TimeoutError:
        out.update(status="failed", reason="scenario exceeded its time budget")
    except Exception as e:  # noqa: BLE001  reported; the next scenario still runs
        out.update(status="failed", reason=f"{type(e).__name__}: {e}")
    finally:
        if server is not None:
            out["server_exit"] = await server.stop()
            out["server_log_problems"] = server.problems()
            if out["status"] != "ok":
                out["server_log_tail"] = server.tail()
            if server.profile_path:
                out["profile"] = str(server.profile_path)
        if pg_name:
            problem = await drop_pg_database(cfg, pg_name)
            if problem:
                out["cleanup_problem"] = problem
        if cfg.keep:
            out["workdir"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        out["wall_s"] = round(time.perf_counter() - started, 1)
        out["loadavg_1m_after"] = load1()
    return out


# =========================================================================================
# Report
# =========================================================================================


def target_text(r: dict) -> str:
    target = TARGETS.get((r["scenario"], r["database"]))
    if target is None:
        return ""
    metric, op, value, label = target
    got = r.get(metric)
    if r.get("status") != "ok" or got is None:
        return f"{label}  —"
    met = got >= value if op == ">=" else got <= value
    return f"{label}  {'met' if met else 'MISSED'}"


def fmt(v, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def print_table(results: list[dict], cfg: Config) -> None:
    head = ("scenario", "database", "requests", "ok", "errors", "per second", "p50 ms", "p99 ms", "target")
    rows = []
    for r in results:
        if r["status"] == "failed":
            rows.append((r["scenario"], r["database"], "FAILED", "", "", "", "", "", target_text(r)))
            continue
        rows.append((
            r["scenario"], r["database"], fmt(r.get("requests")), fmt(r.get("ok")), fmt(r.get("errors")),
            fmt(r.get("per_second")), fmt(r.get("p50_ms"), 2), fmt(r.get("p99_ms"), 2), target_text(r),
        ))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    align = ["<", "<", ">", ">", ">", ">", ">", ">", "<"]

    def line(cells) -> str:
        return " | ".join(f"{c!s:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True)).rstrip()

    print()
    print(f"branchq bench: {cfg.clients} clients, {cfg.seconds:g} s per scenario"
          f"{' (PROFILED: not comparable)' if cfg.profile else ''}")
    print(line(head))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    print()
    for r in results:
        name = f"{r['scenario']} / {r['database']}"
        notes = []
        if r.get("loadavg_1m_before") is not None:
            notes.append(f"load {r['loadavg_1m_before']}→{r.get('loadavg_1m_after')}")
        if r.get("server_cpu_pct") is not None:
            notes.append(f"cpu server {r['server_cpu_pct']}% client {r.get('client_cpu_pct')}%")
        if r["scenario"] == "call-next" and r["status"] != "failed":
            emptied = sum(1 for c in (r.get("counters") or {}).values() if c and c.get("emptied"))
            notes.append(f"{r.get('tickets_called', 0)} tickets called of "
                         f"{r.get('setup', {}).get('tickets_issued')} issued, "
                         f"{emptied}/{len(r.get('counters') or {})} counters emptied their queue")
        if notes:
            print(f"  {name}: " + "; ".join(notes))
    busy = [r.get("loadavg_1m_before") or 0 for r in results]
    cpus = os.cpu_count() or 1
    if busy and max(busy) > 0.5 * cpus:
        print(f"  NOTE: the machine was busy (1-min load up to {max(busy)} on {cpus} CPUs): "
              "other processes share the CPUs, so these figures understate the server.")
    for r in results:
        name = f"{r['scenario']} / {r['database']}"
        if r["status"] != "ok":
            print(f"\n{name}: {r['status'].upper()}: {r.get('reason', '')}")
            if r.get("server_log_tail"):
                print("  server log (tail):")
                for ln in r["server_log_tail"].splitlines():
                    print(f"    {ln}")
        errs = list(r.get("first_errors") or [])
        for key in ("setup",):
            s = r.get(key) or {}
            errs += [f"(set-up) {e}" for e in (s.get("issue_first_errors") or []) + (s.get("setup_first_errors") or [])]
        warm = (r.get("warmup") or {}).get("first_errors") or []
        errs += [f"(warm-up) {e}" for e in warm]
        if errs:
            print(f"\n{name}: {r.get('errors', 0)} errors {r.get('error_kinds', {})}; the first:")
            for e in errs[:FIRST_ERRORS]:
                print(f"    {e}")
        if r.get("server_log_problems"):
            print(f"\n{name}: server log problems (first {min(5, len(r['server_log_problems']))}):")
            for p in r["server_log_problems"][:5]:
                print(f"    {p}")
        if r.get("cleanup_problem"):
            print(f"\n{name}: {r['cleanup_problem']}")
        if r.get("profile"):
            print(f"  {name}: profile in {r['profile']}")


def git_revision() -> str | None:
    with contextlib.suppress(Exception):
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "server"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5, check=False).stdout.strip()
        return rev + ("+dirty(server)" if dirty else "")
    return None


async def orchestrate(cfg: Config) -> int:
    if cfg.profile and importlib.util.find_spec("pyinstrument") is None:
        print("BENCH_PROFILE=1 but pyinstrument is not installed: running without the profiler")
        cfg = Config(profile=False)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    plan = [(s, d) for s in cfg.scenarios for d in cfg.databases]
    started = datetime.now(UTC)
    results = []
    for scenario, database in plan:
        print(f"… {scenario} on {database}", flush=True)
        r = await run_scenario(cfg, scenario, database)
        results.append(r)
        if r["status"] == "failed":
            print(f"  FAILED: {r.get('reason', '')[:500]}", flush=True)
        else:
            print(f"  {fmt(r.get('per_second'))}/s  p50 {fmt(r.get('p50_ms'), 2)} ms  "
                  f"p99 {fmt(r.get('p99_ms'), 2)} ms  errors {r.get('errors')}  ({r['wall_s']} s)", flush=True)
    print_table(results, cfg)
    for r in results:
        r["target"] = target_text(r) or None
    report = {
        "bench": "issuance",
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_revision(),
        "host": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "config": {
            "seconds": cfg.seconds, "clients": cfg.clients, "warmup_s": cfg.warmup, "branches": cfg.branches,
            "call_tickets": cfg.call_tickets, "counters": cfg.counters, "idempotency_key": cfg.idempotency,
            "profiled": cfg.profile,
        },
        "results": results,
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {RESULTS.relative_to(ROOT)}")
    return 1 if any(r["status"] != "ok" for r in results) else 0


def main() -> None:
    cfg = Config()
    if cfg.clients < 1 or cfg.seconds <= 0:
        sys.exit("BENCH_CLIENTS and BENCH_SECONDS must be positive")
    try:
        sys.exit(asyncio.run(orchestrate(cfg)))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
