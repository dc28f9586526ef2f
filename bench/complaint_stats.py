"""Complaint statistics over a year of cases: the counting alone, and read from SQLite.

    python -m bench.complaint_stats        # BENCH_CASES=100000 by default

A large bank's branches file some tens of thousands of complaints a year; the statistics of
a region's year should come back well within a page load. Fills a fresh SQLite database with
the demo branch and ``BENCH_CASES`` synthetic cases (bulk inserts), then times
:func:`server.services.complaint_stats.stats` over the year for each grouping, and the pure
counting (:func:`server.reports.complaints.complaint_stats`) over the same facts.
Target: each ≤ 2 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from server.domain.complaints import CaseState
from server.reports.complaints import GROUPS, CaseFact, complaint_stats
from server.services import complaint_stats as service
from server.services.context import Actor, Services
from server.services.demo import seed_demo
from server.store import tables as t
from server.store.engine import open_database
from server.store.migrate import upgrade

CASES = int(os.environ.get("BENCH_CASES", "100000"))
ADMIN = Actor("staff", 0, "admin", None, (), "bench")
FIRST = date(2026, 1, 1)
CHUNK = 10000
CHANNELS = ("branch", "hotline", "box", "online", "letter", "regulator")
CATEGORIES = ("attitude", "waiting", "fees", "mis_selling", "error", "environment", "privacy", "other")


def _case(i: int, rnd: random.Random) -> dict:
    received = datetime(2026, 1, 1, 2, tzinfo=UTC) + timedelta(minutes=rnd.randrange(365 * 24 * 60))
    decided = received + timedelta(hours=rnd.randrange(1, 24 * 25)) if rnd.random() < 0.9 else None
    return {
        "id": i, "branch_id": "demo", "number": f"B{i:09d}", "token": f"t{i:020d}",
        "channel": rnd.choice(CHANNELS), "category": rnd.choice(CATEGORIES),
        "state": "closed" if decided else "handling", "complex": False, "received_at": received,
        "received_on": (received + timedelta(hours=8)).date(), "due_on": (received + timedelta(days=15)).date(),
        "deadline_days": 15, "extensions": 0, "escalations": int(rnd.random() < 0.05),
        "round": 1 + int(rnd.random() < 0.1), "text": "x", "request": "", "facts": "",
        "contact_masked": {}, "remedies": [], "against_teller": False,
        "outcome": rnd.choice(("upheld", "partly_upheld", "not_upheld")) if decided else None,
        "satisfied": rnd.choice((True, False, None)) if decided else None,
        "first_decided_at": decided, "decided_at": decided,
        "decided_late": (decided - received).days > 15 if decided else None,
    }


async def fill(url: str, n: int) -> float:
    db = open_database(url)
    start = time.perf_counter()
    try:
        await seed_demo(Services(db, demo=True))
        rnd = random.Random(7)
        for low in range(1, n + 1, CHUNK):
            rows = [_case(i, rnd) for i in range(low, min(low + CHUNK, n + 1))]
            async with db.write() as conn:
                await conn.execute(insert(t.Complaint.__table__), rows)
                await conn.execute(insert(t.ComplaintComplainant.__table__), [
                    {"complaint_id": r["id"], "first_case_id": max(1, r["id"] - r["id"] % 7)} for r in rows])
    finally:
        await db.dispose()
    return time.perf_counter() - start


async def timed(url: str) -> dict[str, float]:
    db = open_database(url)
    out: dict[str, float] = {}
    try:
        app = Services(db)
        for group in GROUPS:
            start = time.perf_counter()
            await service.stats(app, ADMIN, ["demo"], first="2026-01-01", last="2026-12-31", group=group)
            out[f"stats by {group}"] = round(time.perf_counter() - start, 3)
    finally:
        await db.dispose()
    rnd = random.Random(7)
    facts = []
    for i in range(1, CASES + 1):
        r = _case(i, rnd)
        facts.append(CaseFact(i, "demo", max(1, i - i % 7), r["channel"], r["category"], CaseState(r["state"]),
                              r["received_at"], r["received_on"], r["due_on"], False, r["first_decided_at"],
                              r["decided_late"], r["outcome"], r["round"], r["escalations"], r["satisfied"]))
    start = time.perf_counter()
    complaint_stats(facts, date(2026, 1, 1), date(2026, 12, 31), group="category")
    out["counting alone"] = round(time.perf_counter() - start, 3)
    return out


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        filled = await fill(url, CASES)
        results = await timed(url)
    print(json.dumps({"cases": CASES, "fill_s": round(filled, 1), "sqlite": results,
                      "target_s": 2.0, "within": all(v <= 2.0 for v in results.values())}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
