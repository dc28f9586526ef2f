"""Use cases of enrolled devices: what a kiosk prints, and the health they report."""

from __future__ import annotations

from typing import Any

from server.domain.errors import Forbidden, Unauthenticated
from server.protocol import DeviceAnswer, DeviceStatusIn, TicketToPrint
from server.store import repository as repo

from .context import Actor, Services

PRINT_BATCH = 50


def _require_device(actor: Actor, *kinds: str) -> None:
    if actor.kind == "public":
        raise Unauthenticated("a device token is needed")
    if actor.kind != "device" or (kinds and actor.role not in kinds):
        raise Forbidden(f"only a {' or '.join(kinds) or 'device'} may do this")


async def tickets_to_print(app: Services, actor: Actor, *, after_id: int) -> list[TicketToPrint]:
    """Tickets this kiosk issued after ``after_id``, oldest first (what its printer owes)."""
    _require_device(actor, "kiosk")
    async with app.reading(actor.branch_id) as (conn, branch, config):
        rows = await repo.tickets_of_device(conn, actor.id, after_id=after_id, limit=PRINT_BATCH)
        return [
            TicketToPrint(
                id=r.id,
                token=r.token,
                number=r.number,
                service=config.service_by_id(r.service_id).code,
                service_names=config.service_by_id(r.service_id).names,
                branch=branch.id,
                branch_names=branch.names,
                timezone=branch.timezone,
                priority=r.priority,
                issued_at=r.issued_at,
                ahead=r.ahead_at_issue,
                estimated_wait_s=r.estimated_wait_s,
            )
            for r in rows
        ]


async def report_status(app: Services, actor: Actor, body: DeviceStatusIn) -> dict[str, Any]:
    """Keep a device's health and tell the branch's screens (``device.status``) when it changed."""
    _require_device(actor)
    status = body.model_dump(mode="json", exclude_none=True)
    async with app.transaction(actor.branch_id) as tx:
        previous = (await repo.device_by_id(tx.conn, actor.id)).status or {}
        await repo.set_device_status(tx.conn, actor.id, status, tx.now)
        if previous.get("printer") != status.get("printer"):
            tx.emit(
                "device.status",
                {"device": actor.id, "name": actor.name, "kind": actor.role, "status": status},
            )
    return {"device": actor.id, "status": status}


async def whoami(app: Services, actor: Actor) -> DeviceAnswer:
    """The calling device: its kind, name and branch (with the branch's zone and language)."""
    _require_device(actor)
    async with app.reading(actor.branch_id) as (_conn, branch, _config):
        return DeviceAnswer(
            id=actor.id, kind=actor.role, name=actor.name, branch=branch.id,
            timezone=branch.timezone, language=branch.language,
        )
