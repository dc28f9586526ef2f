"""How many counters an hour needs: the Erlang C model (M/M/N queue, no abandonment).

A branch hour is a call centre half-hour by another name: customers arrive at
random (λ per second), each takes ``aht`` seconds on average, N counters serve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a customer has to wait, for ``traffic`` erlangs and ``agents`` servers.

    Computed with the Erlang B recursion (numerically stable for hundreds of
    agents) and C = B / (1 − ρ(1 − B)). 1.0 when the servers cannot keep up.
    """
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    rho = traffic / agents
    return b / (1 - rho * (1 - b))


@dataclass(frozen=True, slots=True)
class Staffing:
    counters: int
    traffic: float
    """Offered load in erlangs: arrivals per second × average handling time."""
    p_wait: float
    service_level: float
    """Share served within the target wait."""
    asa_s: float
    """Average wait (average speed of answer)."""
    occupancy: float


def service_level(traffic: float, agents: int, *, aht_s: float, target_s: float) -> float:
    """Share of customers called within ``target_s``: 1 − C·e^(−(N−A)·t/AHT)."""
    if agents <= traffic:
        return 0.0
    return 1 - erlang_c(traffic, agents) * math.exp(-(agents - traffic) * target_s / aht_s)


def evaluate(arrivals: float, period_s: float, aht_s: float, agents: int, target_s: float) -> Staffing:
    """Erlang C figures for ``arrivals`` in ``period_s`` seconds served by ``agents``."""
    traffic = arrivals / period_s * aht_s
    p_wait = erlang_c(traffic, agents)
    stable = agents > traffic
    return Staffing(
        counters=agents,
        traffic=traffic,
        p_wait=p_wait,
        service_level=service_level(traffic, agents, aht_s=aht_s, target_s=target_s),
        asa_s=p_wait * aht_s / (agents - traffic) if stable else math.inf,
        occupancy=min(traffic / agents, 1.0) if agents else 1.0,
    )


def counters_needed(
    arrivals: float, period_s: float, aht_s: float, *, target_s: float, sla: float, limit: int = 500
) -> Staffing:
    """The fewest counters serving ``sla`` of customers within ``target_s`` (0 when nobody comes)."""
    if arrivals <= 0 or aht_s <= 0:
        return Staffing(0, 0.0, 0.0, 1.0, 0.0, 0.0)
    traffic = arrivals / period_s * aht_s
    agents = max(1, math.floor(traffic) + 1)
    while agents < limit:
        figures = evaluate(arrivals, period_s, aht_s, agents, target_s)
        if figures.service_level >= sla:
            return figures
        agents += 1
    return evaluate(arrivals, period_s, aht_s, limit, target_s)
