"""The business day: when a branch's day turns, yesterday closes.

Rolling over is a use case of its own, run by the server's day watch soon after
midnight in each branch's zone, and before the first write of a new day (see
:meth:`~server.services.context.Services.unit_of_work`) — never as a side effect
inside another use case's transaction.
"""

from __future__ import annotations

from server.domain.events import TICKET_EXPIRED
from server.store import repository as repo

from .context import Services, day_turned


async def roll_over(app: Services, branch_id: str) -> int:
    """Close the branch's past business day if its day has turned; the tickets expired.

    Yesterday's waiting and called tickets expire (``ticket.expired`` each), the
    counters holding them are freed, and the branch's business date moves on.
    Numbering restarts by itself, as sequences are kept per business day. Safe to
    run at any time and on several processes at once: the check is made inside the
    transaction, so only one of them does the work.
    """
    async with app._unit(branch_id) as uow:
        assert uow.branch is not None and uow.config is not None
        if not day_turned(app, uow.branch):
            return 0
        expired = await repo.expire_before(uow.conn, branch_id, uow.today, uow.now)
        await repo.clear_counters_holding(uow.conn, [row.id for row in expired])
        await repo.set_business_date(uow.conn, branch_id, uow.today)
        for row in expired:
            uow.emit(
                TICKET_EXPIRED,
                {
                    "id": row.id,
                    "number": row.number,
                    "service": uow.config.service_by_id(row.service_id).code,
                    "state": "expired",
                    "business_date": uow.today.isoformat(),
                },
                ticket_id=row.id,
                counter_id=row.counter_id,
            )
    app._days.pop(branch_id, None)  # read afresh by the next unit of work
    return len(expired)


async def roll_over_all(app: Services) -> list[str]:
    """Roll over each branch whose stored business day is behind its clock; returns their ids."""
    now = app.clock()
    async with app.db.read() as conn:
        due = await repo.branches_due_for_roll_over(conn, now)
    for branch_id in due:
        await roll_over(app, branch_id)
    return due
