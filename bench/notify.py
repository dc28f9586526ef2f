"""Call-next latency with the notification webhook hanging, against no notifier at all.

    .venv/bin/python -m bench.notify          # ``make bench`` runs it too

Scenarios, each a fresh ``branchq serve --demo`` on a fresh SQLite file (``BENCH_DATABASES=
sqlite,postgresql`` adds a fresh PostgreSQL database ``branchq_bench_*``):

``no-wishes``
    The baseline: no ticket asks to be told, nothing configured; call-next as it was.
``no-notifier``
    Nothing configured: messages are written to the outbox and stay there.
``webhook-hanging``
    ``BRANCHQ_WEBHOOK_URL`` points at a receiver on 127.0.0.1 that accepts every connection
    and reads the request but never answers; each delivery attempt holds its connection
    for the whole ``BRANCHQ_NOTIFY_TIMEOUT_S`` (``BENCH_NOTIFY_TIMEOUT_S``, 5 s) and fails,
    and the worker keeps claiming, sending and recording failures while the tellers call.

In each, ``BENCH_NOTIFY_TICKETS`` (600) tickets are issued by the demo kiosk, and (but in the
baseline) each asks to be told (``POST /api/v1/tickets/{token}/notify``, a phone, ``ahead`` 20): every call then
enqueues its "called" message and the "N ahead" message of a ticket further back. Then
``teller1`` … ``teller6`` open counters 1 … 6 and call next (with ``expect``) in a loop
until their queues are empty or ``BENCH_SECONDS`` (10) s are up. Latency is the call-next
HTTP round trip, in an HdrHistogram (µs). The outbox counts come from the admin's
``GET /api/v1/admin/notifications`` at the end.

Nothing is asserted; the target (the hanging receiver adds nothing visible to p99) is
printed beside the figures. Results go to ``var/bench/notify.json``. Everything runs on
127.0.0.1, every phase has a deadline, and the server is stopped (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.issuance import (
    DEMO_KIOSK,
    DEMO_PASSWORD,
    HOST,
    OUT_DIR,
    SETUP_TIMEOUT_S,
    Config,
    CpuMeter,
    ScenarioFailed,
    Server,
    Stats,
    _current_of_refusal,
    client_session,
    create_pg_database,
    drop_pg_database,
    env_float,
    env_int,
    env_list,
    free_port,
    load1,
    request,
)

RESULTS = OUT_DIR / "notify.json"
SCENARIOS = ("no-wishes", "no-notifier", "webhook-hanging")


class HangingReceiver:
    """Accepts, reads what comes, never answers: the worst a gateway can do to a sender."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._held: set[asyncio.StreamWriter] = set()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._held.add(writer)
        try:
            while await reader.read(65536):
                pass
        finally:
            self._held.discard(writer)
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._hold, HOST, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._held):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)


class NotifyServer(Server):
    """``branchq serve --demo`` with the notifier's settings in its environment."""

    def __init__(self, *args, extra_env: dict[str, str], **kw) -> None:
        super().__init__(*args, **kw)
        self.extra_env = extra_env

    async def start(self) -> None:
        import bench.issuance as issuance

        plain = issuance.server_env

        def with_notifier() -> dict[str, str]:
            return plain() | {"BRANCHQ_NOTIFY_RATE_LIMIT": "1000000/second"} | self.extra_env

        issuance.server_env = with_notifier
        try:
            await super().start()
        finally:
            issuance.server_env = plain


async def prepare(base: str, tickets: int, stats: Stats, *, wishes: bool) -> int:
    """Issue ``tickets`` (A and B in turn) and ask for notifications on each; how many asked."""
    asked = 0
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    async with client_session(16) as http:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            nonlocal asked
            async with sem:
                if time.monotonic() > deadline:
                    return
                status, body = await request(http, "POST", f"{base}/api/v1/branches/demo/tickets", stats,
                                             json={"service": "AB"[i % 2]},
                                             headers={"Authorization": f"Bearer {DEMO_KIOSK}",
                                                      "Idempotency-Key": uuid.uuid4().hex})
                if status != 201 or not wishes:
                    return
                token = json.loads(body)["token"]
                status, _ = await request(http, "POST", f"{base}/api/v1/tickets/{token}/notify", stats,
                                          json={"phone": f"138{i:08d}", "ahead": 20, "consent": True})
                if status == 200:
                    asked += 1

        await asyncio.gather(*(one(i) for i in range(tickets)))
    return asked


async def call_all(base: str, seconds: float, server: Server) -> dict:
    numbers = list(range(1, 7))
    sessions = {n: client_session(2, aiohttp.CookieJar(unsafe=True)) for n in numbers}
    stats = Stats()
    called = 0
    try:
        for n in numbers:
            status, body = await request(sessions[n], "POST", f"{base}/api/v1/auth/login", None,
                                         json={"username": f"teller{n}", "password": DEMO_PASSWORD})
            if status != 200:
                raise ScenarioFailed(f"teller{n} could not sign in: {status} {body[:200]!r}")
            status, body = await request(sessions[n], "POST", f"{base}/api/v1/branches/demo/counters/{n}/open", None)
            if status != 200:
                raise ScenarioFailed(f"counter {n} did not open: {status} {body[:200]!r}")
        deadline = time.monotonic() + seconds

        async def counter(n: int) -> None:
            nonlocal called
            current = None
            url = f"{base}/api/v1/branches/demo/counters/{n}/call-next"
            while time.monotonic() < deadline:
                status, body = await request(sessions[n], "POST", url, stats, json={"expect": current})
                if status == 409:  # stale: go on from the counter as the server has it
                    current = _current_of_refusal(body, current)
                    continue
                if status != 200:
                    continue
                ticket = json.loads(body).get("ticket")
                if ticket is None:
                    return
                current = ticket["id"]
                called += 1

        with CpuMeter(server.pid) as cpu:
            t0 = time.perf_counter()
            await asyncio.gather(*(counter(n) for n in numbers))
            elapsed = time.perf_counter() - t0
    finally:
        for http in sessions.values():
            await http.close()
    result = stats.summary(elapsed)
    result.update(cpu.as_dict())
    result["tickets_called"] = called
    return result


async def outbox_counts(base: str) -> dict:
    async with client_session(2, aiohttp.CookieJar(unsafe=True)) as http:
        await request(http, "POST", f"{base}/api/v1/auth/login", None,
                      json={"username": "admin", "password": DEMO_PASSWORD})
        status, body = await request(http, "GET", f"{base}/api/v1/admin/notifications", None)
    if status != 200:
        return {"error": f"{status} {body[:200]!r}"}
    totals = {"sent": 0, "pending": 0, "dead": 0}
    for c in json.loads(body)["counts"]:
        for state in totals:
            totals[state] += c[state]
    return totals


async def run(scenario: str, database: str, cfg: Config, tickets: int, timeout_s: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"branchq-bench-notify-{scenario}-"))
    receiver = HangingReceiver()
    pg_name = None
    env: dict[str, str] = {}
    if scenario == "webhook-hanging":
        await receiver.start()
        env = {"BRANCHQ_WEBHOOK_URL": f"http://{HOST}:{receiver.port}/hook", "BRANCHQ_WEBHOOK_SECRET": "bench",
               "BRANCHQ_NOTIFY_TIMEOUT_S": str(timeout_s), "BRANCHQ_NOTIFY_BACKOFF_S": "1"}
    if database == "postgresql":
        pg_name = f"branchq_bench_{uuid.uuid4().hex[:10]}"
        url = await create_pg_database(cfg, pg_name)
    else:
        url = f"sqlite:///{workdir / 'branchq.db'}"
    server = NotifyServer(f"notify-{scenario}-{database}", url, workdir, demo=True, profile=False, extra_env=env)
    try:
        await server.start()
        pre = Stats()
        asked = await prepare(server.base, tickets, pre, wishes=scenario != "no-wishes")
        result = await call_all(server.base, cfg.seconds, server)
        result.update(scenario=scenario, database=database, wishes=asked, setup_errors=pre.errors,
                      outbox=await outbox_counts(server.base), receiver_connections=receiver.connections,
                      server_problems=server.problems(5))
        return result
    finally:
        await server.stop()
        await receiver.stop()
        if pg_name:
            await drop_pg_database(cfg, pg_name)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)


def print_table(results: list[dict]) -> None:
    print(f"\ncall-next with notifications (load1 {load1()}, {platform.node()})")
    print(f"{'scenario':18} {'db':10} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'errors':>6} {'outbox sent/pending/dead':>26} {'held conns':>10}")
    for r in results:
        if "failed" in r:
            print(f"{r['scenario']:18} {r['database']:10} failed: {r['failed']}")
            continue
        o = r["outbox"]
        box = f"{o.get('sent')}/{o.get('pending')}/{o.get('dead')}"
        print(f"{r['scenario']:18} {r['database']:10} {r['ok']:>6} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} "
              f"{r['max_ms']!s:>8} {r['errors']:>6} {box:>26} {r['receiver_connections']:>10}")
    print("target: the webhook hanging adds nothing visible to call-next's p99 (the outbox row is all a call writes)")


async def main_async() -> int:
    cfg = Config()
    tickets = env_int("BENCH_NOTIFY_TICKETS", 600)
    timeout_s = env_float("BENCH_NOTIFY_TIMEOUT_S", 5.0)
    results = []
    for database in env_list("BENCH_DATABASES", "sqlite"):
        for scenario in env_list("BENCH_NOTIFY_SCENARIOS", ",".join(SCENARIOS)):
            try:
                results.append(await asyncio.wait_for(run(scenario, database, cfg, tickets, timeout_s),
                                                      SETUP_TIMEOUT_S + cfg.seconds + 120))
            except (ScenarioFailed, TimeoutError) as e:
                results.append({"scenario": scenario, "database": database, "failed": str(e)[:500]})
    print_table(results)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    return 0 if all("failed" not in r for r in results) else 1


def main() -> None:
    raise SystemExit(asyncio.run(main_async()))


if __name__ == "__main__":
    main()
