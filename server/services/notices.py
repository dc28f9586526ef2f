"""Notices: a manager's text on every display and kiosk of the branch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.domain.access import Action, require
from server.domain.errors import NotFound
from server.domain.events import NOTICE_CLEARED, NOTICE_POSTED
from server.protocol import NoticeAnswer, NoticeIn
from server.store import repository as repo

from .context import Actor, Services


def _answer(row: Any) -> NoticeAnswer:
    return NoticeAnswer(id=row.id, texts=row.texts, level=row.level, posted_at=row.posted_at,
                        expires_at=row.expires_at)


async def post_notice(app: Services, actor: Actor, branch_id: str, body: NoticeIn) -> NoticeAnswer:
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        expires = tx.now + timedelta(minutes=body.minutes) if body.minutes else None
        notice_id = await repo.insert_notice(
            tx.conn,
            {"branch_id": branch_id, "texts": dict(body.texts), "level": body.level,
             "staff_id": actor.id, "posted_at": tx.now, "expires_at": expires},
        )
        tx.emit(NOTICE_POSTED, {"id": notice_id, "level": body.level}, staff_id=actor.id)
        return NoticeAnswer(id=notice_id, texts=dict(body.texts), level=body.level,
                            posted_at=tx.now, expires_at=expires)


async def clear_notice(app: Services, actor: Actor, branch_id: str, notice_id: int) -> dict[str, int]:
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        if not await repo.clear_notice(tx.conn, branch_id, notice_id, tx.now):
            raise NotFound(f"no notice {notice_id} showing in branch {branch_id!r}")
        tx.emit(NOTICE_CLEARED, {"id": notice_id}, staff_id=actor.id)
    return {"cleared": notice_id}


async def clear_expired(app: Services) -> list[tuple[str, int]]:
    """Take down every notice whose end time has passed, each with ``notice.cleared``, so every
    screen drops it without a reload; the (branch, notice) pairs taken down.

    Safe on several processes at once: a notice is cleared by one conditional update, inside
    its branch's unit of work, and only the process whose update took it down announces it.
    """
    async with app.db.read() as conn:
        branches = await repo.branches_with_expired_notices(conn, app.clock())
    cleared: list[tuple[str, int]] = []
    for branch_id in branches:
        async with app.unit_of_work(branch_id) as tx:
            for notice_id in await repo.clear_expired_notices(tx.conn, branch_id, tx.now):
                tx.emit(NOTICE_CLEARED, {"id": notice_id})
                cleared.append((branch_id, notice_id))
    return cleared


async def list_notices(app: Services, actor: Actor, branch_id: str) -> list[NoticeAnswer]:
    require(actor, Action.READ_QUEUE, branch_id)
    async with app.reading(branch_id) as (conn, _branch, _config):
        return [_answer(r) for r in await repo.active_notices(conn, branch_id, app.clock())]
