"""Managers' reports: the summary over a period, grouped as asked."""

from __future__ import annotations

from typing import Any

from server.domain.numbering import business_date
from server.reports.summary import Period, summary
from server.store import repository as repo

from .context import Actor, Services, require_staff


async def summary_report(
    app: Services, actor: Actor, branch_id: str, *, first: str | None, last: str | None, group: str
) -> dict[str, Any]:
    """The summary of ``branch_id`` from ``first`` to ``last`` (business days; default today)."""
    require_staff(actor, branch_id, "manager")
    now = app.clock()
    async with app.db.slow_read() as conn:
        branch = await repo.load_branch(conn, branch_id)
        if branch is None:
            from server.domain.errors import NotFound

            raise NotFound(f"no branch {branch_id!r}")
        period = Period.parse(first, last, today=business_date(now, branch.timezone))
        report = await summary(conn, branch_id, branch.timezone, period, group, now=now)
    return {
        "branch": branch_id,
        "timezone": branch.timezone,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "group": group,
        **report,
    }
