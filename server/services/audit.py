"""The audit log: who changed what in the configuration, when, with before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store import tables as t

from server.domain.errors import InvalidInput

from .context import Actor, Services, require_staff

MAX_ENTRIES = 500


def who(actor: Actor | None) -> str:
    if actor is None:
        return "command line"
    if actor.kind == "staff":
        return actor.name or f"staff {actor.id}"
    return f"{actor.kind} {actor.name or actor.id}"


async def record(
    conn: AsyncConnection,
    actor: Actor | None,
    at: datetime,
    branch_id: str | None,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Write one entry in the caller's transaction, so it commits with the change or not at all."""
    await conn.execute(
        insert(t.AuditEntry).values(
            at=at, branch_id=branch_id,
            staff_id=actor.id if actor is not None and actor.kind == "staff" else None,
            actor=who(actor)[:100], action=action, target=target[:100], before=before, after=after,
        )
    )


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
        require_staff(actor, "", "admin")
    else:
        require_staff(actor, branch_id, "manager")
    a = t.AuditEntry
    query = select(a.__table__).order_by(a.id.desc()).limit(limit)
    if branch_id is not None:
        query = query.where(a.branch_id == branch_id)
    if before_id is not None:
        query = query.where(a.id < before_id)
    async with app.db.read() as conn:
        return [_entry(row) for row in (await conn.execute(query)).all()]
