"""Reprints: who may ask for a copy of a ticket, how often, and which kiosk prints it.

The rules are :mod:`server.services.reprints`'s: a waiting or called ticket only, at most
``MAX_REPRINTS`` copies, by default at the kiosk that issued it; a kiosk asks only for its
own tickets on its own printer; each request is audited and heard by that kiosk alone.
"""

from __future__ import annotations

import pytest

from server.protocol import IssueTicket, Reprint
from server.services import counters, devices, reprints, tickets
from server.services.reprints import MAX_REPRINTS
from server.store import repository as repo

from .conftest import World


async def _jobs(w: World, after: int = 0):
    return await devices.print_jobs(w.app, await w.device("kiosk"), after_id=after)


async def test_a_lobby_reprint_goes_to_the_kiosk_that_issued_the_ticket_marked_with_its_time(world: World):
    issued = await world.issue("A")
    kiosk = await world.device("kiosk")
    answer = await reprints.reprint_ticket(world.app, await world.staff("manager"), "demo", issued.id, Reprint())
    assert answer.kiosk == kiosk.id and answer.reprints == 1 and answer.number == issued.number
    [job] = await _jobs(world)
    assert job.id == issued.id and job.job == answer.job and job.reprinted_at == world.clock()
    assert job.number == issued.number and job.token == issued.token
    assert await _jobs(world, after=answer.job) == []


async def test_the_issuing_kiosk_itself_may_ask_for_a_copy_after_a_failed_print(world: World):
    issued = await world.issue("B")
    answer = await reprints.reprint_ticket(world.app, await world.device("kiosk"), "demo", issued.id, Reprint())
    assert answer.reprints == 1
    assert [j.job for j in await _jobs(world)] == [answer.job]


async def test_a_reprint_is_refused_after_the_limit(world: World):
    issued = await world.issue("A")
    manager = await world.staff("manager")
    for n in range(1, MAX_REPRINTS + 1):
        assert (await reprints.reprint_ticket(world.app, manager, "demo", issued.id, Reprint())).reprints == n
    await world.refused("reprint_limit",
                        lambda: reprints.reprint_ticket(world.app, manager, "demo", issued.id, Reprint()))


@pytest.mark.parametrize("how", ["finished", "cancelled", "no_show"])
async def test_only_a_waiting_or_called_ticket_is_reprinted(world: World, how: str):
    issued = await world.issue("A")
    teller = await world.staff("teller3")
    if how == "cancelled":
        await tickets.cancel_ticket(world.app, issued.token)
    else:
        await counters.open_counter(world.app, teller, "demo", 3)
        await counters.call_next(world.app, teller, "demo", 3)
        await (counters.finish if how == "finished" else counters.no_show)(world.app, teller, "demo", 3)
    manager = await world.staff("manager")
    await world.refused("not_reprintable",
                        lambda: reprints.reprint_ticket(world.app, manager, "demo", issued.id, Reprint()))


async def test_a_called_ticket_is_reprinted(world: World):
    issued = await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    assert (await reprints.reprint_ticket(world.app, await world.staff("manager"), "demo",
                                          issued.id, Reprint())).reprints == 1


async def test_a_ticket_staff_issued_needs_a_kiosk_chosen(world: World):
    manager = await world.staff("manager")
    issued = await tickets.issue_ticket(world.app, manager, "demo", IssueTicket(service="A"))
    await world.refused("no_kiosk", lambda: reprints.reprint_ticket(world.app, manager, "demo", issued.id, Reprint()))
    kiosk = await world.device("kiosk")
    answer = await reprints.reprint_ticket(world.app, manager, "demo", issued.id, Reprint(kiosk=kiosk.id))
    assert answer.kiosk == kiosk.id


async def test_a_reprint_is_refused_at_a_device_that_is_not_a_kiosk_of_the_branch(world: World):
    issued = await world.issue("A")
    manager = await world.staff("manager")
    display = await world.device("display")
    for wrong in (display.id, 99999):
        await world.refused("no_such_kiosk", lambda k=wrong: reprints.reprint_ticket(
            world.app, manager, "demo", issued.id, Reprint(kiosk=k)))


async def test_a_kiosk_may_not_reprint_a_ticket_it_did_not_issue(world: World):
    manager = await world.staff("manager")
    issued = await tickets.issue_ticket(world.app, manager, "demo", IssueTicket(service="A"))
    kiosk = await world.device("kiosk")
    await world.refused("not_this_kiosk",
                        lambda: reprints.reprint_ticket(world.app, kiosk, "demo", issued.id, Reprint()))


async def test_tellers_and_devices_other_than_kiosks_may_not_reprint(world: World):
    issued = await world.issue("A")
    for who in (await world.staff("teller3"), await world.device("display"), await world.device("evaluator")):
        await world.refused("forbidden",
                            lambda w=who: reprints.reprint_ticket(world.app, w, "demo", issued.id, Reprint()))


async def test_a_reprint_is_audited_and_heard_by_its_kiosk_only(world: World):
    from server.domain.events import kind_named, project

    issued = await world.issue("A")
    async with world.app.db.read() as conn:
        before = (await repo.event_seqs(conn, ["demo"]))["demo"]
    answer = await reprints.reprint_ticket(world.app, await world.staff("manager"), "demo", issued.id, Reprint())
    async with world.app.db.read() as conn:
        up_to = (await repo.event_seqs(conn, ["demo"]))["demo"]
        [event] = await repo.events_between(conn, "demo", before, up_to)
        [audit] = await repo.audit_entries(conn, "demo", limit=1, before_id=None)
    assert event["kind"] == "ticket.reprint_requested" and event["data"]["job"] == answer.job
    kind = kind_named(event["kind"])
    assert project(kind, event["data"], "kiosk", own=True) == event["data"]
    assert project(kind, event["data"], "kiosk", own=False) is None
    assert project(kind, event["data"], "display") is None
    assert audit.action == "ticket.reprint" and audit.actor == "manager"
    assert audit.after["reprints"] == 1 and audit.after["job"] == answer.job
