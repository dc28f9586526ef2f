"""Administration endpoints (``/api/v1/admin/…``): each calls one function of services.admin."""

from __future__ import annotations

from typing import overload

from aiohttp import web

from server.domain.access import Action
from server.domain.errors import InvalidInput
from server.protocol import (
    BranchPatch,
    CounterPatch,
    EnrollIn,
    EnrollmentIn,
    PasswordReset,
    ServicePatch,
    StaffIn,
    StaffPatch,
)
from server.services import admin, audit
from server.services.branches import BranchSpec, CounterSpec, ServiceSpec
from server.services.context import Actor

from .api import SERVICES, RouteTable

routes = RouteTable()

A = "/admin/branches/{branch:[a-z0-9-]{1,40}}"
SERVICE = "/services/{code:[A-Z]{1,2}}"
COUNTER = "/counters/{number:[0-9]{1,4}}"


@overload
def _int_query(request: web.Request, name: str, default: int) -> int: ...
@overload
def _int_query(request: web.Request, name: str, default: None) -> int | None: ...


def _int_query(request: web.Request, name: str, default: int | None) -> int | None:
    value = request.query.get(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise InvalidInput(f"{name} is a whole number")
    return int(value)


def _fields(patch) -> dict:
    return patch.model_dump(exclude_unset=True) if patch is not None else {}


@routes.http("GET", "/admin/branches", summary="Admin/manager: the branches you may see (?q= searches id and names)",
       answer=list[dict], query=("q",), action=Action.MANAGE_BRANCH)
async def list_branches(request: web.Request, actor: Actor, _body: None) -> list:
    q = request.query.get("q")
    if q is not None and len(q) > 100:
        raise InvalidInput("the search text is at most 100 characters")
    return await admin.list_branches(request.app[SERVICES], actor, q)


@routes.http("POST", "/admin/branches", summary="Admin: create a branch (services and counters may follow)",
       body=BranchSpec, answer=dict, status=201, action=Action.ADMINISTER)
async def create_branch(request: web.Request, actor: Actor, body: BranchSpec) -> dict:
    return await admin.create_branch(request.app[SERVICES], actor, body.model_dump(mode="json", by_alias=True))


@routes.http("GET", A, summary="Admin/manager: a branch's whole configuration",
       answer=dict, action=Action.MANAGE_BRANCH)
async def branch_detail(request: web.Request, actor: Actor, _body: None) -> dict:
    return await admin.branch_detail(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("PATCH", A, summary="Change branch settings (a manager: opening hours and holidays only)",
       body=BranchPatch, answer=dict, action=Action.MANAGE_BRANCH)
async def update_branch(request: web.Request, actor: Actor, body: BranchPatch) -> dict:
    return await admin.update_branch(request.app[SERVICES], actor, request.match_info["branch"], body)


@routes.http("GET", A + "/config", summary="Admin/manager: the branch's configuration as a YAML document",
       action=Action.MANAGE_BRANCH)
async def export_config(request: web.Request, actor: Actor, _body: None) -> web.Response:
    branch_id = request.match_info["branch"]
    text = await admin.export_yaml(request.app[SERVICES], actor, branch_id)
    return web.Response(
        text=text, content_type="application/yaml", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{branch_id}.yaml"'},
    )


@routes.http("PUT", A + "/config", summary="Admin: apply a YAML configuration (?dry_run=1: only list the changes)",
       answer=dict, query=("dry_run",), action=Action.ADMINISTER)
async def apply_config(request: web.Request, actor: Actor, _body: None) -> dict:
    raw = await request.read()  # at most the server's body limit (413 past it)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the configuration must be UTF-8 text") from None
    dry_run = request.query.get("dry_run", "0") not in ("0", "false", "")
    return await admin.apply_yaml(request.app[SERVICES], actor, request.match_info["branch"], text, dry_run=dry_run)


@routes.http("POST", A + "/services", summary="Admin: add a service", body=ServiceSpec,
       answer=dict, status=201, action=Action.ADMINISTER)
async def add_service(request: web.Request, actor: Actor, body: ServiceSpec) -> dict:
    return await admin.add_service(request.app[SERVICES], actor, request.match_info["branch"],
                                   body.model_dump(mode="json", by_alias=True))


@routes.http("PATCH", A + SERVICE, summary="Admin: change a service", body=ServicePatch,
       answer=dict, action=Action.ADMINISTER)
async def update_service(request: web.Request, actor: Actor, body: ServicePatch) -> dict:
    return await admin.update_service(request.app[SERVICES], actor, request.match_info["branch"],
                                      request.match_info["code"], _fields(body))


@routes.http("DELETE", A + SERVICE, summary="Admin: remove a service (refused while tickets wait for it)",
       answer=dict, action=Action.ADMINISTER)
async def remove_service(request: web.Request, actor: Actor, _body: None) -> dict:
    return await admin.remove_service(request.app[SERVICES], actor, request.match_info["branch"],
                                      request.match_info["code"])


@routes.http("POST", A + "/counters", summary="Admin: add a counter with its work profile", body=CounterSpec,
       answer=dict, status=201, action=Action.ADMINISTER)
async def add_counter(request: web.Request, actor: Actor, body: CounterSpec) -> dict:
    return await admin.add_counter(request.app[SERVICES], actor, request.match_info["branch"],
                                   body.model_dump(mode="json", by_alias=True))


@routes.http("PATCH", A + COUNTER, summary="Change a counter (a manager: its work profile); the next call follows it",
       body=CounterPatch, answer=dict, action=Action.MANAGE_BRANCH)
async def update_counter(request: web.Request, actor: Actor, body: CounterPatch) -> dict:
    return await admin.update_counter(request.app[SERVICES], actor, request.match_info["branch"],
                                      int(request.match_info["number"]), _fields(body))


@routes.http("DELETE", A + COUNTER, summary="Admin: remove a closed counter", answer=dict, action=Action.ADMINISTER)
async def remove_counter(request: web.Request, actor: Actor, _body: None) -> dict:
    return await admin.remove_counter(request.app[SERVICES], actor, request.match_info["branch"],
                                      int(request.match_info["number"]))


@routes.http("GET", "/admin/staff", summary="Admin/manager: staff accounts (?branch= one branch)",
       answer=list[dict], query=("branch",), action=Action.MANAGE_BRANCH)
async def list_staff(request: web.Request, actor: Actor, _body: None) -> list:
    branch = request.query.get("branch") or None
    if branch is not None and len(branch) > 40:
        raise InvalidInput("branch is a branch id")
    return await admin.list_staff(request.app[SERVICES], actor, branch)


@routes.http("POST", "/admin/staff", summary="Admin: create a staff account", body=StaffIn,
       answer=dict, status=201, action=Action.ADMINISTER)
async def create_staff(request: web.Request, actor: Actor, body: StaffIn) -> dict:
    return await admin.create_staff(request.app[SERVICES], actor, body)


@routes.http("PATCH", "/admin/staff/{staff:[0-9]{1,9}}", summary="Admin: change role, branch, counters; disable",
       body=StaffPatch, answer=dict, action=Action.ADMINISTER)
async def update_staff(request: web.Request, actor: Actor, body: StaffPatch) -> dict:
    return await admin.update_staff(request.app[SERVICES], actor, int(request.match_info["staff"]), _fields(body))


@routes.http("POST", "/admin/staff/{staff:[0-9]{1,9}}/password", summary="Admin: set a new password",
       body=PasswordReset, answer=dict, action=Action.ADMINISTER)
async def reset_password(request: web.Request, actor: Actor, body: PasswordReset) -> dict:
    return await admin.reset_password(request.app[SERVICES], actor, int(request.match_info["staff"]), body.password)


@routes.http("GET", A + "/devices", summary="Admin/manager: the branch's devices, last seen and health",
       answer=list[dict], action=Action.MANAGE_BRANCH)
async def list_devices(request: web.Request, actor: Actor, _body: None) -> list:
    return await admin.list_devices(request.app[SERVICES], actor, request.match_info["branch"])


@routes.http("POST", A + "/enrollments", summary="Admin/manager: a one-time code that enrolls a new device",
       body=EnrollmentIn, answer=dict, status=201, action=Action.MANAGE_BRANCH)
async def create_enrollment(request: web.Request, actor: Actor, body: EnrollmentIn) -> dict:
    return await admin.create_enrollment(request.app[SERVICES], actor, request.match_info["branch"],
                                         kind=body.kind, name=body.name, valid_s=body.valid_s, counter=body.counter)


@routes.http("POST", A + "/devices/{device:[0-9]{1,9}}/revoke", summary="Admin/manager: revoke a device's token now",
       answer=dict, action=Action.MANAGE_BRANCH)
async def revoke_device(request: web.Request, actor: Actor, _body: None) -> dict:
    return await admin.revoke_device(request.app[SERVICES], actor, request.match_info["branch"],
                                     int(request.match_info["device"]))


@routes.http("POST", "/devices/enroll", summary="Public: exchange a one-time enrollment code for a device token",
       body=EnrollIn, answer=dict, status=201, limit="public", action=Action.PUBLIC)
async def enroll(request: web.Request, _actor: Actor, body: EnrollIn) -> dict:
    return await admin.enroll(request.app[SERVICES], body.code)


@routes.http("GET", A + "/audit", summary="Admin/manager: the branch's audit log, newest first (?limit=&before=)",
       answer=list[dict], query=("limit", "before"), action=Action.MANAGE_BRANCH)
async def branch_audit(request: web.Request, actor: Actor, _body: None) -> list:
    return await audit.entries(request.app[SERVICES], actor, request.match_info["branch"],
                               limit=_int_query(request, "limit", 100), before_id=_int_query(request, "before", None))


@routes.http("GET", "/admin/audit", summary="Admin: the whole audit log, newest first", answer=list[dict],
       query=("limit", "before"), action=Action.ADMINISTER)
async def all_audit(request: web.Request, actor: Actor, _body: None) -> list:
    return await audit.entries(request.app[SERVICES], actor, None,
                               limit=_int_query(request, "limit", 100), before_id=_int_query(request, "before", None))
