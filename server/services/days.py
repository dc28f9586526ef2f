"""The business day: roll every branch over once its day has turned."""

from __future__ import annotations

from sqlalchemy import select

from server.domain.numbering import business_date
from server.store import tables as t

from .context import Services


async def roll_over_all(app: Services) -> list[str]:
    """Roll over each branch whose stored business day is behind its clock; returns their ids."""
    now = app.clock()
    async with app.db.read() as conn:
        rows = (
            await conn.execute(select(t.Branch.id, t.Branch.timezone, t.Branch.business_date))
        ).all()
    rolled = []
    for branch_id, tz, day in rows:
        if business_date(now, tz) > day:
            async with app.transaction(branch_id):  # rolls over on entry
                pass
            rolled.append(branch_id)
    return rolled
