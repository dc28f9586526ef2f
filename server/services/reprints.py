"""Reprints: a copy of a ticket printed at a kiosk, once, as a print job.

The kiosk's agent prints each ticket its kiosk issued once (it journals the last id). A
customer whose slip jammed, or who lost it while still waiting, needs a copy: the lobby
manager asks for one at the kiosk of their choice (by default the kiosk that issued the
ticket), or the kiosk itself offers it after a failed print. Each request is a row in
``print_jobs``; the kiosk concerned alone hears ``ticket.reprint_requested`` and its agent
prints the job (journaled like a ticket, so exactly once across restarts), marked as a copy
with the time of the request.

The rules: only a ticket still waiting or called is reprinted (a served one needs no paper),
at most :data:`MAX_REPRINTS` times (a slip is not a coupon book), and a kiosk reprints only
the tickets it issued, on its own printer. Every reprint is audited.
"""

from __future__ import annotations

from typing import Any

from server.domain.access import Action, require
from server.domain.errors import Conflict, Forbidden, NotFound
from server.domain.events import TICKET_REPRINT_REQUESTED
from server.domain.model import TicketState
from server.protocol import Reprint, ReprintAnswer
from server.store import repository as repo

from .context import Actor, BranchTx, Services

MAX_REPRINTS = 3
REPRINTABLE = frozenset({TicketState.WAITING, TicketState.CALLED})


async def reprint_ticket(
    app: Services, actor: Actor, branch_id: str, ticket_id: int, body: Reprint
) -> ReprintAnswer:
    """Queue a copy of ticket ``ticket_id`` for a kiosk's printer.

    Raises:
        NotFound: no such ticket in the branch, or no such kiosk (``no_such_kiosk``).
        Conflict: ``not_reprintable`` (not waiting or called), ``reprint_limit``, or
            ``no_kiosk`` (the ticket was not issued at a kiosk and none was chosen).
        Forbidden: a kiosk asking for another kiosk's ticket or printer (``not_this_kiosk``).
    """
    require(actor, Action.REPRINT, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await repo.ticket_by_id(tx.conn, ticket_id, lock=True)
        if row is None or row.branch_id != branch_id:
            raise NotFound(f"no ticket {ticket_id} in branch {branch_id!r}")
        kiosk_id = _target(actor, row, body)
        if row.state not in REPRINTABLE:
            raise Conflict(f"ticket {row.number} is {row.state}: only a waiting or called ticket is reprinted",
                           code="not_reprintable")
        done = await repo.reprints_of_ticket(tx.conn, row.id)
        if done >= MAX_REPRINTS:
            raise Conflict(f"ticket {row.number} has been reprinted {done} times already (the most)",
                           code="reprint_limit")
        kiosk = await _kiosk(tx, kiosk_id)
        job = await repo.insert_print_job(
            tx.conn, branch_id=branch_id, ticket_id=row.id, device_id=kiosk.id, requested_at=tx.now,
            requested_by=actor.label(), staff_id=actor.id if actor.is_staff else None,
        )
        tx.emit(TICKET_REPRINT_REQUESTED, {"job": job, "id": row.id, "number": row.number, "device": kiosk.id},
                ticket_id=row.id, staff_id=actor.id if actor.is_staff else None)
        await tx.audit(actor, "ticket.reprint", f"ticket {row.number}", {"reprints": done},
                       {"reprints": done + 1, "kiosk": kiosk.name, "job": job})
        return ReprintAnswer(job=job, ticket=row.id, number=row.number, kiosk=kiosk.id, kiosk_name=kiosk.name,
                             reprints=done + 1)


def _target(actor: Actor, row: Any, body: Reprint) -> int:
    """The kiosk whose printer prints the copy."""
    if actor.kind == "device":
        if row.device_id != actor.id or body.kiosk not in (None, actor.id):
            raise Forbidden("a kiosk reprints only the tickets it issued, on its own printer",
                            code="not_this_kiosk")
        return actor.id  # type: ignore[return-value]  # a device always has its id
    chosen = body.kiosk if body.kiosk is not None else row.device_id
    if chosen is None:
        raise Conflict(f"ticket {row.number} was not issued at a kiosk: choose the kiosk to print it",
                       code="no_kiosk")
    return int(chosen)


async def _kiosk(tx: BranchTx, device_id: int) -> Any:
    device = await repo.device_by_id(tx.conn, device_id)
    if device is None or device.branch_id != tx.branch.id or device.kind != "kiosk" or device.revoked:
        raise NotFound(f"no kiosk {device_id} in branch {tx.branch.id!r}", code="no_such_kiosk")
    return device
