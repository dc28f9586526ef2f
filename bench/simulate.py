"""A busy simulated branch day: how long the simulator takes, and how good the wait estimate is.

    .venv/bin/python -m bench.simulate          # part of ``make bench``

The scenario is :data:`server.simulate.scenario.BUSY_DAY` (the demo branch, about 850
customers over 09:00–17:00, six counters all day, green channel, no-shows and transfers),
run through the real use cases on an in-memory SQLite database with a virtual clock.
Each seed of ``BENCH_SIM_SEEDS`` (1,2) is run twice, the same day with the first estimator
(``simple``: ahead × typical service time ÷ open counters) and with the server's
(``projected``: call-next played forward), so the estimate's error is compared on the same
customers; the wall times of the ``projected`` runs are printed beside the target (≤ 5 s a
day), and the time of one projected estimate with 50, 200 and 500 waiting. Nothing is asserted.
Results also go to ``var/bench/simulate.json``.
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


def projection_ms(waiting: int) -> float:
    """Milliseconds of one projected estimate with ``waiting`` tickets before six demo counters."""
    from datetime import UTC, datetime, timedelta

    from server.domain.estimation import OpenCounter, projected_wait
    from server.domain.model import Priority
    from server.domain.policy import Candidate, Profile, ServiceRule

    t0 = datetime(2026, 3, 2, 1, tzinfo=UTC)
    now = t0 + timedelta(hours=2)
    queue = [Candidate(i, "ABCDE"[i % 5], Priority.GREEN if i % 12 == 0 else Priority.NORMAL,
                       t0 + timedelta(seconds=7200 * i / waiting)) for i in range(waiting)]
    profiles = [("A", "B"), ("B", "A"), ("A", "B", "C"), ("C", "A"), ("D",), ("E", "A")]
    counters = [OpenCounter(Profile(n, p, green_only=n == 1)) for n, p in enumerate(profiles, 1)]
    rules = {code: ServiceRule(timedelta(minutes=30)) for code in "ABCDE"}
    rates = {(code, Priority.NORMAL): 0.01 for code in "ABCDE"}
    me = Candidate(10**9, "A", Priority.NORMAL, now)
    began = time.perf_counter()
    for _ in range(5):
        projected_wait(me, queue, counters, {"A": 240, "B": 300, "C": 600, "D": 900, "E": 900},
                       rules=rules, arrivals_per_s=rates, now=now)
    return (time.perf_counter() - began) / 5 * 1000


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
    figures["projection_ms"] = {n: round(projection_ms(n), 1) for n in (50, 200, 500)}
    print("one projected estimate: " + ", ".join(f"{n} waiting {ms} ms" for n, ms in figures["projection_ms"].items()))
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulate.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
