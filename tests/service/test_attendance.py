"""A double press of call-next, a teller signing out with a customer called, a teller gone.

The rules are :mod:`server.domain.attendance`'s (table tests in tests/unit/test_attendance.py);
here they are checked at the use cases: what changes, what the screens are told, and that a
refusal changes nothing.
"""

from __future__ import annotations

import pytest

from server.domain.attendance import JUST_CALLED_S
from server.protocol import BranchPatch
from server.services import admin, auth, counters, tickets
from server.services.snapshot import branch_snapshot
from server.web.hub import Hub

from .conftest import DEMO_PASSWORD, World

AFTER_S = 300


async def _signed_in(w: World, username: str = "teller3") -> tuple[str, object]:
    signed = await auth.login(w.app, username, DEMO_PASSWORD)
    actor = await auth.session_actor(w.app, signed.secret)
    assert actor is not None
    return signed.secret, actor


async def _counter(w: World, number: int = 3) -> dict:
    view = await counters.counter_view(w.app, await w.staff("manager"), "demo", number)
    return view.counter.model_dump(mode="json")


async def _events(w: World, after: int) -> list[dict]:
    from server.store import repository as repo

    async with w.app.db.read() as conn:
        up_to = (await repo.event_seqs(conn, ["demo"]))["demo"]
        return await repo.events_between(conn, "demo", after, up_to)


async def _seq(w: World) -> int:
    from server.store import repository as repo

    async with w.app.db.read() as conn:
        return (await repo.event_seqs(conn, ["demo"]))["demo"]


# --- just_called: a double press without expect ------------------------------------------


async def test_call_next_without_expect_moments_after_a_call_changes_nothing(world):
    first = await world.issue("A")
    await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    world.clock.advance(seconds=JUST_CALLED_S - 1)
    error = await world.refused("just_called", lambda: counters.call_next(world.app, teller, "demo", 3))
    assert error.details()["counter"]["current"]["id"] == first.id
    assert (await tickets.public_ticket(world.app, first.token)).state == "called"


async def test_call_next_without_expect_after_the_moment_finishes_and_calls_the_next(world):
    first, second = await world.issue("A"), await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    world.clock.advance(seconds=JUST_CALLED_S)
    assert (await counters.call_next(world.app, teller, "demo", 3)).ticket.id == second.id
    assert (await tickets.public_ticket(world.app, first.token)).state == "done"


async def test_call_next_without_expect_right_after_start_finishes_the_customer_being_served(world):
    await world.issue("A")
    second = await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    await counters.start(world.app, teller, "demo", 3)
    assert (await counters.call_next(world.app, teller, "demo", 3)).ticket.id == second.id


async def test_call_next_with_expect_is_judged_by_expect_even_moments_after_the_call(world):
    first, second = await world.issue("A"), await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3, expect=None)
    result = await counters.call_next(world.app, teller, "demo", 3, expect=first.id)
    assert result.ticket.id == second.id


# --- signing out with counters held -------------------------------------------------------


async def test_signing_out_with_a_customer_called_pauses_the_counter_and_puts_the_customer_first(world):
    called, later = await world.issue("A"), await world.issue("A")
    secret, teller = await _signed_in(world)
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    seq = await _seq(world)

    await auth.logout(world.app, secret)

    counter = await _counter(world)
    assert (counter["state"], counter["pause_code"], counter["pause_reason"]) == ("paused", "system", "signed out")
    assert counter["current"] is None
    assert (await tickets.public_ticket(world.app, called.token)).state == "waiting"
    kinds = [(e["kind"], e["data"].get("position")) for e in await _events(world, seq)]
    assert kinds == [("ticket.transferred", "first"), ("counter.paused", None)]
    # The board no longer shows the call; the dashboard sees why the counter paused.
    _seq_, board = await branch_snapshot(world.app, await world.device("display"), "demo", "display")
    assert next(c for c in board["counters"] if c["number"] == 3)["current"] is None
    _seq_, dash = await branch_snapshot(world.app, await world.staff("manager"), "demo", "dashboard")
    assert next(c for c in dash["counters"] if c["number"] == 3)["pause_code"] == "system"
    # The customer put back is called before the one behind them, at another counter.
    teller4 = await world.staff("teller4")
    await counters.open_counter(world.app, teller4, "demo", 4)
    assert (await counters.call_next(world.app, teller4, "demo", 4)).ticket.id == called.id
    assert later.id != called.id


async def test_signing_out_keeps_a_customer_being_served_and_pauses_the_counter(world):
    ticket = await world.issue("A")
    secret, teller = await _signed_in(world)
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    await counters.start(world.app, teller, "demo", 3)
    await auth.logout(world.app, secret)
    counter = await _counter(world)
    assert (counter["state"], counter["pause_code"]) == ("paused", "system")
    assert counter["current"]["id"] == ticket.id and counter["current"]["state"] == "serving"


async def test_signing_out_of_one_browser_while_signed_in_on_another_leaves_the_counter_alone(world):
    await world.issue("A")
    secret, teller = await _signed_in(world)
    await _signed_in(world)  # the same teller, on a second browser
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    before = await _counter(world)
    await auth.logout(world.app, secret)
    assert await _counter(world) == before


# --- a teller gone: no session seen for a while ------------------------------------------


async def _called_by_gone_teller(w: World) -> tuple[object, object]:
    ticket = await w.issue("A")
    _secret, teller = await _signed_in(w)
    await counters.open_counter(w.app, teller, "demo", 3)
    await counters.call_next(w.app, teller, "demo", 3)
    return ticket, teller


async def test_a_counter_whose_teller_is_gone_is_paused_and_the_called_customer_put_back(world):
    ticket, _teller = await _called_by_gone_teller(world)
    world.clock.advance(seconds=AFTER_S - 1)
    assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == []
    world.clock.advance(seconds=1)
    assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == [("demo", 3)]
    counter = await _counter(world)
    assert (counter["state"], counter["pause_code"], counter["current"]) == ("paused", "system", None)
    assert (await tickets.public_ticket(world.app, ticket.token)).state == "waiting"
    # Once left, the next checks change nothing.
    seq = await _seq(world)
    world.clock.advance(seconds=AFTER_S * 3)
    assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == []
    assert await _seq(world) == seq


async def test_a_teller_paused_for_a_meal_and_gone_is_paused_by_the_system(world):
    _secret, teller = await _signed_in(world)
    await counters.open_counter(world.app, teller, "demo", 3)
    from server.protocol import PauseCounter

    await counters.pause_counter(world.app, teller, "demo", 3, PauseCounter(code="meal"))
    world.clock.advance(seconds=AFTER_S)
    assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == [("demo", 3)]
    assert (await _counter(world))["pause_code"] == "system"


async def test_a_teller_who_keeps_working_is_never_taken_for_gone(world):
    await world.issue("A")
    secret, teller = await _signed_in(world)
    await counters.open_counter(world.app, teller, "demo", 3)
    for _minute in range(10):
        world.clock.advance(seconds=61)
        assert await auth.session_actor(world.app, secret) is not None  # a request, seen
        assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == []
    assert (await _counter(world))["state"] == "open"


class FakeConn:
    """What Hub.revalidate reads of a socket: its credential, its actor, whether it closed."""

    def __init__(self, sid: str, actor: object) -> None:
        self.branch_id, self.credential, self.actor, self.closed = "demo", ("session", sid), actor, False
        self.role = "counter"

    def drop(self, code: int, reason: str) -> None:
        self.closed = True


async def test_an_open_staff_socket_counts_as_seen_through_the_hubs_sweep(world):
    # A teller who only watches the page (no request, no command) for ten minutes is not gone:
    # the hub's 60 s sweep checks the socket's session, which marks it seen once a minute.
    ticket = await world.issue("A")
    secret, teller = await _signed_in(world)
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    hub = Hub()
    hub.add(FakeConn(auth.session_id(secret), teller))  # type: ignore[arg-type]
    for _sweep in range(10):
        world.clock.advance(seconds=60.5)
        assert await hub.revalidate(lambda credential: auth.actor_now(world.app, credential)) == 0
        assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == []
    assert (await tickets.public_ticket(world.app, ticket.token)).state == "called"
    # Without the socket, the same ten minutes make the counter abandoned.
    hub.by_branch.clear()
    world.clock.advance(seconds=AFTER_S)
    assert await counters.pause_abandoned(world.app, after_s=AFTER_S) == [("demo", 3)]



# --- just_called: the window is the branch's ---------------------------------------------


async def _set_just_called(w: World, seconds: int) -> None:
    await admin.update_branch(w.app, await w.staff("admin"), "demo", BranchPatch(just_called_s=seconds))


async def test_the_just_called_window_is_three_seconds_unless_the_branch_says_otherwise(world):
    detail = await admin.branch_detail(world.app, await world.staff("admin"), "demo")
    assert detail["just_called_s"] == JUST_CALLED_S == 3


async def test_a_branch_with_a_longer_just_called_window_refuses_a_second_press_later_in_it(world):
    await _set_just_called(world, 8)
    first = await world.issue("A")
    await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    world.clock.advance(seconds=JUST_CALLED_S + 2)  # past the default window, inside the branch's
    await world.refused("just_called", lambda: counters.call_next(world.app, teller, "demo", 3))
    world.clock.advance(seconds=3)
    await counters.call_next(world.app, teller, "demo", 3)
    assert (await tickets.public_ticket(world.app, first.token)).state == "done"


async def test_a_branch_with_a_shorter_just_called_window_takes_the_next_press_sooner(world):
    await _set_just_called(world, 1)
    first = await world.issue("A")
    second = await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    world.clock.advance(seconds=1)
    assert (await counters.call_next(world.app, teller, "demo", 3)).ticket.id == second.id
    assert (await tickets.public_ticket(world.app, first.token)).state == "done"


@pytest.mark.parametrize("seconds", [0, -1, 31, 3600])
async def test_a_just_called_window_outside_one_to_thirty_seconds_is_refused(world, seconds):
    error = await world.refused("invalid_config", lambda: _set_just_called(world, seconds))
    assert "just_called_s" in error.message
