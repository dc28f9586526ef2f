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
- the OpenAPI document (:mod:`server.web.openapi`), from the same models the view
  validates with: the path's patterns (the router's own), the query, header and
  path models, the body model and the answer type;
- the authorization matrix test (every route and command × every role).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, model_validator

from server.domain.access import Action, Actor, require
from server.domain.errors import InvalidInput
from server.protocol import has_nul
from server.services.context import Services

from .auth import actor_for
from .limits import LIMITER

SERVICES = web.AppKey("services", Services)

Handler = Callable[..., Awaitable[Any]]

#: A branch id in a path: the format of ``server.services.branches.BranchId``. A path whose
#: branch is not of this form matches no route (404): it never reaches the database.
BRANCH = "{branch:[a-z0-9][a-z0-9-]{0,39}}"
JSON = "application/json"


class Params(BaseModel):
    """Query, header or path parameters of a route, validated before the body is read.

    Each field is one parameter (its alias, if any, is the parameter's name). Unknown
    parameters are ignored (a cache-busting ``?_=`` does no harm); text may not hold NUL
    characters, which PostgreSQL cannot store.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        if has_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data


P = TypeVar("P", bound=Params)


class TextBody(BaseModel):
    """A body read as UTF-8 text rather than JSON (a YAML document): ``text`` holds it."""

    text: str


def _digits(value: object) -> object:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("a whole number, in digits (0-9)")
    return value


#: Put after the bounds of a whole number in a query or path: ASCII digits only ("3", never "+3",
#: "3.0", " 3" or "³"). ``Annotated[int, Field(ge=1, le=9999), DIGITS]``
DIGITS = BeforeValidator(_digits)


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
    query: type[Params] | None = None
    headers: type[Params] | None = None
    params: type[Params] | None = None
    """Path parameters checked beyond the path's own patterns (a refusal is 400, not 404)."""
    limit: str | None = None
    """Rate-limit class: "issue" (per kiosk) or "public" (per address); staff are exempt."""
    content_type: str = JSON
    """What a success answers with (``application/json`` unless the handler writes a file)."""
    body_types: tuple[str, ...] = (JSON,)
    """The media types a body may come as; the first is the one the document declares."""
    text_of: type[BaseModel] | None = None
    """What a text body (:class:`TextBody`) is a document of, for the OpenAPI document."""
    errors: tuple[int, ...] = ()
    """Statuses besides success and 4xx that the route may answer (503: a missing engine)."""

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
    from . import (
        admin_routes,
        assessment_routes,
        booking_routes,
        complaint_routes,
        display_pages,
        emergency_routes,
        notify_routes,
        routes,
        supervision_routes,
        ws,
    )

    return [routes.routes, admin_routes.routes, display_pages.routes, complaint_routes.routes, ws.routes,
            emergency_routes.routes, supervision_routes.routes, notify_routes.routes, assessment_routes.routes,
            booking_routes.routes]


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The application's registry (built once per process)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry.of(tables())
    return _REGISTRY


def check_media_type(request: web.Request, accepted: tuple[str, ...]) -> None:
    """Refuse a body that is not of an accepted media type with 415, before it is parsed.

    A cross-site page may post a form or ``text/plain`` without asking the browser's leave
    (no CORS preflight); only ``application/json`` (or what the route names) is read, so
    such a post is never taken for a command.
    """
    if request.content_type not in accepted:
        raise web.HTTPUnsupportedMediaType(
            reason=f"the body must be {' or '.join(accepted)}, not {request.content_type}"
        )


def whole_numbers(value: Any) -> Any:
    """``value`` with every JSON number without a fraction as an int (``170.0`` is 170).

    JSON has one kind of number, and JSON Schema counts 170.0 as an integer; the strict
    models (patches, configurations) would refuse the float that the parser makes of it.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


async def read_body(request: web.Request, route: Route) -> Any:
    model = route.body
    if model is None:
        return None
    raw = await request.read()  # raises 413 past client_max_size
    if raw.strip():
        check_media_type(request, route.body_types)
    elif route.body_optional:
        return None
    if model is TextBody:
        try:
            return TextBody(text=raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput("the body must be UTF-8 text") from None
    if not raw.strip():
        raw = b"{}"
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_json")
    return model.model_validate(whole_numbers(data))


def validated(model: type[P], values: Mapping[str, str], *, any_case: bool = False) -> P:
    """``values`` (a query, headers, path parameters) as ``model``: 400 ``invalid_input`` if not.

    ``any_case``: names match whatever their case, as header names do (HTTP/2 and many clients
    send ``idempotency-key``; a proxy may lower them too).
    """
    names = {f.alias or name for name, f in model.model_fields.items()}
    if any_case:
        folded = {n.lower(): n for n in names}
        return model.model_validate({folded[k.lower()]: v for k, v in values.items() if k.lower() in folded})
    return model.model_validate({k: v for k, v in values.items() if k in names})


PARAMS = web.RequestKey("params", dict)


def params(request: web.Request, model: type[P]) -> P:
    """The route's ``model`` parameters as the view validated them (query, headers or path);
    a route declared with a subclass of ``model`` answers with its own."""
    found = request[PARAMS]
    value = found.get(model) or next(v for v in found.values() if isinstance(v, model))
    assert isinstance(value, model)
    return value


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
        # Before the input is read: who may not call the route learns nothing of its input.
        require(actor, r.action, request.match_info.get("branch"))
        checked: dict[type[Params], Params] = {}
        for model, values in ((r.params, request.match_info), (r.query, request.query), (r.headers, request.headers)):
            if model is not None:
                checked[model] = validated(model, values, any_case=model is r.headers)
        request[PARAMS] = checked
        body = await read_body(request, r)
        answer = await r.handler(request, actor, body)
        if isinstance(answer, web.StreamResponse):
            return answer
        return web.Response(status=r.status, body=dump(answer), content_type=JSON)

    view.__name__ = r.name
    return view


def setup_routes(app: web.Application) -> Registry:
    """Add every registered HTTP route to ``app``; the registry is kept for the websocket."""
    reg = registry()
    for r in reg.routes:
        app.router.add_route(r.method, r.path, wrap(r), name=r.name)
    app[REGISTRY] = reg
    return reg
