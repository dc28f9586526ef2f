"""HTTP endpoints of appointments and remote tickets (the contract in DESIGN.md)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import StringConstraints

from server.booking_protocol import (
    BookingCreated,
    BookingIn,
    CheckedIn,
    CheckIn,
    DayBookings,
    PublicBooking,
    RemoteIn,
    RemoteIssued,
    Reschedule,
    SlotsAnswer,
)
from server.domain.access import Action
from server.domain.errors import NotFound, RateLimited
from server.services import bookings
from server.services.context import Actor

from .api import BRANCH, SERVICES, Params, RouteTable, params
from .limits import LIMITER
from .routes import ReportDay

routes = RouteTable()

B = "/branches/" + BRANCH
TOKEN = "/bookings/{token:[A-Za-z0-9_-]{8,64}}"
CODE = "{booking:[A-Za-z0-9]{6,12}}"


class SlotsQuery(Params):
    service: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]
    """The service's code."""
    date: ReportDay
    """The day (YYYY-MM-DD, the branch's calendar)."""


class DayQuery(Params):
    date: ReportDay | None = None
    """The day (default: the branch's business day)."""


def _limited(request: web.Request, actor: Actor) -> None:
    if not actor.is_staff:
        request.app[LIMITER].check("booking", request, actor)


async def _counting_misses(request: web.Request, call):
    """Unknown booking tokens and codes count against the address: guessing them is cut off."""
    if request.app[LIMITER].over("complaint_guess", request):
        raise RateLimited("too many unknown bookings asked for; try again later", retry_after=60)
    try:
        return await call()
    except NotFound:
        request.app[LIMITER].count("complaint_guess", request)
        raise


@routes.http("GET", B + "/slots", summary="Public: a service's bookable slots of a day, with their free places",
             query=SlotsQuery, answer=SlotsAnswer, limit="public", action=Action.BRANCH_PUBLIC)
async def list_slots(request: web.Request, actor: Actor, _body: None) -> SlotsAnswer:
    q = params(request, SlotsQuery)
    return await bookings.list_slots(request.app[SERVICES], actor, request.match_info["branch"], q.service, q.date)


@routes.http("POST", B + "/bookings", summary="Public: book a slot (a phone number or e-mail, and consent)",
             body=BookingIn, answer=BookingCreated, status=201, limit="public", action=Action.BRANCH_PUBLIC)
async def book(request: web.Request, actor: Actor, body: BookingIn) -> BookingCreated:
    _limited(request, actor)
    return await bookings.book(request.app[SERVICES], actor, request.match_info["branch"], body)


@routes.http("GET", B + "/bookings", summary="Teller, manager: the day's bookings per service and slot "
             "(checked in, late, no-show)", query=DayQuery, answer=DayBookings, action=Action.READ_QUEUE)
async def day_bookings(request: web.Request, actor: Actor, _body: None) -> DayBookings:
    q = params(request, DayQuery)
    return await bookings.day_bookings(request.app[SERVICES], actor, request.match_info["branch"], q.date)


@routes.http("POST", B + "/bookings/" + CODE + "/check-in", summary="Kiosk (by code) or the customer's phone "
             "(with the booking's token): check in, becoming a ticket", body=CheckIn, body_optional=True,
             answer=CheckedIn, status=201, limit="public", action=Action.CHECK_IN)
async def check_in(request: web.Request, actor: Actor, body: CheckIn | None) -> CheckedIn:
    return await _counting_misses(request, lambda: bookings.check_in(
        request.app[SERVICES], actor, request.match_info["branch"], request.match_info["booking"], body or CheckIn()))


@routes.http("GET", TOKEN, summary="Public: the booking, by its token", answer=PublicBooking, limit="public",
             action=Action.PUBLIC)
async def public_booking(request: web.Request, _actor: Actor, _body: None) -> PublicBooking:
    return await _counting_misses(
        request, lambda: bookings.public_booking(request.app[SERVICES], request.match_info["token"]))


@routes.http("POST", TOKEN + "/cancel", summary="Public: cancel the booking", answer=PublicBooking, limit="public",
             action=Action.PUBLIC)
async def cancel_booking(request: web.Request, actor: Actor, _body: None) -> PublicBooking:
    _limited(request, actor)
    return await _counting_misses(request, lambda: bookings.cancel(request.app[SERVICES], request.match_info["token"]))


@routes.http("POST", TOKEN + "/reschedule", summary="Public: move the booking to another slot of its service",
             body=Reschedule, answer=PublicBooking, limit="public", action=Action.PUBLIC)
async def reschedule_booking(request: web.Request, actor: Actor, body: Reschedule) -> PublicBooking:
    _limited(request, actor)
    return await _counting_misses(
        request, lambda: bookings.reschedule(request.app[SERVICES], request.match_info["token"], body))


@routes.http("POST", B + "/remote-tickets", summary="Public: today's ticket from the phone (where the branch "
             "allows it, while open, within the remote share)", body=RemoteIn, answer=RemoteIssued, status=201,
             limit="public", action=Action.BRANCH_PUBLIC)
async def remote_ticket(request: web.Request, actor: Actor, body: RemoteIn) -> RemoteIssued:
    _limited(request, actor)
    return await bookings.remote_ticket(request.app[SERVICES], actor, request.match_info["branch"], body)
