"""The registry: every use case the outside world can reach, with who may call it.

Each endpoint is declared once, in a route table of its module (``routes =
RouteTable()``; ``@routes.http(...)``, ``@routes.command(...)``), with its body
model, answer model, rate-limit class and the :class:`~server.domain.access.Action`
it performs. :func:`setup_routes` gathers the tables named in :data:`TABLES` and
from that one registry come

- the HTTP routes under ``/api/v1`` (each through :func:`wrap`: actor, rate limit,
  authorization, then the body — in that order, for every route);
- the websocket commands (``counter/call_next`` …, see :mod:`server.web.ws`), with
  their argument models;
- the OpenAPI document (:mod:`server.web.openapi`);
- the authorization matrix test (every route and command × every role).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from server.domain.access import Action, Actor, require
from server.domain.errors import InvalidInput
from server.services.context import Services

from .auth import actor_for
from .limits import LIMITER

SERVICES = web.AppKey("services", Services)

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """One HTTP endpoint: ``handler(request, actor, body)``."""

    method: str
    path: str
    handler: Handler
    summary: str
    action: Action
    body: type[BaseModel] | None = None
    body_optional: bool = False
    answer: Any = None
    status: int = 200
    query: tuple[str, ...] = ()
    limit: str | None = None
    """Rate-limit class: "issue" (per kiosk) or "public" (per address); staff are exempt."""
    content_type: str = "application/json"

    @property
    def name(self) -> str:
        return self.handler.__name__


@dataclass(frozen=True)
class Command:
    """One websocket command: ``handler(services, conn, args)``; ``args`` validated by ``model``."""

    type: str
    model: builtins.type[BaseModel]  # plain ``type`` would name the field above
    handler: Handler
    action: Action
    """Checked against the socket's actor and branch before the handler runs."""
    limit: str | None = None
    staff_view: bool = False
    """Only over a staff view's socket (``counter``, ``dashboard``)."""


@dataclass
class RouteTable:
    """The endpoints of one module, declared with decorators (aiohttp's RouteTableDef style)."""

    routes: list[Route] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    def http(self, method: str, path: str, *, summary: str, action: Action, **options: Any):
        """Declare ``handler(request, actor, body)`` under ``/api/v1`` + ``path``."""

        def declare(handler: Handler) -> Handler:
            self.routes.append(Route(method, "/api/v1" + path, handler, summary, action, **options))
            return handler

        return declare

    def command(self, type_: str, model: type[BaseModel], *, action: Action, **options: Any):
        """Declare ``handler(services, conn, args)`` as the websocket command ``type_``."""

        def declare(handler: Handler) -> Handler:
            self.commands.append(Command(type_, model, handler, action, **options))
            return handler

        return declare


@dataclass
class Registry:
    """Every route and command of the application, gathered once by :func:`setup_routes`."""

    routes: list[Route]
    commands: dict[str, Command]

    @classmethod
    def of(cls, tables: list[RouteTable]) -> Registry:
        routes = [r for table in tables for r in table.routes]
        commands: dict[str, Command] = {}
        for table in tables:
            for c in table.commands:
                if c.type in commands:
                    raise ValueError(f"websocket command {c.type} is declared twice")
                commands[c.type] = c
        seen: set[tuple[str, str]] = set()
        for r in routes:
            if (r.method, r.path) in seen:
                raise ValueError(f"route {r.method} {r.path} is declared twice")
            seen.add((r.method, r.path))
        return cls(routes, commands)

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)


REGISTRY = web.AppKey("registry", Registry)


def tables() -> list[RouteTable]:
    """The route tables of the application, in one explicit list."""
    from . import admin_routes, display_pages, routes, ws

    return [routes.routes, admin_routes.routes, display_pages.routes, ws.routes]


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The application's registry (built once per process)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.of(tables())
    return _REGISTRY


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
        # The item model is known at run time only: no static type for the adapter.
        return TypeAdapter(list[type(answer[0])]).dump_json(answer)  # type: ignore[arg-type, misc]
    return orjson.dumps(answer)


def wrap(r: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The view of one route: actor, rate limit, authorization, body, handler — for every route."""

    async def view(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        actor: Actor = await actor_for(request, services)
        if r.limit is not None:
            request.app[LIMITER].check(r.limit, request, actor)
        # Before the body is read: who may not call the route learns nothing of its input.
        require(actor, r.action, request.match_info.get("branch"))
        body = await read_body(request, r.body, optional=r.body_optional)
        answer = await r.handler(request, actor, body)
        if isinstance(answer, web.StreamResponse):
            return answer
        return web.Response(status=r.status, body=dump(answer), content_type="application/json")

    view.__name__ = r.name
    return view


def setup_routes(app: web.Application) -> Registry:
    """Add every registered HTTP route to ``app``; the registry is kept for the websocket."""
    reg = registry()
    for r in reg.routes:
        app.router.add_route(r.method, r.path, wrap(r), name=r.name)
    app[REGISTRY] = reg
    return reg
