"""A branch survives its server process dying: a SIGKILLed ``branchq serve`` comes back with
the same queue, counters and tickets, and carries on calling and numbering where it stopped.

Runs a real ``branchq serve --demo`` subprocess on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy

import aiohttp
import pytest
from sqlalchemy import func, select

from server.store import tables as t
from server.store.engine import open_database
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow

B = "/api/v1/branches/demo"
KIOSK = {"Authorization": "Bearer demo-kiosk"}

# The kiosk issues a burst and the customer's phone reads every ticket twice within seconds;
# rate limits (in process memory, so a restart resets them anyway) are not what this tests.
NO_RATE_LIMITS = {"BRANCHQ_ISSUE_RATE_LIMIT": "1000/second", "BRANCHQ_PUBLIC_RATE_LIMIT": "1000/second"}

# (service, green reason or None), in the order the kiosk issues them.
TICKETS = [
    ("A", None), ("B", None), ("A", None), ("C", None), ("D", None),
    ("A", "elderly"), ("E", None), ("B", None), ("A", None), ("C", None), ("D", None),
]


async def ok(resp: aiohttp.ClientResponse, status: int = 200):
    body = await resp.text()
    assert resp.status == status, f"{resp.method} {resp.url} → {resp.status} {body}"
    return await resp.json()


async def signed_in(server: ServerProcess, username: str) -> aiohttp.ClientSession:
    session = server.session()
    await ok(await session.post("/api/v1/auth/login",
                                json={"username": username, "password": "demo-pass"}))
    return session


async def row_counts(url: str) -> dict[str, int]:
    db = open_database(url)
    try:
        async with db.read() as conn:
            counts = {}
            for table in (t.Branch, t.Staff, t.Device):
                query = select(func.count()).select_from(table)
                counts[table.__tablename__] = (await conn.execute(query)).scalar_one()
            return counts
    finally:
        await db.dispose()


def without_wall_clock(queue: dict) -> dict:
    """The queue without ``waited_s``.

    ``waited_s`` is "now − queued_at", so it grows with the wall clock between the two
    reads (and the restart takes seconds). ``queued_at`` and ``issued_at``, which it is
    computed from, are still compared exactly. Every other field must be identical (the
    public ``estimated_wait_s`` is compared by :func:`estimate_free`: it is a projection that
    counts how long each busy counter has served, so it moves with the clock too).
    """
    queue = copy.deepcopy(queue)
    for entry in queue["tickets"]:
        entry.pop("waited_s")
    return queue


def estimate_free(ticket: dict) -> dict:
    """A public ticket with its estimate reduced to whether there is one."""
    ticket = dict(ticket)
    ticket["estimated_wait_s"] = ticket["estimated_wait_s"] is not None
    return ticket


async def observe(manager, public, tokens: list[str]) -> dict:
    """Everything staff and customers can read about the branch's state."""
    return {
        "queue": without_wall_clock(await ok(await manager.get(f"{B}/queue"))),
        "queue_counter_3": without_wall_clock(await ok(await manager.get(f"{B}/queue?counter=3"))),
        "counters": {n: await ok(await manager.get(f"{B}/counters/{n}")) for n in range(1, 7)},
        "tickets": {t: estimate_free(await ok(await public.get(f"/api/v1/tickets/{t}"))) for t in tokens},
    }


async def test_a_killed_server_restarts_with_the_same_queue_counters_and_tickets_and_carries_on(
    db_url, tmp_path
):
    server = ServerProcess(db_url, tmp_path / "server", demo=True, env=NO_RATE_LIMITS)
    async with server:
        kiosk, public = server.session(), server.session()
        manager = await signed_in(server, "manager")
        teller2 = await signed_in(server, "teller2")
        teller3 = await signed_in(server, "teller3")
        sessions = [kiosk, public, manager, teller2, teller3]
        try:
            # --- a morning at the branch -------------------------------------------------
            issued = []
            for service, green in TICKETS:
                body = {"service": service}
                if green:
                    body |= {"priority": "green", "green_reason": green}
                issued.append(await ok(
                    await kiosk.post(f"{B}/tickets", json=body, headers=KIOSK), 201))
            numbers = [t["number"] for t in issued]
            assert numbers == ["A001", "B001", "A002", "C001", "D001", "G001", "E001",
                               "B002", "A003", "C002", "D002"]

            await ok(await teller2.post(f"{B}/counters/2/open"))
            await ok(await teller3.post(f"{B}/counters/3/open"))
            at_2 = (await ok(await teller2.post(f"{B}/counters/2/call-next")))["ticket"]
            at_3 = (await ok(await teller3.post(f"{B}/counters/3/call-next")))["ticket"]
            assert at_2["number"] == "G001"  # green channel first
            assert at_3["number"] == "A001"  # counter 3 takes A before B and C
            await ok(await teller2.post(f"{B}/counters/2/start"))
            await ok(await manager.post(f"{B}/counters/5/open"))
            await ok(await manager.post(f"{B}/counters/5/pause", json={"reason": "coffee"}))

            tokens = [t["token"] for t in issued]
            before = await observe(manager, public, tokens)
            assert before["counters"][2]["counter"]["current"]["state"] == "serving"
            assert before["counters"][3]["counter"]["current"]["state"] == "called"
            assert before["counters"][5]["counter"]["state"] == "paused"
            assert len(before["queue"]["tickets"]) == len(TICKETS) - 2

            # --- the process dies and comes back (seeding again must be skipped) ------------
            await server.kill()
            await server.start()
            assert "Traceback" not in server.output(), server.tail()

            # Same secret file: staff stay signed in across the restart.
            after = await observe(manager, public, tokens)
            assert after["queue"] == before["queue"]
            assert after["queue_counter_3"] == before["queue_counter_3"]
            for n in range(1, 7):
                assert after["counters"][n] == before["counters"][n], f"counter {n}"
            for token, number in zip(tokens, numbers, strict=True):
                assert after["tickets"][token] == before["tickets"][token], f"ticket {number}"

            # --- calling carries on with the next ticket in counter 3's order ---------------
            expected_next = before["queue_counter_3"]["tickets"][0]["number"]
            # The teller's page says which customer it is finishing (expect): the restart came
            # moments after the call, and a bare call-next then would be taken for a double press.
            result = await ok(await teller3.post(f"{B}/counters/3/call-next", json={"expect": at_3["id"]}))
            assert result["ticket"]["number"] == expected_next
            a001 = await ok(await public.get(f"/api/v1/tickets/{issued[0]['token']}"))
            assert a001["state"] == "done"  # call-next finished the one called before the kill
            await ok(await teller2.post(f"{B}/counters/2/finish"))
            assert (await ok(await public.get(f"/api/v1/tickets/{issued[5]['token']}")))["state"] == "done"

            # --- numbering carries on after the last number issued ---------------------------
            nxt = {}
            for service, green in [("A", None), ("B", None), ("A", "urgent"), ("E", None)]:
                body = {"service": service}
                if green:
                    body |= {"priority": "green", "green_reason": green}
                nxt[service if not green else "G"] = (await ok(
                    await kiosk.post(f"{B}/tickets", json=body, headers=KIOSK), 201))["number"]
            assert nxt == {"A": "A004", "B": "B003", "G": "G002", "E": "E002"}

            # --demo on a database that has the demo branch seeded nothing again.
            assert await row_counts(db_url) == {"branches": 1, "staff": 9, "devices": 3}
        finally:
            for s in sessions:
                await s.close()
