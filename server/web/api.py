"""The route table: every HTTP endpoint with its body model, answer model and who may call it.

The same table wires aiohttp and writes the OpenAPI document, so the two
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from server.domain.errors import InvalidInput
from server.services.context import Actor, Services

from .auth import actor_for
from .limits import LIMITER

SERVICES = web.AppKey("services", Services)

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    body_optional: bool = False
    answer: Any = None
    status: int = 200
    who: str = "public"
    """public, device, staff, teller, manager: for the docs; services enforce it."""
    query: tuple[str, ...] = ()
    limit: str | None = None
    """Rate-limit class: "issue" (per kiosk) or "public" (per address); staff are exempt."""
    guard: Callable[[web.Request, Actor], None] | None = None
    """Checked before the body is read: who may not call the route learns nothing of its input."""


ROUTES: list[Route] = []


def route(method: str, path: str, *, summary: str, **options: Any):
    """Register ``handler(request, actor, body)`` under ``/api/v1`` + ``path``."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, "/api/v1" + path, handler, summary, **options))
        return handler

    return register


async def read_body(request: web.Request, model: type[BaseModel] | None, *, optional: bool) -> Any:
    if model is None:
        return None
    raw = await request.read()  # raises 413 past client_max_size
    if not raw.strip():
        if optional:
            return None
        raw = b"{}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_json")
    return model.model_validate(data)


def dump(answer: Any) -> bytes:
    if isinstance(answer, BaseModel):
        return answer.__pydantic_serializer__.to_json(answer)
    if isinstance(answer, list) and answer and isinstance(answer[0], BaseModel):
        return TypeAdapter(list[type(answer[0])]).dump_json(answer)
    return orjson.dumps(answer)


def wrap(r: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def view(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        actor: Actor = await actor_for(request, services)
        if r.limit is not None:
            request.app[LIMITER].check(r.limit, request, actor)
        if r.guard is not None:
            r.guard(request, actor)
        body = await read_body(request, r.body, optional=r.body_optional)
        answer = await r.handler(request, actor, body)
        if isinstance(answer, web.StreamResponse):
            return answer
        return web.Response(status=r.status, body=dump(answer), content_type="application/json")

    view.__name__ = r.handler.__name__
    return view


def add_routes(app: web.Application) -> None:
    for r in ROUTES:
        app.router.add_route(r.method, r.path, wrap(r), name=r.handler.__name__)
