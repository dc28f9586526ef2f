"""The audit log: who changed what in the configuration, when, with before and after.

Entries are written by the unit of work of the change itself
(:meth:`~server.store.uow.UnitOfWork.audit`), so an entry commits with its change or
not at all; this module reads them.
"""

from __future__ import annotations

from typing import Any

from server.domain.access import Action, require
from server.domain.errors import InvalidInput
from server.store import repository as repo

from .context import Actor, Services

MAX_ENTRIES = 500


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "at": row.at.isoformat(), "branch": row.branch_id, "staff": row.actor,
        "action": row.action, "target": row.target, "before": row.before, "after": row.after,
    }


async def entries(
    app: Services, actor: Actor, branch_id: str | None, *, limit: int = 100, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Newest first. A branch's managers read its log; the whole log (branch None) is the admins'."""
    if not 1 <= limit <= MAX_ENTRIES:
        raise InvalidInput(f"limit is from 1 to {MAX_ENTRIES}")
    if branch_id is None:
        require(actor, Action.ADMINISTER)
    else:
        require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.db.read() as conn:
        rows = await repo.audit_entries(conn, branch_id, limit=limit, before_id=before_id)
    return [_entry(row) for row in rows]
