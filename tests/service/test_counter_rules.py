"""The rules of the counter and the ticket lifecycle, at the use cases themselves.

Each refusal is checked as ``World.refused`` does: the error's code, and not one byte of
the database changed. (These cases were HTTP tests on two databases; the HTTP contract —
status per error class, the error body — stays in tests/integration/test_bad_input.py.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from server.protocol import CallTicket, FeedbackIn, PauseCounter, Requeue, Transfer
from server.services import auth, counters, tickets

from .conftest import World

Setup = Callable[[World], Awaitable[None]]


async def nothing(w: World) -> None:
    pass


async def waiting_a(w: World) -> None:
    w.ctx["ticket"] = await w.issue("A")


async def waiting_d(w: World) -> None:
    w.ctx["ticket"] = await w.issue("D")


async def counter3_open(w: World) -> None:
    await counters.open_counter(w.app, await w.staff("teller3"), "demo", 3)


async def counter3_paused(w: World) -> None:
    await counter3_open(w)
    await counters.pause_counter(w.app, await w.staff("teller3"), "demo", 3, PauseCounter(reason="lunch"))


async def called_at_3(w: World) -> None:
    w.ctx["ticket"] = await w.issue("A")
    await counter3_open(w)
    called = await counters.call_next(w.app, await w.staff("teller3"), "demo", 3)
    assert called.ticket is not None and called.ticket.id == w.ctx["ticket"].id


async def serving_at_3(w: World) -> None:
    await called_at_3(w)
    await counters.start(w.app, await w.staff("teller3"), "demo", 3)


async def served_at_3(w: World) -> None:
    await called_at_3(w)
    await counters.finish(w.app, await w.staff("teller3"), "demo", 3)


async def rated(w: World) -> None:
    await served_at_3(w)
    await tickets.give_feedback(w.app, w.ctx["ticket"].token, FeedbackIn(score=4))


async def cancelled(w: World) -> None:
    await waiting_a(w)
    await tickets.cancel_ticket(w.app, w.ctx["ticket"].token)


async def no_show_at_3(w: World) -> None:
    await called_at_3(w)
    await counters.no_show(w.app, await w.staff("teller3"), "demo", 3)


def at_counter(step: str, *args):
    """The counter use case ``step`` as ``f(world, actor, number)``."""
    use_case = {
        "open": counters.open_counter, "close": counters.close_counter, "pause": counters.pause_counter,
        "call-next": counters.call_next, "call": counters.call_ticket, "recall": counters.recall,
        "start": counters.start, "finish": counters.finish, "no-show": counters.no_show,
        "transfer": counters.transfer,
    }[step]
    return lambda w, actor, number: use_case(w.app, actor, "demo", number, *args)


# --- not allowed from the current state --------------------------------------------------


@pytest.mark.parametrize(
    "step", [at_counter("finish"), at_counter("recall"), at_counter("start"), at_counter("no-show"),
             at_counter("transfer", Transfer(service="B"))],
    ids=["finish", "recall", "start", "no-show", "transfer"],
)
async def test_a_ticket_action_needs_a_called_ticket(world, step):
    await waiting_a(world)  # someone waits, but nobody has been called
    await counter3_open(world)
    teller = await world.staff("teller3")
    await world.refused("no_current_ticket", lambda: step(world, teller, 3))


@pytest.mark.parametrize(
    "setup,step,code,says",
    [
        pytest.param(nothing, at_counter("call-next"), "counter_closed", "closed: open it first",
                     id="call-next-at-closed"),
        pytest.param(counter3_paused, at_counter("call-next"), "counter_paused", "paused: resume it first",
                     id="call-next-at-paused"),
        pytest.param(nothing, at_counter("call", CallTicket(ticket="A001")), "counter_closed",
                     "closed: open it first", id="call-at-closed"),
        pytest.param(counter3_paused, at_counter("call", CallTicket(ticket="A001")), "counter_paused",
                     "paused: resume it first", id="call-at-paused"),
    ],
)
async def test_calling_needs_an_open_counter_and_the_refusal_says_what_to_do(world, setup, step, code, says):
    await waiting_a(world)
    await setup(world)
    teller = await world.staff("teller3")
    error = await world.refused(code, lambda: step(world, teller, 3))
    assert error.message == f"counter 3 is {says}"


@pytest.mark.parametrize(
    "setup,who,step,code,says",
    [
        pytest.param(nothing, "manager", at_counter("pause"), "counter_closed", "closed: open it first",
                     id="pause-a-closed-counter"),
        pytest.param(counter3_paused, "teller3", at_counter("pause"), "counter_paused",
                     "paused: it is paused already; resume it to go on", id="pause-a-paused-counter"),
        pytest.param(nothing, "manager", at_counter("close"), "counter_closed", "closed: it is closed already",
                     id="close-a-closed-counter"),
        pytest.param(counter3_open, "teller3", at_counter("open"), "counter_already_open",
                     "open: it is open already", id="open-an-open-counter"),
    ],
)
async def test_a_counter_moves_only_along_its_lifecycle_and_the_refusal_names_its_state(
    world, setup, who, step, code, says
):
    await setup(world)
    actor = await world.staff(who)
    error = await world.refused(code, lambda: step(world, actor, 3))
    assert error.message == f"counter 3 is {says}"


@pytest.mark.parametrize("setup", [called_at_3, serving_at_3])
async def test_a_counter_with_a_customer_at_it_cannot_close(world, setup):
    await setup(world)
    teller = await world.staff("teller3")
    await world.refused("counter_busy", lambda: counters.close_counter(world.app, teller, "demo", 3))


@pytest.mark.parametrize("setup", [called_at_3, serving_at_3, served_at_3, cancelled, no_show_at_3])
async def test_only_a_waiting_ticket_can_be_cancelled(world, setup):
    await setup(world)
    await world.refused("invalid_transition", lambda: tickets.cancel_ticket(world.app, world.ctx["ticket"].token))


@pytest.mark.parametrize(
    "setup,code",
    [
        pytest.param(waiting_a, "not_served", id="waiting"),
        pytest.param(called_at_3, "not_served", id="called"),
        pytest.param(cancelled, "not_served", id="cancelled"),
        pytest.param(rated, "already_rated", id="second-rating"),
    ],
)
async def test_a_ticket_is_rated_once_and_only_after_service(world, setup, code):
    await setup(world)
    body = FeedbackIn(score=1, comment="changed my mind")
    await world.refused(code, lambda: tickets.give_feedback(world.app, world.ctx["ticket"].token, body))


async def test_a_ticket_already_called_cannot_be_called_again(world):
    await called_at_3(world)
    teller4 = await world.staff("teller4")
    await counters.open_counter(world.app, teller4, "demo", 4)
    await world.refused("invalid_transition", lambda: counters.call_ticket(
        world.app, teller4, "demo", 4, CallTicket(ticket=world.ctx["ticket"].id)))


async def test_a_counter_calls_only_tickets_of_its_services(world):
    await waiting_d(world)
    await counter3_open(world)  # counter 3 takes A, B, C; not D
    teller = await world.staff("teller3")
    await world.refused("not_served_here", lambda: counters.call_ticket(
        world.app, teller, "demo", 3, CallTicket(ticket=world.ctx["ticket"].id)))


@pytest.mark.parametrize("setup", [waiting_a, called_at_3, served_at_3])
async def test_only_a_no_show_can_be_requeued(world, setup):
    await setup(world)
    teller = await world.staff("teller3")
    await world.refused("invalid_transition", lambda: tickets.requeue_ticket(
        world.app, teller, "demo", world.ctx["ticket"].id, Requeue()))


# --- who may act at a counter ----------------------------------------------------------------


async def test_a_teller_opens_only_a_counter_they_work_at(world):
    teller1 = await world.staff("teller1")
    await world.refused("not_your_counter", lambda: counters.open_counter(world.app, teller1, "demo", 3))


async def _teller2_serving_at_2(w: World) -> None:
    w.ctx["ticket"] = await w.issue("B")
    teller2 = await w.staff("teller2")
    await counters.open_counter(w.app, teller2, "demo", 2)
    await counters.call_next(w.app, teller2, "demo", 2)
    w.ctx["waiting"] = await w.issue("A")


@pytest.mark.parametrize(
    "step",
    ["call-next", "recall", "start", "finish", "no-show", "transfer", "pause", "close", "call", "open"],
)
async def test_a_teller_acts_only_at_the_counter_they_opened(world, step):
    await _teller2_serving_at_2(world)
    args = {"transfer": (Transfer(service="A"),), "call": (CallTicket(ticket=world.ctx["waiting"].id),)}
    act = at_counter(step, *args.get(step, ()))
    teller3 = await world.staff("teller3")
    code = "not_your_counter" if step == "open" else "forbidden"
    await world.refused(code, lambda: act(world, teller3, 2))


async def test_a_teller_cannot_open_another_tellers_counter_even_while_held(world):
    # teller2 does not work at counter 3: that is checked before who holds it, so forbidden, not held.
    await counter3_open(world)
    teller2 = await world.staff("teller2")
    await world.refused("not_your_counter", lambda: counters.open_counter(world.app, teller2, "demo", 3))


async def test_a_counter_held_by_one_teller_cannot_be_opened_by_another(world):
    # A teller who works at counter 3 too may open it, but not while a colleague holds it.
    await auth.add_staff(world.app, username="floater", password="demo-pass", role="teller",
                         branch_id="demo", counters=[3])
    await counter3_open(world)
    floater = await world.staff("floater")
    error = await world.refused("counter_held", lambda: counters.open_counter(world.app, floater, "demo", 3))
    assert "teller3" in error.message


# --- what the rules let through --------------------------------------------------------------


async def test_a_ticket_goes_from_issue_through_call_start_finish_to_its_rating(world):
    ticket = await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    called = await counters.call_next(world.app, teller, "demo", 3)
    assert called.ticket.number == ticket.number == "A001" and called.ticket.state == "called"
    assert (await counters.start(world.app, teller, "demo", 3)).ticket.state == "serving"
    done = await counters.finish(world.app, teller, "demo", 3)
    assert done.ticket.state == "done" and done.counter.current is None
    rating = await tickets.give_feedback(world.app, ticket.token, FeedbackIn(score=5))
    assert rating.score == 5


async def test_call_next_finishes_the_current_customer_first_in_the_same_unit_of_work(world):
    first, second = await world.issue("A"), await world.issue("A")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    await counters.call_next(world.app, teller, "demo", 3)
    world.clock.advance(seconds=60)  # the customer came and was served: not a double press
    result = await counters.call_next(world.app, teller, "demo", 3)
    assert result.ticket.id == second.id
    assert (await tickets.public_ticket(world.app, first.token)).state == "done"


async def test_green_channel_ticket_is_called_before_an_older_regular_ticket(world):
    await world.issue("A")
    green = await world.issue("A", priority="green", green_reason="elderly")
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    assert (await counters.call_next(world.app, teller, "demo", 3)).ticket.id == green.id


async def test_a_no_show_comes_back_within_the_grace_time_and_not_after(world):
    await no_show_at_3(world)
    teller = await world.staff("teller3")
    back = await tickets.requeue_ticket(world.app, teller, "demo", world.ctx["ticket"].id, Requeue())
    assert back.state == "waiting"
    await counters.call_next(world.app, teller, "demo", 3)
    await counters.no_show(world.app, teller, "demo", 3)
    world.clock.advance(hours=1)
    await world.refused("grace_expired", lambda: tickets.requeue_ticket(
        world.app, teller, "demo", world.ctx["ticket"].id, Requeue()))


# --- every counter command is safe to repeat (``expect``) -------------------------------------


async def test_a_second_finish_sent_with_the_ticket_it_saw_is_stale_and_changes_nothing(world):
    await called_at_3(world)
    teller = await world.staff("teller3")
    seen = world.ctx["ticket"].id
    await counters.finish(world.app, teller, "demo", 3, expect=seen)
    error = await world.refused("stale", lambda: counters.finish(world.app, teller, "demo", 3, expect=seen))
    assert error.details()["counter"]["number"] == 3 and error.details()["counter"]["current"] is None


async def test_a_double_press_of_call_next_with_expect_calls_once_and_finishes_nobody(world):
    first = await world.issue("A")
    await world.issue("A")
    await counter3_open(world)
    teller = await world.staff("teller3")
    called = await counters.call_next(world.app, teller, "demo", 3, expect=None)
    assert called.ticket.id == first.id
    # The second press still believes the counter free: it changes nothing, the customer stays called.
    error = await world.refused("stale", lambda: counters.call_next(world.app, teller, "demo", 3, expect=None))
    assert error.details()["counter"]["current"]["id"] == first.id
    assert (await tickets.public_ticket(world.app, first.token)).state == "called"


async def test_call_next_with_the_current_ticket_as_expect_finishes_it_and_calls_the_next(world):
    first, second = await world.issue("A"), await world.issue("A")
    await counter3_open(world)
    teller = await world.staff("teller3")
    await counters.call_next(world.app, teller, "demo", 3, expect=None)
    result = await counters.call_next(world.app, teller, "demo", 3, expect=first.id)
    assert result.ticket.id == second.id
    assert (await tickets.public_ticket(world.app, first.token)).state == "done"


@pytest.mark.parametrize(
    "step",
    [at_counter("transfer", Transfer(service="B", expect=123456)), at_counter("call", CallTicket(ticket="A002",
     expect=123456)), at_counter("pause", PauseCounter(reason="x", expect=123456))],
    ids=["transfer", "call", "pause"],
)
async def test_a_command_with_a_body_carries_expect_too(world, step):
    await called_at_3(world)
    await world.issue("A")
    teller = await world.staff("teller3")
    await world.refused("stale", lambda: step(world, teller, 3))
