"""A busy simulated branch day: how long the simulator takes.

    .venv/bin/python -m bench.simulate          # part of ``make bench``

The scenario is :data:`server.simulate.scenario.BUSY_DAY` (the demo branch, about 850
customers over 09:00–17:00, six counters all day, green channel, no-shows and transfers),
run through the real use cases on an in-memory SQLite database with a virtual clock, seed 1.
``BENCH_SIM_RUNS`` (3) runs; the best and the median wall times are printed beside the target
(≤ 5 s a day). Nothing is asserted. Results also go to ``var/bench/simulate.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from server.simulate import scenario as scenarios
from server.simulate.run import simulate

TARGET_S = 5.0


def main() -> None:
    runs = int(os.environ.get("BENCH_SIM_RUNS", "3"))
    sc = scenarios.parse(scenarios.BUSY_DAY)
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = asyncio.run(simulate(sc, seed=1))
        times.append(time.perf_counter() - began)
    assert result is not None
    o = result.outcome
    figures = {
        "tickets": o.issued, "use_cases": o.use_cases, "runs": runs,
        "best_s": round(min(times), 2), "median_s": round(statistics.median(times), 2),
        "use_cases_per_s": round(o.use_cases / min(times)), "target_s": TARGET_S,
    }
    print(f"simulate busy day: {o.issued} tickets, {o.use_cases} use cases; best {figures['best_s']} s, "
          f"median {figures['median_s']} s ({figures['use_cases_per_s']} use cases/s); target ≤ {TARGET_S} s")
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulate.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
