"""Call-next reads only the heads of the queues; it must choose exactly as if it read them all."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert

from server.domain.model import Priority
from server.domain.policy import Policy, choose
from server.store import repository as repo
from server.store import tables as t


@pytest.mark.parametrize("seed", range(12))
async def test_choice_from_queue_heads_equals_choice_from_the_whole_queue(demo, seed):
    rng = random.Random(seed)
    app = demo.services
    now = demo.clock()
    async with app.db.write() as conn:
        branch = await repo.load_branch(conn, "demo")
        config = await repo.load_config(conn, branch)
        counters = list(config.counters.values())
        rows = []
        for i in range(rng.randint(0, 120)):
            service = rng.choice(list(config.services.values()))
            green = rng.random() < 0.2
            issued = now - timedelta(seconds=rng.randint(0, 5000))
            target = rng.choice(counters).id if rng.random() < 0.1 else None
            rows.append({
                "branch_id": "demo", "business_date": branch.business_date, "service_id": service.id,
                "series": "G" if green else service.code, "sequence": i + 1, "number": f"X{i:04d}",
                "priority": "green" if green else "normal", "state": "waiting", "token": f"tok{seed}x{i:05d}",
                "issued_at": issued, "queued_at": issued + timedelta(seconds=rng.choice([0, 0, 60])),
                "head": rng.random() < 0.05, "target_counter_id": target, "issued_hour": 9,
            })
        if rows:
            await conn.execute(insert(t.Ticket.__table__), rows)
    async with app.db.read() as conn:
        everything = await repo.waiting_tickets(conn, "demo")
        for counter in counters:
            ids = [config.services[c].id for c in counter.services]
            heads = await repo.call_candidates(conn, "demo", service_ids=ids, counter_id=counter.id)
            policy = Policy(counter.profile(), config.rules())
            for recent in ([], [Priority.GREEN], [Priority.NORMAL, Priority.NORMAL]):
                full = choose([repo.to_candidate(r, config) for r in everything], policy, recent=recent, now=now)
                fast = choose([repo.to_candidate(r, config) for r in heads], policy, recent=recent, now=now)
                assert (fast and fast.id) == (full and full.id), f"counter {counter.number}"
