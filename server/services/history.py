"""Weeks of realistic past days for a branch, so reports and the dashboard are not empty.

A small simulation, not random numbers: customers arrive by a bank's daily curve
(peaks late morning and mid-afternoon, Mondays and Fridays busier, Saturdays
quiet, Sundays closed), each goes to the counter of its service that frees up
first (green channel ahead of the others), and service times spread around each
service's target. Some miss their call, some give up, four in ten rate the service.
"""

from __future__ import annotations

import heapq
import math
import random
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.errors import Conflict
from server.domain.events import COUNTER_CLOSED, COUNTER_OPENED
from server.domain.numbering import format_number, series_for
from server.store import accounts
from server.store import history as past
from server.store.repository import CounterConf, ServiceConf

from .context import Services

#: Share of a day's arrivals in each opening hour (09:00–17:00).
HOURLY = {9: 0.09, 10: 0.15, 11: 0.16, 12: 0.10, 13: 0.10, 14: 0.15, 15: 0.14, 16: 0.11}
WEEKDAY_FACTOR = {0: 1.25, 1: 1.0, 2: 0.95, 3: 1.0, 4: 1.2, 5: 0.6}  # Sunday closed
SERVICE_MIX = {"A": 0.45, "B": 0.25, "C": 0.12, "D": 0.10, "E": 0.08}
GREEN_SHARE, NO_SHOW_SHARE, CANCEL_SHARE, RATING_SHARE = 0.08, 0.04, 0.02, 0.4
CHUNK = 5000


async def generate_history(
    app: Services, branch_id: str, *, weeks: int = 4, daily_volume: int = 300, seed: int = 7,
    with_events: bool = True,
) -> int:
    """Fill the ``weeks`` weeks before today with past days; returns the number of tickets.

    Refused when the branch already has tickets (history goes before them); events it
    has already (the demo's complaint cases) keep their numbers and the past days' follow.
    Everything is written in one unit of work: the whole history, or none of it.
    """
    rng = random.Random(seed)
    async with app.unit_of_work(branch_id) as uow:
        branch, config, conn = uow.branch, uow.config, uow.conn
        assert branch is not None and config is not None
        if await past.has_tickets(conn, branch_id):
            raise Conflict("history can only be added to a branch with no activity yet", code="not_empty")
        tz = ZoneInfo(branch.timezone)
        today = uow.now.astimezone(tz).date()
        counters = list(config.counters.values())
        services = config.services
        mix = {c: w for c, w in SERVICE_MIX.items() if c in services} or {c: 1.0 for c in services}
        staff = _tellers(await accounts.teller_counters(conn, branch_id))
        seq = branch.event_seq
        tickets: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        feedback: list[tuple[int, dict[str, Any]]] = []
        total = 0
        for offset in range(7 * weeks, 0, -1):
            day = today - timedelta(days=offset)
            if day.weekday() not in WEEKDAY_FACTOR:
                continue
            day_tickets, day_events = _simulate_day(
                rng, day, tz, counters, services, mix, staff,
                volume=round(daily_volume * WEEKDAY_FACTOR[day.weekday()]),
            )
            for ticket in day_tickets:
                rating = ticket.pop("_rating")
                tickets.append({**ticket, "branch_id": branch_id, "token": secrets.token_urlsafe(16)})
                if rating is not None:
                    feedback.append((len(tickets) - 1, rating))
            if with_events:
                for event in day_events:
                    seq += 1
                    events.append({**event, "branch_id": branch_id, "seq": seq})
            if len(tickets) >= CHUNK:
                total += await _flush(conn, branch_id, tickets, feedback)
        total += await _flush(conn, branch_id, tickets, feedback)
        await past.insert_events(conn, branch_id, events)
    return total


def _tellers(rows: Iterable[tuple[int, list[int] | None]]) -> dict[int, int | None]:
    """Counter number → a teller who works there (for the scorecard), if any."""
    out: dict[int, int | None] = {}
    for staff_id, numbers in rows:
        for n in numbers or []:
            out.setdefault(n, staff_id)
    return out


async def _flush(
    conn: Any, branch_id: str, tickets: list[dict[str, Any]], feedback: list[tuple[int, dict[str, Any]]]
) -> int:
    """Write the tickets kept so far and their ratings; empties both lists."""
    if not tickets:
        return 0
    ids = await past.insert_tickets(conn, tickets)
    await past.insert_feedback(conn, [
        {**rating, "ticket_id": ids[i], "branch_id": branch_id,
         "counter_id": tickets[i]["counter_id"], "staff_id": tickets[i]["staff_id"]}
        for i, rating in feedback
    ])
    n = len(tickets)
    tickets.clear()
    feedback.clear()
    return n


def _simulate_day(
    rng: random.Random, day: date, tz: ZoneInfo, counters: list[CounterConf], services: dict[str, ServiceConf],
    mix: dict[str, float], staff: dict[int, int | None], *, volume: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    opening = datetime.combine(day, time(9, 0), tz)
    closing = datetime.combine(day, time(17, 0), tz)
    arrivals = []
    for hour, share in HOURLY.items():
        for _ in range(_poisson(rng, volume * share)):
            at = datetime.combine(day, time(hour, 0), tz) + timedelta(seconds=rng.uniform(0, 3600))
            code = rng.choices(list(mix), weights=list(mix.values()))[0]
            green = rng.random() < GREEN_SHARE
            arrivals.append((at, code, green))
    arrivals.sort()
    open_counters = [c for c in counters if rng.random() < 0.9] or counters[:1]
    events: list[dict[str, Any]] = [
        {"kind": COUNTER_OPENED.name, "at": opening.astimezone(UTC), "counter_id": c.id,
         "staff_id": staff.get(c.number), "ticket_id": None, "data": {"counter": c.number, "state": "open"}}
        for c in open_counters
    ]
    numbered = []
    sequences: dict[str, int] = {}
    for at, code, green in arrivals:
        series = series_for(code, "green" if green else "normal")
        sequences[series] = sequences.get(series, 0) + 1
        numbered.append((at, code, green, series, sequences[series]))
    outcome: dict[int, tuple[CounterConf, datetime, float]] = {}  # arrival index → (counter, called, served_s)
    last_call = closing + timedelta(hours=1)
    free = [(opening, c.number) for c in open_counters]
    heapq.heapify(free)
    by_number = {c.number: c for c in open_counters}
    waiting: list[int] = []
    nxt = 0
    while free:
        now, number = heapq.heappop(free)
        if now >= last_call:
            continue
        while nxt < len(numbered) and numbered[nxt][0] <= now:
            waiting.append(nxt)
            nxt += 1
        counter = by_number[number]
        eligible = [i for i in waiting if numbered[i][1] in counter.services]
        if not eligible:
            if nxt < len(numbered):
                heapq.heappush(free, (numbered[nxt][0], number))
            continue
        # The policy's default: green channel first, then the longest waiting.
        pick = min(eligible, key=lambda i: (not numbered[i][2], numbered[i][0]))
        waiting.remove(pick)
        served_s = _service_seconds(rng, services[numbered[pick][1]])
        outcome[pick] = (counter, now, served_s)
        heapq.heappush(free, (now + timedelta(seconds=served_s), number))
    tickets = []
    for i, (at, code, green, series, sequence) in enumerate(numbered):
        service = services[code]
        ticket = {
            "business_date": day, "service_id": service.id, "series": series,
            "sequence": sequence, "number": format_number(series, sequence),
            "priority": "green" if green else "normal",
            "green_reason": rng.choice(["elderly", "disabled", "pregnant", "urgent"]) if green else None,
            "issued_at": at.astimezone(UTC), "queued_at": at.astimezone(UTC), "head": False,
            "issued_hour": at.hour, "device_id": None, "target_counter_id": None,
            "target_wait_s": service.target_wait_s,
            "ahead_at_issue": 0, "recalls": 0, "transfers": 0, "_rating": None,
        }
        roll = rng.random()
        if i not in outcome or roll < CANCEL_SHARE:
            state = "expired" if i not in outcome else "cancelled"
            gave_up = at + timedelta(minutes=rng.uniform(2, 20))
            ticket |= {"state": state, "counter_id": None, "staff_id": None, "called_at": None,
                       "first_called_at": None, "started_at": None, "wait_s": None, "service_s": None,
                       "estimated_wait_s": round(rng.uniform(300, 1800)),
                       "finished_at": (last_call if state == "expired" else gave_up).astimezone(UTC)}
            tickets.append(ticket)
            continue
        counter, called, served_s = outcome[i]
        wait = (called - at).total_seconds()
        state = "no_show" if roll < CANCEL_SHARE + NO_SHOW_SHARE else "done"
        finished = called + timedelta(seconds=served_s)
        ticket |= {
            "state": state, "counter_id": counter.id, "staff_id": staff.get(counter.number),
            "called_at": called.astimezone(UTC), "first_called_at": called.astimezone(UTC),
            "started_at": (called + timedelta(seconds=30)).astimezone(UTC) if state == "done" else None,
            "finished_at": finished.astimezone(UTC), "wait_s": round(wait),
            "service_s": round(served_s) if state == "done" else None,
            "estimated_wait_s": max(0, round(wait * rng.uniform(0.6, 1.4))),
        }
        if state == "done" and rng.random() < RATING_SHARE:
            score = rng.choices([5, 4, 3, 2, 1], weights=[55, 28, 10, 5, 2])[0]
            ticket["_rating"] = {"score": score, "tags": [], "comment": "", "at": ticket["finished_at"]}
        tickets.append(ticket)
    busy_until = {n: opening for n in by_number}
    for counter, called, served_s in outcome.values():
        busy_until[counter.number] = max(busy_until[counter.number], called + timedelta(seconds=served_s))
    for c in open_counters:
        events.append({"kind": COUNTER_CLOSED.name, "at": max(closing, busy_until[c.number]).astimezone(UTC),
                       "counter_id": c.id, "staff_id": staff.get(c.number), "ticket_id": None,
                       "data": {"counter": c.number, "state": "closed"}})
    events.sort(key=lambda e: e["at"])
    return tickets, events


def _service_seconds(rng: random.Random, service: ServiceConf) -> float:
    """Spread around the service's target time (log-normal: a few take much longer)."""
    return rng.lognormvariate(math.log(service.target_service_s), 0.45)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


