"""``GET /ws``: the hello phase, the first sync, and commands in the result envelope.

Protocol (DESIGN.md, "Realtime protocol"): the client says hello within 10 s,
the server answers welcome, then a snapshot (or the missed events since
``since_seq``), then events. Commands are ``{"id", "type", …}`` and get
``{"id", "type": "result", "success", "result" | "error"}``; they call the same
service functions as the HTTP routes.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import BaseModel, ValidationError

from server import __version__
from server.bus.fanout import Fanout
from server.domain.access import Action, require
from server.domain.errors import BranchqError, Forbidden, InvalidInput, NotFound, Unauthenticated
from server.domain.events import STAFF_VIEWS
from server.protocol import (
    CommandEnvelope,
    Hello,
    Welcome,
)
from server.services import auth, tickets
from server.services.context import Actor, Services
from server.services.snapshot import branch_snapshot
from server.store import repository as repo

from .api import REGISTRY, SERVICES, RouteTable
from .auth import PUBLIC_ORIGIN, TRUSTED_ORIGINS, session_secret
from .errors import describe_validation
from .hub import ACCESS_ENDED, Conn, Hub, event_view, placeholder
from .limits import LIMITER

log = logging.getLogger(__name__)

HUB = web.AppKey("hub", Hub)
FANOUT = web.AppKey("fanout", Fanout)

HELLO_TIMEOUT_S = 10.0
HEARTBEAT_S = 20.0
MAX_MESSAGE = 64 * 1024
POLICY = WSCloseCode.POLICY_VIOLATION

DEVICE_ROLES: dict[str | None, str] = {"kiosk": "kiosk", "display": "display", "evaluator": "evaluator"}
STAFF_ROLE_NEEDS = {"counter": ("teller", "manager", "admin"), "dashboard": ("manager", "admin")}


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def origin_allowed(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: device clients authenticate with their token
    return (origin == f"{request.scheme}://{request.host}" or origin in request.app[TRUSTED_ORIGINS]
            or origin == request.app.get(PUBLIC_ORIGIN))


async def ws_handler(request: web.Request) -> web.StreamResponse:
    if not origin_allowed(request):
        raise Forbidden("websocket from a foreign origin refused", code="bad_origin")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE, compress=False)
    await ws.prepare(request)
    services = request.app[SERVICES]
    hub = request.app[HUB]
    try:
        hello = await _hello(ws)
        actor, credential = await _authenticate(request, services, hello)
    except Refused as e:
        await ws.close(code=POLICY, message=e.reason.encode()[:120])
        return ws
    except Exception:
        log.exception("websocket hello failed")
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"server error; reconnect")
        return ws

    # A phone sees what the waiting area's board shows, and follows its own ticket from that.
    view = "display" if hello.role == "phone" else hello.role
    conn = Conn(request, ws, actor, view, hello.branch, credential=credential)
    hub.add(conn)
    try:
        await _first_sync(request, services, conn, hello)
        await _serve_commands(services, conn)
    except Exception:
        # Past the upgrade there is no HTTP answer to give: close the socket instead.
        log.exception("websocket of %s failed", hello.role)
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"server error; reconnect")
    finally:
        hub.remove(conn)
        await conn.stop()
    return ws


async def _hello(ws: web.WebSocketResponse) -> Hello:
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT_S)
    except TimeoutError:
        raise Refused("no hello within 10 s") from None
    if msg.type != WSMsgType.TEXT:
        raise Refused("expected a hello message first")
    try:
        return Hello.model_validate(orjson.loads(msg.data))
    except (orjson.JSONDecodeError, ValidationError):
        raise Refused("expected a valid hello message first") from None


async def _authenticate(request: web.Request, services: Services, hello: Hello) -> tuple[Actor, tuple[str, str]]:
    """The actor saying hello, and the credential its commands are checked against again."""
    async with services.db.read() as conn:
        if await repo.load_branch(conn, hello.branch) is None:
            raise Refused(f"no branch {hello.branch!r}")
    if hello.role == "phone":
        return await _phone(services, hello), ("phone", "")
    if hello.token:
        try:
            device = await auth.device_actor(services, hello.token)
        except Unauthenticated:
            raise Refused("unknown or revoked device token") from None
        if device.branch_id != hello.branch:
            raise Refused("this device belongs to another branch")
        if DEVICE_ROLES.get(device.role) != hello.role:
            raise Refused(f"a {device.role} device cannot connect as {hello.role}")
        return device, ("device", auth.token_hash(hello.token))
    secret = await session_secret(request)
    actor = await auth.session_actor(services, secret) if secret else None
    if actor is None or secret is None:
        raise Refused("sign in, or give a device token")
    _check_view(actor, hello.role, hello.branch)
    return actor, ("session", auth.session_id(secret))


def _check_view(actor: Actor, role: str, branch_id: str) -> None:
    """May ``actor`` hold a ``role`` view of ``branch_id``? (at hello, and again before each command)"""
    if actor.kind == "device":
        if actor.branch_id != branch_id or DEVICE_ROLES.get(actor.role) != role:
            raise Refused("this device may no longer connect so")
        return
    if not actor.may_see_branch(branch_id):
        raise Refused("not allowed for this branch")
    allowed = STAFF_ROLE_NEEDS.get(role)
    if allowed is not None and actor.role not in allowed:
        raise Refused(f"the {role} view needs the role {' or '.join(allowed[:-1])}")


async def _phone(services: Services, hello: Hello) -> Actor:
    """A phone's page: its ticket's token (from the QR code) admits it, nothing else does."""
    if not hello.token:
        raise Refused("a phone gives its ticket's token")
    try:
        ticket = await tickets.public_ticket(services, hello.token)
    except NotFound:
        raise Refused("unknown or expired ticket") from None
    if ticket.branch != hello.branch:
        raise Refused("this ticket belongs to another branch")
    return Actor("public", branch_id=hello.branch)


async def _first_sync(request: web.Request, services: Services, conn: Conn, hello: Hello) -> None:
    fanout = request.app[FANOUT]
    await conn.ws.send_str(
        Welcome(
            role=hello.role,
            branch=hello.branch,
            server=__version__,
            heartbeat_s=HEARTBEAT_S,
            device=conn.actor.id if conn.actor.kind == "device" else None,
            staff=conn.actor.name if conn.actor.is_staff else None,
        ).model_dump_json()
    )
    if fanout.delivered(hello.branch) is None:
        async with services.db.read() as c:
            fanout.track(hello.branch, (await repo.event_seqs(c, [hello.branch]))[hello.branch])
    if hello.since_seq is not None:
        missed = fanout.buffered_since(hello.branch, hello.since_seq)
        if missed is not None:
            for event in missed:
                view = event_view(event, conn.role, conn.actor.id) or placeholder(event)
                await conn.ws.send_str(orjson.dumps(view).decode())
            conn.start(missed[-1]["seq"] if missed else hello.since_seq)
            return
    seq, state = await branch_snapshot(services, conn.actor, hello.branch, conn.role)
    await conn.ws.send_str(orjson.dumps({"type": "snapshot", "seq": seq, "state": state}).decode())
    conn.start(seq)


async def _serve_commands(services: Services, conn: Conn) -> None:
    async for msg in conn.ws:
        if msg.type == WSMsgType.TEXT:
            if not await _still_allowed(services, conn):
                break
            await conn.reply(await _run_command(services, conn, msg.data))
        elif msg.type == WSMsgType.BINARY:
            await conn.reply(_error(None, InvalidInput("send JSON text frames", code="invalid_json")))
        else:
            break
        if conn.closed:
            break


async def _still_allowed(services: Services, conn: Conn) -> bool:
    """Every command is authorised against the actor as it is now, not as it was at hello:
    a disabled, demoted or moved account, an ended session or a revoked device gets its
    socket closed instead of an answer."""
    if conn.credential[0] == "phone":
        return True  # the board's public view: nothing to take away
    actor = await auth.actor_now(services, conn.credential)
    try:
        if actor is None:
            raise Refused("signed out or account changed; sign in again")
        _check_view(actor, conn.role, conn.branch_id)
    except Refused as e:
        conn.drop(ACCESS_ENDED, e.reason)
        return False
    conn.actor = actor
    return True


async def _run_command(services: Services, conn: Conn, raw: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _error(None, InvalidInput("the message is not valid JSON", code="invalid_json"))
    if not isinstance(data, dict):
        return _error(None, InvalidInput("the message must be a JSON object", code="invalid_json"))
    try:
        envelope = CommandEnvelope.model_validate(data)
    except ValidationError as e:
        return _error(data.get("id") if isinstance(data.get("id"), int) else None,
                      InvalidInput(describe_validation(e)))
    command = conn.request.app[REGISTRY].commands.get(envelope.type)
    if command is None:
        return _error(envelope.id, NotFound(f"unknown command {envelope.type!r}", code="unknown_command"))
    try:
        args = command.model.model_validate(envelope.model_extra or {})
        if command.staff_view and (not conn.actor.is_staff or conn.role not in STAFF_VIEWS):
            raise Forbidden("counter commands are for signed-in staff")
        if command.limit is not None:
            conn.request.app[LIMITER].check(command.limit, conn.request, conn.actor)
        require(conn.actor, command.action, conn.branch_id)
        result = await command.handler(services, conn, args)
    except ValidationError as e:
        return _error(envelope.id, InvalidInput(describe_validation(e)))
    except BranchqError as e:
        return _error(envelope.id, e)
    except Exception:
        log.exception("command %s failed", envelope.type)
        return _error(envelope.id, BranchqError("internal error; it has been logged", code="internal"))
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return {"id": envelope.id, "type": "result", "success": True, "result": result}


def _error(command_id: int | None, error: BranchqError) -> dict[str, Any]:
    return {
        "id": command_id,
        "type": "result",
        "success": False,
        "error": {"code": error.code, "message": error.message, **error.details()},
    }


# --- commands of the socket itself (the use cases' commands are in their route tables) ---

routes = RouteTable()


class NoArgs(BaseModel):
    model_config = {"extra": "forbid"}


@routes.command("snapshot", NoArgs, action=Action.PUBLIC)
async def snapshot_command(services: Services, conn: Conn, _args: NoArgs) -> dict[str, Any]:
    seq, state = await branch_snapshot(services, conn.actor, conn.branch_id, conn.role)
    return {"seq": seq, "state": state}


@routes.command("ping", NoArgs, action=Action.PUBLIC)
async def ping_command(_services: Services, _conn: Conn, _args: NoArgs) -> dict[str, Any]:
    return {"pong": True}
