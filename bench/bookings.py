"""Booking throughput and latency under contention, and check-in latency, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.bookings

The use cases are called in-process (no HTTP: the routes add the same fixed cost as every
other route, which ``bench.issuance`` measures), on a migrated SQLite file in a temporary
directory and on a fresh PostgreSQL database ``branchq_bench_*``, each with the demo branch:

``book``
    ``BENCH_CLIENTS`` (16) clients book tomorrow's slots of service A for ``BENCH_SECONDS``
    (5) s, all of them on the same slot until it is full (18 places), then the next: the
    contention the capacity rule is about. Refusals ``slot_full`` are counted apart, never
    as errors.
``check-in``
    ``BENCH_CHECKINS`` (200) bookings of today's slots are checked in one after another at
    the demo kiosk: each becomes a ticket through the kiosk's issuance.

Latencies go to an HdrHistogram in microseconds. Targets are printed beside the figures,
never asserted: booking p99 ≤ 50 ms and check-in p99 ≤ 50 ms on SQLite on a laptop.
Results also go to ``var/bench/bookings.json``.

Environment: ``BENCH_SECONDS`` (5), ``BENCH_CLIENTS`` (16), ``BENCH_CHECKINS`` (200),
``BENCH_DATABASES`` (``sqlite,postgresql``), ``BENCH_PG_URL`` (``postgresql://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from hdrh.histogram import HdrHistogram

from server.booking_protocol import BookingIn, CheckIn
from server.domain.access import PUBLIC
from server.domain.errors import BranchqError
from server.services import auth, bookings
from server.services.context import Services
from server.services.demo import DEMO_TOKENS, seed_demo
from server.store.engine import open_database
from server.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench" / "bookings.json"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
CHECKINS = int(os.environ.get("BENCH_CHECKINS", "200"))
DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
TARGET_P99_MS = 50


class Clock:
    """A fixed weekday morning in Shanghai (09:30), moved by the check-in scenario."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _ms(h: HdrHistogram, q: float) -> float:
    return round(h.get_value_at_percentile(q) / 1000, 2)


async def _book(app: Services, clock: Clock) -> dict[str, object]:
    day = date(2026, 3, 3)
    slots = [s.slot for s in (await bookings.list_slots(app, PUBLIC, "demo", "A", day)).slots]
    latency = HdrHistogram(1, 60_000_000, 3)
    done = {"booked": 0, "full": 0, "errors": 0}
    counter = iter(range(10**9))
    deadline = time.monotonic() + SECONDS

    async def client() -> None:
        index = 0
        while time.monotonic() < deadline and index < len(slots):
            n = next(counter)
            body = BookingIn.model_validate({"service": "A", "slot": slots[index], "consent": True,
                                             "contact": {"name": "压测", "phone": f"139{n:08d}"}})
            began = time.perf_counter()
            try:
                await bookings.book(app, PUBLIC, "demo", body)
                done["booked"] += 1
            except BranchqError as e:
                if e.code != "slot_full":
                    done["errors"] += 1
                    continue
                done["full"] += 1
                index += 1
                continue
            latency.record_value(max(1, int((time.perf_counter() - began) * 1e6)))

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    wall = time.monotonic() - started
    return {**done, "per_s": round(done["booked"] / wall, 1), "p50_ms": _ms(latency, 50),
            "p99_ms": _ms(latency, 99), "target_p99_ms": TARGET_P99_MS}


async def _check_in(app: Services, clock: Clock) -> dict[str, object]:
    kiosk = await auth.device_actor(app, DEMO_TOKENS["kiosk"])
    assert kiosk is not None
    today = date(2026, 3, 2)
    slots = [s.slot for s in (await bookings.list_slots(app, PUBLIC, "demo", "B", today)).slots]
    codes: list[tuple[str, datetime]] = []
    for n in range(CHECKINS):
        slot = slots[n % len(slots)]
        made = await bookings.book(app, PUBLIC, "demo", BookingIn.model_validate(
            {"service": "B", "slot": slot, "consent": True, "contact": {"name": "压测", "phone": f"137{n:08d}"}}))
        codes.append((made.code, made.start))
    latency = HdrHistogram(1, 60_000_000, 3)
    for code, start in sorted(codes, key=lambda c: c[1]):
        clock.now = max(clock.now, start - timedelta(minutes=5))
        began = time.perf_counter()
        await bookings.check_in(app, kiosk, "demo", code, CheckIn())
        latency.record_value(max(1, int((time.perf_counter() - began) * 1e6)))
    return {"checked_in": len(codes), "p50_ms": _ms(latency, 50), "p99_ms": _ms(latency, 99),
            "target_p99_ms": TARGET_P99_MS}


async def _scenario(url: str) -> dict[str, object]:
    await upgrade(url)
    clock = Clock()
    app = Services(open_database(url), clock, demo=True)
    try:
        await seed_demo(app)
        return {"book": await _book(app, clock), "check-in": await _check_in(app, clock)}
    finally:
        await app.db.dispose()


async def main() -> None:
    results: dict[str, object] = {}
    for database in DATABASES:
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results["sqlite"] = await _scenario(f"sqlite:///{tmp}/bench.db")
        else:
            name = f"branchq_bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(PG_URL + "/postgres")
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                results["postgresql"] = await _scenario(f"{PG_URL}/{name}")
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
        print(database, json.dumps(results[database], ensure_ascii=False))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
