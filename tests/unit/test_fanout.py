"""Fanout: each branch's events exactly once, in seq order, gaps filled from the table."""

from __future__ import annotations

from server.bus.fanout import Fanout
from server.bus.pg import parse_doorbell
from server.client import backoff


def ev(seq: int) -> dict:
    return {"seq": seq, "kind": "ticket.called", "at": None, "data": {"number": f"A{seq:03d}"}}


class Table:
    """The ticket-events table, as far as the fanout can see it."""

    def __init__(self, up_to: int) -> None:
        self.events = [ev(s) for s in range(1, up_to + 1)]
        self.loads = 0

    async def load(self, _branch: str, after: int, up_to: int) -> list[dict]:
        self.loads += 1
        return [e for e in self.events if after < e["seq"] <= up_to]


def collecting(fanout: Fanout) -> list[int]:
    got: list[int] = []
    fanout.sinks.append(lambda _b, events: got.extend(e["seq"] for e in events))
    return got


async def test_own_events_in_order_are_delivered_without_reading_the_table():
    table = Table(3)
    fanout = Fanout(table.load)
    got = collecting(fanout)
    fanout.track("demo", 0)
    for s in (1, 2, 3):
        await fanout.offer("demo", [ev(s)])
    assert got == [1, 2, 3] and table.loads == 0


async def test_a_gap_is_filled_from_the_table_before_going_on():
    table = Table(5)
    fanout = Fanout(table.load)
    got = collecting(fanout)
    fanout.track("demo", 0)
    await fanout.offer("demo", [ev(1)])
    await fanout.offer("demo", [ev(4)])  # 2 and 3 came from another process, doorbell not yet heard
    assert got == [1, 2, 3, 4] and table.loads == 1


async def test_duplicate_and_late_doorbells_deliver_nothing_twice():
    table = Table(3)
    fanout = Fanout(table.load)
    got = collecting(fanout)
    fanout.track("demo", 0)
    await fanout.ring("demo", 3)
    await fanout.ring("demo", 2)
    await fanout.ring("demo", 3)
    await fanout.offer("demo", [ev(3)])
    assert got == [1, 2, 3]


async def test_branches_nobody_follows_are_ignored():
    table = Table(3)
    fanout = Fanout(table.load)
    got = collecting(fanout)
    await fanout.ring("demo", 3)
    assert got == [] and table.loads == 0


async def test_since_seq_is_answered_from_the_buffer_or_not_at_all():
    table = Table(10)
    fanout = Fanout(table.load)
    fanout.track("demo", 4)
    await fanout.ring("demo", 10)
    assert [e["seq"] for e in fanout.buffered_since("demo", 7)] == [8, 9, 10]
    assert fanout.buffered_since("demo", 10) == []
    assert fanout.buffered_since("demo", 2) is None, "older than the buffer: a snapshot instead"
    assert fanout.buffered_since("demo", 11) is None, "from the future: a snapshot instead"


def test_doorbell_payload_names_branch_and_seq():
    assert parse_doorbell("demo:42") == ("demo", 42)
    assert parse_doorbell("sh-pudong:7") == ("sh-pudong", 7)
    assert parse_doorbell("garbage") is None
    assert parse_doorbell(":5") is None


def test_reconnect_delays_grow_to_a_cap_with_jitter():
    fixed = list(zip(range(8), backoff(0.25, 2.0, 4.0, rng=lambda: 0.5), strict=False))
    assert [d for _, d in fixed] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    low = next(backoff(1.0, rng=lambda: 0.0))
    high = next(backoff(1.0, rng=lambda: 0.999))
    assert low == 0.5 and 1.49 < high < 1.5
