"""A busy simulated branch day: how long the simulator takes, and how good the wait estimate is.

    .venv/bin/python -m bench.simulate          # part of ``make bench``

The scenario is :data:`server.simulate.scenario.BUSY_DAY` (the demo branch, about 850
customers over 09:00–17:00, six counters all day, green channel, no-shows and transfers),
run through the real use cases on an in-memory SQLite database with a virtual clock.
Each seed of ``BENCH_SIM_SEEDS`` (1,2) is run twice, the same day with the first estimator
(``simple``: ahead × typical service time ÷ open counters) and with the server's
(``projected``: call-next played forward), so the estimate's error is compared on the same
customers; the wall times of the ``projected`` runs are printed beside the target (≤ 5 s a
day). Nothing is asserted. Results also go to ``var/bench/simulate.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from server.simulate import scenario as scenarios
from server.simulate.run import simulate

TARGET_S = 5.0
ESTIMATORS = ("simple", "projected")


def main() -> None:
    seeds = [int(s) for s in os.environ.get("BENCH_SIM_SEEDS", "1,2").split(",")]
    sc = scenarios.parse(scenarios.BUSY_DAY)
    times: list[float] = []
    errors: dict[str, dict[int, dict[str, Any]]] = {e: {} for e in ESTIMATORS}
    tickets = use_cases = 0
    for seed in seeds:
        for estimator in ESTIMATORS:
            began = time.perf_counter()
            result = asyncio.run(simulate(sc, seed=seed, estimator=estimator))
            elapsed = time.perf_counter() - began
            total = result.estimate_error["total"]
            errors[estimator][seed] = {**total, "sla_share": result.sla_share}
            print(f"seed {seed} {estimator:>9}: MAE {total['mae_s']} s, mean wait {total['mean_wait_s']} s, "
                  f"ratio {total['mae_ratio']:.0%}, bias {total['bias_s']} s, "
                  f"within ±25 %/±5 min {total['good_share']:.0%}, SLA {result.sla_share:.0%} ({elapsed:.1f} s)")
            if estimator == "projected":
                times.append(elapsed)
                tickets, use_cases = result.outcome.issued, result.outcome.use_cases
    figures = {
        "tickets": tickets, "use_cases": use_cases, "seeds": seeds,
        "best_s": round(min(times), 2), "median_s": round(statistics.median(times), 2),
        "use_cases_per_s": round(use_cases / min(times)), "target_s": TARGET_S,
        "estimate_error": errors,
    }
    print(f"simulate busy day: {tickets} tickets, {use_cases} use cases; best {figures['best_s']} s, "
          f"median {figures['median_s']} s ({figures['use_cases_per_s']} use cases/s); target ≤ {TARGET_S} s")
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulate.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
