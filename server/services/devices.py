"""Use cases of enrolled devices: what a kiosk prints, and the health they report."""

from __future__ import annotations

from typing import Any

from server.domain.access import Action, require
from server.domain.events import DEVICE_STATUS
from server.protocol import DeviceAnswer, DeviceStatusIn, TicketToPrint
from server.store import repository as repo
from server.store.repository import BranchConfig, BranchRow

from .context import Actor, Services

PRINT_BATCH = 50


async def tickets_to_print(app: Services, actor: Actor, *, after_id: int) -> list[TicketToPrint]:
    """Tickets this kiosk issued after ``after_id``, oldest first (what its printer owes)."""
    require(actor, Action.PRINT)
    # Only a device passes require(): it always has its id and branch.
    async with app.reading(actor.branch_id) as (conn, branch, config):  # type: ignore[arg-type]
        rows = await repo.tickets_of_device(conn, actor.id, after_id=after_id, limit=PRINT_BATCH)  # type: ignore[arg-type]
        languages = await repo.issue_languages(conn, [r.id for r in rows])
        return [_to_print(r, branch, config, languages.get(r.id)) for r in rows]


async def print_jobs(app: Services, actor: Actor, *, after_id: int) -> list[TicketToPrint]:
    """This kiosk's reprints after job ``after_id``, oldest first, each marked with its job and time."""
    require(actor, Action.PRINT)
    async with app.reading(actor.branch_id) as (conn, branch, config):  # type: ignore[arg-type]
        rows = await repo.print_jobs_of_device(conn, actor.id, after_id=after_id, limit=PRINT_BATCH)  # type: ignore[arg-type]
        languages = await repo.issue_languages(conn, [r.id for r in rows])
        return [
            _to_print(r, branch, config, languages.get(r.id)).model_copy(
                update={"job": r.job_id, "reprinted_at": r.requested_at}
            )
            for r in rows
        ]


def _to_print(r: Any, branch: BranchRow, config: BranchConfig, language: str | None) -> TicketToPrint:
    service = config.service_by_id(r.service_id)
    return TicketToPrint(
        id=r.id, token=r.token, number=r.number, service=service.code, service_names=service.names,
        branch=branch.id, branch_names=branch.names, timezone=branch.timezone, priority=r.priority,
        issued_at=r.issued_at, ahead=r.ahead_at_issue, estimated_wait_s=r.estimated_wait_s, language=language,
    )


async def report_status(app: Services, actor: Actor, body: DeviceStatusIn) -> dict[str, Any]:
    """Keep a device's health and tell the branch's screens (``device.status``) when it changed."""
    require(actor, Action.DEVICE_SELF)
    status = body.model_dump(mode="json", exclude_none=True)
    # Only a device passes require(): it always has its id.
    async with app.unit_of_work(actor.branch_id) as tx:
        previous = (await repo.device_by_id(tx.conn, actor.id)).status or {}  # type: ignore[arg-type]
        await repo.set_device_status(tx.conn, actor.id, status, tx.now)  # type: ignore[arg-type]
        if previous.get("printer") != status.get("printer"):
            tx.emit(
                DEVICE_STATUS,
                {"device": actor.id, "name": actor.name, "kind": actor.role, "status": status},
            )
    return {"device": actor.id, "status": status}


async def whoami(app: Services, actor: Actor) -> DeviceAnswer:
    """The calling device: its kind, name and branch (with the branch's zone and language)."""
    require(actor, Action.DEVICE_SELF)
    # Only a device passes require(): it always has its branch.
    async with app.reading(actor.branch_id) as (_conn, branch, _config):  # type: ignore[arg-type]
        return DeviceAnswer(
            id=actor.id, kind=actor.role, name=actor.name, branch=branch.id,
            timezone=branch.timezone, language=branch.language,
        )
