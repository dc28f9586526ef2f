"""The textbook c-server queue, to check the simulator against and to explain its figures.

:func:`fifo_waits` is the Kiefer–Wolfowitz recursion: with c identical servers taking
customers first come, first served, customer *n* waits until the earliest of the
servers' free times. Given the same arrival and service times, a correct simulator of
such a branch must produce exactly these waits; over a long stationary run with
Poisson arrivals and exponential service they average Erlang C's wait
(:func:`server.domain.staffing.evaluate`).

Why one simulated day does not match Erlang C by itself: a day starts with an empty
branch, and at high load the queue takes hours to reach its stationary state (the
relaxation time of M/M/c is about 1 / (cμ(1 − √ρ)²): some 11 hours at ρ = 0.85 with
three counters of 4 minutes), so the day's average is biased low; and the average of
one day of a few hundred customers spreads widely around the mean (a standard
deviation of 30–70 % of it at these loads, see :func:`day_spread`). A day measured at
119 s against Erlang C's 158 s is one such draw.
"""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Sequence


def fifo_waits(arrivals: Sequence[float], services: Sequence[float], servers: int) -> list[float]:
    """Each customer's wait in a first-come-first-served queue with ``servers`` identical servers.

    ``arrivals`` in order (seconds from any origin), ``services`` the matching service times.
    """
    free = [float("-inf")] * servers
    heapq.heapify(free)
    waits = []
    for at, service in zip(arrivals, services, strict=True):
        earliest = heapq.heappop(free)
        begin = max(at, earliest)
        waits.append(begin - at)
        heapq.heappush(free, begin + service)
    return waits


def mmc_mean_wait(rate_s: float, mean_service_s: float, servers: int, *, customers: int,
                  warm_up: int, seed: int) -> float:
    """Mean wait of an M/M/c queue over ``customers`` after ``warm_up`` customers (Poisson arrivals of
    ``rate_s`` per second, exponential service): the long stationary run Erlang C describes."""
    rng = random.Random(seed)
    t, arrivals, services = 0.0, [], []
    for _ in range(warm_up + customers):
        t += rng.expovariate(rate_s)
        arrivals.append(t)
        services.append(rng.expovariate(1 / mean_service_s))
    return statistics.fmean(fifo_waits(arrivals, services, servers)[warm_up:])


def day_spread(rate_s: float, mean_service_s: float, servers: int, *, day_s: float, days: int,
               seed: int) -> tuple[float, float]:
    """Mean and standard deviation of a day's average wait over ``days`` days that start empty."""
    rng = random.Random(seed)
    means = []
    for _ in range(days):
        t, arrivals, services = 0.0, [], []
        while True:
            t += rng.expovariate(rate_s)
            if t > day_s:
                break
            arrivals.append(t)
            services.append(rng.expovariate(1 / mean_service_s))
        if arrivals:
            means.append(statistics.fmean(fifo_waits(arrivals, services, servers)))
    return statistics.fmean(means), statistics.stdev(means)
