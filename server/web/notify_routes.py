"""HTTP endpoints of notifications: a customer's wish on the phone page, the admin's outbox."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from server.domain.access import Action
from server.notify.models import NotifyWish, NotifyWishAnswer, OutboxEntry, OutboxOverview
from server.services import notifications
from server.services.context import Actor

from .api import DIGITS, SERVICES, Params, RouteTable, params
from .limits import LIMITER

routes = RouteTable()

T = "/tickets/{token:[A-Za-z0-9_-]{8,64}}"
N = "/admin/notifications"
ID = "/{notification:[0-9]{1,18}}"


@routes.http("POST", T + "/notify", summary="Public: tell me by e-mail or SMS when N or fewer are ahead, when "
             "I am called and when I am transferred (consent required)", body=NotifyWish, answer=NotifyWishAnswer,
             limit="public", action=Action.PUBLIC)
async def ask_to_notify(request: web.Request, actor: Actor, body: NotifyWish) -> NotifyWishAnswer:
    request.app[LIMITER].check("notify", request, actor)
    return await notifications.ask_to_notify(request.app[SERVICES], request.match_info["token"], body)


class OutboxQuery(Params):
    state: Literal["pending", "sent", "dead"] | None = None
    """Only messages in this state (dead: the dead letters)."""


@routes.http("GET", N, summary="Admin: the latest notifications (?state=dead: the dead letters), delivery counts "
             "per kind and channel, and which channels are configured", answer=OutboxOverview, query=OutboxQuery,
             action=Action.ADMINISTER)
async def list_notifications(request: web.Request, actor: Actor, _body: None) -> OutboxOverview:
    return await notifications.overview(request.app[SERVICES], actor, state=params(request, OutboxQuery).state)


class MessageId(Params):
    notification: Annotated[int, Field(ge=1, le=2**62), DIGITS]


@routes.http("POST", N + ID + "/retry", summary="Admin: try a dead letter (or a pending message) again now",
             answer=OutboxEntry, params=MessageId, action=Action.ADMINISTER)
async def retry_notification(request: web.Request, actor: Actor, _body: None) -> OutboxEntry:
    return await notifications.retry(request.app[SERVICES], actor, int(request.match_info["notification"]))
