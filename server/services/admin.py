"""Administration use cases: branches, services, counters, staff and devices.

Who may do what (DESIGN.md, Security): an admin everything, everywhere; a manager,
in the branches they may see, the opening hours, the counters' work profiles and the
devices (enrollment, revocation), and reads the audit log; a teller nothing here.
Every configuration change goes through :func:`branches.change_config`, so the
page, the API and ``branchq config apply`` validate, refuse and audit alike.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from server.domain.access import Action, require
from server.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from server.domain.events import BRANCH_CONFIGURED, DEVICE_REVOKED, STAFF_DISABLED
from server.store import accounts, branch_config
from server.store import repository as repo

from . import auth
from .branches import (
    BranchSpec,
    CounterSpec,
    ServiceSpec,
    apply_config,
    change_config,
    document,
    dump_yaml,
    export_config,
    load_yaml,
    parse_config,
    spec_of,
)
from .context import Actor, Services

MANAGER_BRANCH_FIELDS = frozenset({"hours", "holidays", "green_confirm"})
MANAGER_COUNTER_FIELDS = frozenset({"services", "mode", "green_only", "green_ratio"})
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed on a kiosk
ENROLL_VALID_S = 900
ENROLL_MAX_VALID_S = 7 * 86400


def visible_branch_ids(actor: Actor) -> list[str] | None:
    """The branches ``actor`` may see; None means all of them."""
    if actor.role == "admin":
        return None
    return [b for b in (actor.branch_id, *actor.branches) if b]


# --- branches ----------------------------------------------------------------------


async def list_branches(app: Services, actor: Actor, q: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Branches the actor may see, searchable by id or any of their names."""
    require(actor, Action.MANAGE_BRANCH, actor.branch_id)
    if q and "\x00" in q:
        raise InvalidInput("the search text may not contain NUL characters")
    async with app.db.read() as conn:
        found = await branch_config.branch_summaries(conn, only=visible_branch_ids(actor), search=q, limit=limit)
    return [
        {"id": r.id, "names": repo.names(r), "timezone": r.timezone, **tallies}
        for r, tallies in found
    ]


async def branch_detail(app: Services, actor: Actor, branch_id: str) -> dict[str, Any]:
    """The branch's whole configuration, with live counts a settings page shows beside it."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.reading(branch_id) as (conn, branch, config):
        counts = await repo.waiting_counts(conn, branch_id)
        states = {r.number: r.state for r in await repo.counter_rows(conn, branch_id)}
    doc = document(spec_of(branch, config))
    for s in doc["services"]:
        sid = config.services[s["code"]].id
        s["waiting"] = sum(n for (service_id, _p), n in counts.items() if service_id == sid)
        s["active"] = config.services[s["code"]].active
    for c in doc["counters"]:
        c["state"] = states.get(c["number"], "closed")
    return {**doc, "config_version": branch.config_version}


async def export_yaml(app: Services, actor: Actor, branch_id: str) -> str:
    """The branch's configuration as the YAML document ``branchq config export`` writes."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    return dump_yaml(await export_config(app, branch_id))


async def apply_yaml(app: Services, actor: Actor, branch_id: str, text: str, *, dry_run: bool) -> dict[str, Any]:
    """Apply a whole YAML document to ``branch_id`` (what ``branchq config apply`` does)."""
    require(actor, Action.ADMINISTER)
    spec = load_yaml(text)
    if spec.id != branch_id:
        raise InvalidInput(f"the document describes branch {spec.id!r}, not {branch_id!r}")
    changes = await apply_config(app, spec, actor=actor, dry_run=dry_run)
    return {"changes": changes, "applied": not dry_run and bool(changes)}


async def _edit(
    app: Services, actor: Actor, branch_id: str, change: Callable[[dict[str, Any]], None], *,
    action: str, target: str, part: Callable[[BranchSpec], Any],
) -> BranchSpec:
    """Apply ``change`` to the branch's document (a dict) and the result as its new configuration."""

    def edit(current: BranchSpec | None) -> BranchSpec:
        if current is None:
            raise NotFound(f"no branch {branch_id!r}")
        doc = document(current)
        change(doc)
        return parse_config(doc)

    _, new = await change_config(app, branch_id, edit, actor=actor, action=action, target=target, part=part)
    return new


def _entry(doc: dict[str, Any], part: str, key: str, value: Any, missing: str) -> dict[str, Any]:
    """The service (by code) or counter (by number) in ``doc[part]``; NotFound with ``missing``."""
    found: dict[str, Any] | None = next((e for e in doc[part] if e[key] == value), None)
    if found is None:
        raise NotFound(missing)
    return found


async def create_branch(app: Services, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """A new, empty branch (services and counters are added next, or by a configuration file)."""
    require(actor, Action.ADMINISTER)
    spec = parse_config(body)
    branch_id = spec.id

    def edit(current: BranchSpec | None) -> BranchSpec:
        if current is not None:
            raise Conflict(f"branch {branch_id!r} exists already", code="exists")
        return spec

    await change_config(app, branch_id, edit, actor=actor, action="branch.create")
    return await branch_detail(app, actor, branch_id)


async def update_branch(app: Services, actor: Actor, branch_id: str, patch: Any) -> dict[str, Any]:
    require(actor, Action.MANAGE_BRANCH, branch_id)
    fields = patch.model_dump(exclude_unset=True)
    if actor.role != "admin" and set(fields) - MANAGER_BRANCH_FIELDS:
        raise Forbidden("a manager may change the opening hours, holidays and green-channel confirmations only")
    await _edit(
        app, actor, branch_id, lambda doc: doc.update(fields), action="branch.update",
        target=f"branch {branch_id}", part=lambda spec: {k: document(spec)[k] for k in fields},
    )
    return await branch_detail(app, actor, branch_id)


# --- services ----------------------------------------------------------------------


def _service_part(code: str) -> Callable[[BranchSpec], ServiceSpec | None]:
    return lambda spec: spec.service(code)


async def add_service(app: Services, actor: Actor, branch_id: str, body: dict[str, Any]) -> dict[str, Any]:
    require(actor, Action.ADMINISTER, branch_id)
    service = ServiceSpec.model_validate(body, strict=False)

    def change(doc: dict[str, Any]) -> None:
        if any(s["code"] == service.code for s in doc["services"]):
            raise Conflict(f"service {service.code} exists already", code="exists")
        doc["services"].append(service.model_dump(mode="json", by_alias=True))

    new = await _edit(app, actor, branch_id, change, action="service.add", target=f"service {service.code}",
                      part=_service_part(service.code))
    # The new configuration has the service just added.
    return new.service(service.code).model_dump(mode="json", by_alias=True)  # type: ignore[union-attr]


async def update_service(
    app: Services, actor: Actor, branch_id: str, code: str, fields: dict[str, Any]
) -> dict[str, Any]:
    require(actor, Action.ADMINISTER, branch_id)
    if "code" in fields and fields["code"] != code:
        raise InvalidInput("a service's code cannot change: add a new service and remove this one")
    fields = dict(fields)
    active = fields.pop("active", None)
    if active is not None and not fields:
        await set_service_active(app, actor, branch_id, code, active)
        return await _service_answer(app, branch_id, code)
    if active is not None:
        raise InvalidInput("suspend or resume a service on its own ({\"active\": …}), not with other changes")

    def change(doc: dict[str, Any]) -> None:
        _entry(doc, "services", "code", code, f"no service {code!r} in branch {branch_id!r}").update(fields)

    await _edit(app, actor, branch_id, change, action="service.update", target=f"service {code}",
                part=_service_part(code))
    return await _service_answer(app, branch_id, code)


async def _service_answer(app: Services, branch_id: str, code: str) -> dict[str, Any]:
    """A service as the configuration states it, and whether it is suspended (``active``)."""
    async with app.reading(branch_id) as (_conn, branch, config):
        spec = spec_of(branch, config).service(code)
        if spec is None:
            raise NotFound(f"no service {code!r} in branch {branch_id!r}")
        return {**spec.model_dump(mode="json", by_alias=True), "active": config.services[code].active}


async def set_service_active(app: Services, actor: Actor, branch_id: str, code: str, active: bool) -> dict[str, Any]:
    """Suspend or resume a service: a suspended one stays on the kiosk, greyed, and issuing it
    is refused (``suspended``); tickets already waiting for it are still called.

    The lobby's manager does it (``manage_branch``); repeating it changes nothing more.

    Raises:
        NotFound: no such service in the branch.
    """
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        service = tx.config.service(code)
        if service is None:
            raise NotFound(f"no service {code!r} in branch {branch_id!r}")
        if service.active != active:
            await branch_config.set_service_active(tx.conn, service.id, branch_id, active)
            await tx.audit(actor, "service.resume" if active else "service.suspend", f"service {code}",
                           {"active": service.active}, {"active": active})
            tx.config_changed = True
            tx.emit(BRANCH_CONFIGURED, {"changes": 1}, staff_id=actor.id)
    return {"code": code, "active": active}


async def remove_service(app: Services, actor: Actor, branch_id: str, code: str) -> dict[str, Any]:
    """Remove a service: refused while tickets wait for it or a counter would be left with nothing."""
    require(actor, Action.ADMINISTER, branch_id)

    def change(doc: dict[str, Any]) -> None:
        doc["services"].remove(_entry(doc, "services", "code", code, f"no service {code!r} in branch {branch_id!r}"))
        for c in doc["counters"]:
            if code in c["services"]:
                c["services"] = [x for x in c["services"] if x != code]
                if not c["services"]:
                    raise Conflict(
                        f"counter {c['number']} takes only service {code}: give it another service first",
                        code="in_use",
                    )

    await _edit(app, actor, branch_id, change, action="service.remove", target=f"service {code}",
                part=_service_part(code))
    return {"removed": code}


# --- counters ----------------------------------------------------------------------


def _counter_part(number: int) -> Callable[[BranchSpec], CounterSpec | None]:
    return lambda spec: spec.counter(number)


async def add_counter(app: Services, actor: Actor, branch_id: str, body: dict[str, Any]) -> dict[str, Any]:
    require(actor, Action.ADMINISTER, branch_id)
    counter = CounterSpec.model_validate(body, strict=False)

    def change(doc: dict[str, Any]) -> None:
        if any(c["number"] == counter.number for c in doc["counters"]):
            raise Conflict(f"counter {counter.number} exists already", code="exists")
        doc["counters"].append(counter.model_dump(mode="json", by_alias=True))
        doc["counters"].sort(key=lambda c: c["number"])

    new = await _edit(app, actor, branch_id, change, action="counter.add", target=f"counter {counter.number}",
                      part=_counter_part(counter.number))
    # The new configuration has the counter just added.
    return {**new.counter(counter.number).model_dump(mode="json", by_alias=True), "state": "closed"}  # type: ignore[union-attr]


async def update_counter(
    app: Services, actor: Actor, branch_id: str, number: int, fields: dict[str, Any]
) -> dict[str, Any]:
    """Change a counter; its next call-next follows the new profile (no restart)."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    if actor.role != "admin" and set(fields) - MANAGER_COUNTER_FIELDS:
        raise Forbidden("a manager may change a counter's work profile only (services, mode, green channel)")
    if "number" in fields and fields["number"] != number:
        raise InvalidInput("a counter's number cannot change: add a new counter and remove this one")

    def change(doc: dict[str, Any]) -> None:
        _entry(doc, "counters", "number", number, f"no counter {number} in branch {branch_id!r}").update(fields)

    new = await _edit(app, actor, branch_id, change, action="counter.update", target=f"counter {number}",
                      part=_counter_part(number))
    # The edit found the counter (or raised NotFound), and a change keeps its number.
    return new.counter(number).model_dump(mode="json", by_alias=True)  # type: ignore[union-attr]


async def remove_counter(app: Services, actor: Actor, branch_id: str, number: int) -> dict[str, Any]:
    require(actor, Action.ADMINISTER, branch_id)

    def change(doc: dict[str, Any]) -> None:
        doc["counters"].remove(
            _entry(doc, "counters", "number", number, f"no counter {number} in branch {branch_id!r}")
        )

    await _edit(app, actor, branch_id, change, action="counter.remove", target=f"counter {number}",
                part=_counter_part(number))
    return {"removed": number}


# --- staff -------------------------------------------------------------------------


def _staff(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "username": row.username, "display_name": row.display_name or row.username,
        "role": row.role, "branch": row.branch_id, "branches": list(row.branches or []),
        "counters": list(row.counters or []), "active": row.active,
    }


async def list_staff(app: Services, actor: Actor, branch_id: str | None = None) -> list[dict[str, Any]]:
    """Accounts of one branch (its regional managers too), or of every branch the actor may see."""
    require(actor, Action.MANAGE_BRANCH, branch_id or actor.branch_id)
    async with app.db.read() as conn:
        rows = await accounts.all_staff(conn)
    visible = visible_branch_ids(actor)

    def belongs(row: Any, b: str) -> bool:
        return row.branch_id == b or b in (row.branches or [])

    if branch_id is not None:
        rows = [r for r in rows if belongs(r, branch_id)]
    if visible is not None:
        rows = [r for r in rows if any(belongs(r, b) for b in visible)]
    return [_staff(r) for r in rows]


async def _check_staff_fields(conn: Any, fields: dict[str, Any]) -> None:
    for b in [fields.get("branch"), *(fields.get("branches") or [])]:
        if b is not None and await repo.load_branch(conn, b) is None:
            raise NotFound(f"no branch {b!r}")


async def _check_counters(conn: Any, branch_id: str | None, counters: list[int]) -> None:
    """The counters a teller may open must be counters of their branch."""
    if not counters or branch_id is None:
        return
    known = {row.number for row in await repo.counter_rows(conn, branch_id)}
    unknown = sorted(set(counters) - known)
    if unknown:
        raise InvalidInput(f"branch {branch_id!r} has no counter {', '.join(map(str, unknown))}")


async def create_staff(app: Services, actor: Actor, body: Any) -> dict[str, Any]:
    """A new account, and its audit entry, in one unit of work."""
    require(actor, Action.ADMINISTER)
    hashed = await auth.hash_password(body.password)  # slow on purpose: before the transaction
    async with app.unit_of_work(None) as uow:
        await _check_counters(uow.conn, body.branch, body.counters)
        staff_id = await auth.add_staff(
            app, username=body.username, password=body.password, role=body.role, branch_id=body.branch,
            counters=body.counters, branches=body.branches, display_name=body.display_name,
            password_hash=hashed, uow=uow,
        )
        row = await repo.staff_by_id(uow.conn, staff_id)
        await uow.audit(actor, "staff.create", f"staff {row.username}", None, _staff(row), branch_id=row.branch_id)
    return _staff(row)


STAFF_COLUMNS = {"branch": "branch_id"}
"""Fields of a staff patch whose column is named otherwise."""


async def update_staff(app: Services, actor: Actor, staff_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Change an account's name, role, branch, counters or whether it may sign in.

    One unit of work on the account's branch: the change, its audit entry and (when
    the account is disabled) the ``staff.disabled`` event that closes its open sockets
    on every process commit together.
    """
    require(actor, Action.ADMINISTER)
    if staff_id == actor.id and (fields.get("active") is False or fields.get("role", "admin") != "admin"):
        raise Conflict("you cannot disable or demote your own account", code="own_account")
    cleared = sorted(k for k, v in fields.items() if v is None and k != "branch")
    if cleared:
        raise InvalidInput(f"{', '.join(cleared)} cannot be empty (null); leave a field out to keep it")
    async with app.db.read() as conn:
        first = await repo.staff_by_id(conn, staff_id)
    if first is None:
        raise NotFound(f"no staff member {staff_id}")
    async with app.unit_of_work(first.branch_id) as uow:
        row = await repo.staff_by_id(uow.conn, staff_id)
        if row is None:
            raise NotFound(f"no staff member {staff_id}")
        if row.branch_id != first.branch_id:
            raise Conflict("the account was moved to another branch at the same moment; try again", code="stale")
        await _check_staff_fields(uow.conn, fields)
        merged = {**_staff(row), **fields}
        if merged["role"] not in ("admin", "inspector") and merged["branch"] is None:
            raise InvalidInput("tellers and managers belong to a branch")
        if merged["role"] == "inspector" and merged["branch"] is None and not merged["branches"]:
            raise InvalidInput("an inspector is assigned a branch or further branches")
        if merged["branches"] and merged["role"] not in ("manager", "inspector"):
            raise InvalidInput("only managers and inspectors oversee further branches (clear branches first)")
        if "counters" in fields or "branch" in fields:
            await _check_counters(uow.conn, merged["branch"], merged["counters"])
        await accounts.update_staff(uow.conn, staff_id, **{STAFF_COLUMNS.get(k, k): v for k, v in fields.items()})
        after = await repo.staff_by_id(uow.conn, staff_id)
        await uow.audit(actor, "staff.update", f"staff {row.username}", {k: _staff(row)[k] for k in fields},
                        {k: _staff(after)[k] for k in fields}, branch_id=after.branch_id)
        if fields.get("active") is False and row.branch_id is not None:
            uow.emit(STAFF_DISABLED, {"staff": staff_id}, staff_id=staff_id)
        # Any change closes the account's sockets on every process (they reconnect as it is
        # now); one that changes what it may do ends its sessions too.
        powers = ("active", "role", "branch", "branches")
        changed = any(_staff(row)[k] != _staff(after)[k] for k in powers if k in fields)
        await auth.end_staff_access(uow, staff_id, "account changed", sessions_too=changed)
    return _staff(after)


async def reset_password(app: Services, actor: Actor, staff_id: int, password: str) -> dict[str, Any]:
    require(actor, Action.ADMINISTER)
    hashed = await auth.hash_password(password)
    async with app.unit_of_work(None) as uow:
        row = await repo.staff_by_id(uow.conn, staff_id)
        if row is None:
            raise NotFound(f"no staff member {staff_id}")
        await accounts.update_staff(uow.conn, staff_id, password_hash=hashed)
        await uow.audit(actor, "staff.password", f"staff {row.username}", None, None, branch_id=row.branch_id)
        await auth.end_staff_access(uow, staff_id, "password reset", sessions_too=True)
    return {"reset": True}


# --- devices -----------------------------------------------------------------------


def _device(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "name": row.name, "branch": row.branch_id,
        "created_at": row.created_at.isoformat(),
        "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None,
        "status": row.status or {}, "revoked": row.revoked, "counter": row.counter,
    }


async def list_devices(app: Services, actor: Actor, branch_id: str) -> list[dict[str, Any]]:
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.reading(branch_id) as (conn, _branch, _config):
        rows = await repo.devices_of_branch(conn, branch_id, revoked=True)
    return [_device(r) for r in rows]


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().upper().encode()).hexdigest()


async def create_enrollment(
    app: Services, actor: Actor, branch_id: str, *, kind: str, name: str, valid_s: int = ENROLL_VALID_S,
    counter: int | None = None,
) -> dict[str, Any]:
    """A one-time code for a new device of ``branch_id``; it works once, until it expires.

    An evaluator is enrolled for the counter it faces, and rates only the customers served there.
    """
    require(actor, Action.MANAGE_BRANCH, branch_id)
    if kind not in auth.DEVICE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(auth.DEVICE_KINDS)}")
    if (kind == "evaluator") != (counter is not None):
        raise InvalidInput("an evaluator needs the number of the counter it faces (and only an evaluator has one)")
    if not 60 <= valid_s <= ENROLL_MAX_VALID_S:
        raise InvalidInput(f"valid_s is between 60 and {ENROLL_MAX_VALID_S} seconds")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    code = f"{raw[:4]}-{raw[4:]}"
    async with app.unit_of_work(branch_id) as uow:
        if counter is not None and counter not in uow.config.counters:
            raise NotFound(f"no counter {counter} in branch {branch_id!r}")
        expires = uow.now + timedelta(seconds=valid_s)
        await accounts.insert_enrollment(uow.conn, {
            "branch_id": branch_id, "code_hash": _code_hash(code), "kind": kind, "name": name,
            "staff_id": actor.id if actor.is_staff else None, "created_at": uow.now, "expires_at": expires,
            "counter": counter,
        })
        await uow.audit(actor, "device.enrollment", f"{kind} {name}", None,
                        {"kind": kind, "name": name, "expires_at": expires.isoformat(), "counter": counter})
    return {"code": code, "kind": kind, "name": name, "branch": branch_id, "expires_at": expires.isoformat(),
            "counter": counter}


async def enroll(app: Services, code: str) -> dict[str, Any]:
    """Exchange a one-time code for a device token (shown once, stored hashed).

    Raises:
        Unauthenticated: unknown, used or expired code (one message for all three).
    """
    refused = Unauthenticated("unknown, used or expired enrollment code", code="bad_code")
    if not (code.isascii() and code.isprintable()) or len(code) > 20:
        raise refused
    token = secrets.token_urlsafe(24)
    async with app.unit_of_work(None) as uow:
        row = await accounts.enrollment_by_code_hash(uow.conn, _code_hash(code))
        if row is None or row.used_at is not None or row.expires_at <= uow.now:
            raise refused
        device_id = await accounts.insert_device(uow.conn, {
            "branch_id": row.branch_id, "kind": row.kind, "name": row.name, "token_hash": auth.token_hash(token),
            "created_at": uow.now, "last_seen_at": uow.now, "status": {}, "revoked": False,
            "counter": row.counter,
        })
        # A second, simultaneous exchange of the same code loses here.
        if not await accounts.claim_enrollment(uow.conn, row.id, device_id=device_id, at=uow.now):
            raise refused
        device = auth.device_as_actor(row, device_id)
        await uow.audit(device, "device.enrolled", f"{row.kind} {row.name}", None,
                        {"device": device_id, "kind": row.kind, "name": row.name}, branch_id=row.branch_id)
    return {"token": token, "device": {"id": device_id, "kind": row.kind, "name": row.name, "branch": row.branch_id,
                                       "counter": row.counter}}


async def revoke_device(app: Services, actor: Actor, branch_id: str, device_id: int) -> dict[str, Any]:
    """The token stops working at once: HTTP at the next request, open sockets now."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as uow:
        row = await repo.device_by_id(uow.conn, device_id)
        if row is None or row.branch_id != branch_id:
            raise NotFound(f"no device {device_id} in branch {branch_id!r}")
        if row.revoked:
            return {"revoked": True, "device": device_id}
        await accounts.revoke_device(uow.conn, device_id)
        await uow.audit(actor, "device.revoke", f"{row.kind} {row.name}", {"revoked": False}, {"revoked": True})
        uow.emit(DEVICE_REVOKED, {"device": device_id})
        uow.end_access(f"device:{device_id}")
    return {"revoked": True, "device": device_id}
