"""Administration endpoints (``/api/v1/admin/…``): each calls one function of services.admin."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field, StringConstraints

from server.domain.access import Action
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

from .api import BRANCH, DIGITS, SERVICES, Params, RouteTable, TextBody, params

routes = RouteTable()

A = "/admin/branches/" + BRANCH
SERVICE = "/services/{code:[A-Z]{1,2}}"
COUNTER = "/counters/{number:[0-9]{1,4}}"
YAML = "application/yaml"
#: What a configuration may be sent as: YAML under any of its names, JSON (a JSON document is YAML),
#: or plain text. No cross-site page can PUT without the browser asking first (CORS), which the
#: server never grants, so plain text here is no way in for a forged request.
YAML_TYPES = (YAML, "text/yaml", "application/x-yaml", "application/json", "text/plain")


class BranchSearch(Params):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    """Text to look for in the branch's id and names."""


class StaffQuery(Params):
    branch: Annotated[str, StringConstraints(max_length=40)] | None = None
    """Only the staff of this branch (empty: all you may see)."""


class DryRun(Params):
    dry_run: Literal["0", "1", "false", "true", ""] = "0"
    """1 or true: list the changes, apply nothing."""


class AuditQuery(Params):
    limit: Annotated[int, Field(ge=1, le=audit.MAX_ENTRIES), DIGITS] = 100
    """At most this many entries."""
    before: Annotated[int, Field(ge=0, le=999_999_999), DIGITS] | None = None
    """Entries older than this entry id."""


def _fields(patch) -> dict:
    return patch.model_dump(exclude_unset=True) if patch is not None else {}


@routes.http("GET", "/admin/branches", summary="Admin/manager: the branches you may see (?q= searches id and names)",
       answer=list[dict], query=BranchSearch, action=Action.MANAGE_BRANCH)
async def list_branches(request: web.Request, actor: Actor, _body: None) -> list:
    return await admin.list_branches(request.app[SERVICES], actor, params(request, BranchSearch).q)


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
       answer=BranchSpec, content_type=YAML, action=Action.MANAGE_BRANCH)
async def export_config(request: web.Request, actor: Actor, _body: None) -> web.Response:
    branch_id = request.match_info["branch"]
    text = await admin.export_yaml(request.app[SERVICES], actor, branch_id)
    return web.Response(
        text=text, content_type=YAML, charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{branch_id}.yaml"'},
    )


@routes.http("PUT", A + "/config", summary="Admin: apply a YAML configuration (?dry_run=1: only list the changes)",
       answer=dict, query=DryRun, body=TextBody, body_types=YAML_TYPES, text_of=BranchSpec,
       action=Action.ADMINISTER)
async def apply_config(request: web.Request, actor: Actor, body: TextBody) -> dict:
    dry_run = params(request, DryRun).dry_run not in ("0", "false", "")
    return await admin.apply_yaml(request.app[SERVICES], actor, request.match_info["branch"], body.text,
                                  dry_run=dry_run)


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
       answer=list[dict], query=StaffQuery, action=Action.MANAGE_BRANCH)
async def list_staff(request: web.Request, actor: Actor, _body: None) -> list:
    return await admin.list_staff(request.app[SERVICES], actor, params(request, StaffQuery).branch or None)


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
       answer=list[dict], query=AuditQuery, action=Action.MANAGE_BRANCH)
async def branch_audit(request: web.Request, actor: Actor, _body: None) -> list:
    q = params(request, AuditQuery)
    return await audit.entries(request.app[SERVICES], actor, request.match_info["branch"],
                               limit=q.limit, before_id=q.before)


@routes.http("GET", "/admin/audit", summary="Admin: the whole audit log, newest first", answer=list[dict],
       query=AuditQuery, action=Action.ADMINISTER)
async def all_audit(request: web.Request, actor: Actor, _body: None) -> list:
    q = params(request, AuditQuery)
    return await audit.entries(request.app[SERVICES], actor, None, limit=q.limit, before_id=q.before)
