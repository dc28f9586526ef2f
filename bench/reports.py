"""Report speed over 1,000,000 tickets, on SQLite and on PostgreSQL.

    python -m bench.reports            # BENCH_TICKETS=1000000 by default

Fills a fresh database with the demo branch and a year of synthetic tickets
(bulk inserts, no simulation: this measures aggregation, not realism), then
times the summary report over the whole year for each grouping, the staffing
advice and the teller scorecard. Target: each ≤ 2 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, text

from server.services import reports
from server.services.context import Actor, Services
from server.services.demo import seed_demo
from server.store import tables as t
from server.store.engine import open_database
from server.store.migrate import upgrade

TICKETS = int(os.environ.get("BENCH_TICKETS", "1000000"))
PG_ADMIN = os.environ.get("BRANCHQ_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN = Actor("staff", 0, "admin", None, (), "bench")
CHUNK = 20000


async def fill(url: str, n: int) -> float:
    await upgrade(url)
    db = open_database(url)
    app = Services(db)
    await seed_demo(app)
    rng = random.Random(1)
    async with db.read() as conn:
        services = (await conn.execute(text("SELECT id, code, target_wait_s FROM services"))).all()
        counters = (await conn.execute(text("SELECT id FROM counters"))).scalars().all()
        staff = (await conn.execute(text("SELECT id FROM staff WHERE role = 'teller'"))).scalars().all()
    last = date.today()
    days = 365
    started = time.perf_counter()
    per_day: dict[tuple[date, str], int] = {}
    batch = []
    async with db.write() as conn:
        # Chronological, as a branch writes them (row order then follows the day index).
        for i in range(n):
            day = last - timedelta(days=days - 1 - i * days // n)
            service = rng.choice(services)
            green = rng.random() < 0.08
            series = "G" if green else service.code
            seq = per_day[(day, series)] = per_day.get((day, series), 0) + 1
            hour = rng.choice((9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16))
            issued = datetime(day.year, day.month, day.day, hour - 8, rng.randrange(60), tzinfo=UTC)
            roll = rng.random()
            called = roll > 0.03
            wait = int(rng.expovariate(1 / 600)) if called else None
            state = "done" if roll > 0.08 else ("no_show" if called else "cancelled")
            batch.append({
                "branch_id": "demo", "business_date": day, "service_id": service.id, "series": series,
                "sequence": seq, "number": f"{series}{seq:03d}", "priority": "green" if green else "normal",
                "green_reason": "elderly" if green else None, "state": state,
                "token": secrets.token_hex(8) + f"{i:08x}", "issued_at": issued, "queued_at": issued,
                "head": False, "issued_hour": hour,
                "counter_id": rng.choice(counters) if called else None,
                "staff_id": rng.choice(staff) if called else None,
                "called_at": issued + timedelta(seconds=wait) if called else None,
                "first_called_at": issued + timedelta(seconds=wait) if called else None,
                "finished_at": issued + timedelta(seconds=(wait or 0) + 300),
                "wait_s": wait, "service_s": int(rng.lognormvariate(5.6, 0.4)) if state == "done" else None,
                "recalls": 0, "transfers": 0, "ahead_at_issue": 0,
                "estimated_wait_s": int(wait * rng.uniform(0.7, 1.3)) if called else 600,
            })
            if len(batch) == CHUNK:
                await conn.execute(insert(t.Ticket.__table__), batch)
                batch.clear()
        if batch:
            await conn.execute(insert(t.Ticket.__table__), batch)
    if db.dialect == "postgresql":
        async with db.write() as conn:
            await conn.execute(text("ANALYZE tickets"))
    await db.dispose()
    return time.perf_counter() - started


async def measure(url: str) -> list[dict]:
    db = open_database(url)
    app = Services(db)
    first, last = (date.today() - timedelta(days=364)).isoformat(), date.today().isoformat()
    results = []
    jobs = [(f"summary by {g}", lambda g=g: reports.summary_report(app, ADMIN, "demo", first=first, last=last, group=g))
            for g in ("service", "counter", "teller", "hour", "day", "priority")]
    jobs += [("teller scorecard", lambda: reports.scorecard(app, ADMIN, "demo", first=first, last=last)),
             ("staffing advice (26 weeks)", lambda: reports.staffing(app, ADMIN, "demo", weeks=26)),
             ("wait chart", lambda: reports.chart(app, ADMIN, "demo", "waits", first=first, last=last))]
    for name, job in jobs:
        await job()  # warm caches once
        started = time.perf_counter()
        await job()
        results.append({"report": name, "seconds": round(time.perf_counter() - started, 3)})
    await db.dispose()
    return results


async def main() -> None:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'reports.db'}"
        print(f"SQLite: inserting {TICKETS:,} tickets …", flush=True)
        print(f"  filled in {await fill(url, TICKETS):.0f} s", flush=True)
        out["sqlite"] = await measure(url)
    name = f"branchq_bench_reports_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN.replace("postgresql://", "postgres://"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        print(f"PostgreSQL: inserting {TICKETS:,} tickets …", flush=True)
        print(f"  filled in {await fill(url, TICKETS):.0f} s", flush=True)
        out["postgresql"] = await measure(url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"\nreports over {TICKETS:,} tickets (target ≤ 2 s each)")
    print(f"{'report':32} {'SQLite s':>9} {'PostgreSQL s':>13}")
    for a, b in zip(out["sqlite"], out["postgresql"], strict=True):
        print(f"{a['report']:32} {a['seconds']:9.3f} {b['seconds']:13.3f}")
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    Path("var/bench/reports.json").write_text(json.dumps({"tickets": TICKETS, **out}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
