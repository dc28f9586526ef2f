"""Staff assessment speed over a month of a busy branch, on SQLite.

    python -m bench.assessment            # BENCH_WEEKS=4, BENCH_DAILY=300 by default

Seeds the demo branch with ``BENCH_WEEKS`` weeks of history (tickets and their events, as
``serve --demo --history-weeks`` does), then times the assessment over the whole period:
the figures of every teller (served mix, ratings, prompts, open, busy and waiting spans,
idle with a queue). Target: ≤ 2 s for a month of 300 tickets a day.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from server.services import assessment
from server.services.context import Actor, Services
from server.services.demo import seed_demo
from server.services.history import generate_history
from server.store.engine import open_database
from server.store.migrate import upgrade

WEEKS = int(os.environ.get("BENCH_WEEKS", "4"))
DAILY = int(os.environ.get("BENCH_DAILY", "300"))
ADMIN = Actor("staff", 0, "admin", None, (), "bench")


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        db = open_database(url)
        try:
            app = Services(db)
            await seed_demo(app)
            tickets = await generate_history(app, "demo", weeks=WEEKS, daily_volume=DAILY)
            today = app.clock().date()
            first = (today - timedelta(weeks=WEEKS)).isoformat()
            timings = []
            for _ in range(3):
                began = time.perf_counter()
                report = await assessment.assessment_report(app, ADMIN, "demo", first=first, last=today.isoformat())
                timings.append(time.perf_counter() - began)
            return {"tickets": tickets, "tellers": len(report["tellers"]), "best_s": round(min(timings), 3),
                    "worst_s": round(max(timings), 3)}
        finally:
            await db.dispose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
