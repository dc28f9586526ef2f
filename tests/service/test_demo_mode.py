"""Demo credentials are public: they work only in demo mode, and live only in a demo database."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import delete

from server.domain.errors import Conflict, Unauthenticated
from server.services import auth
from server.services.branches import BranchSpec, create_branch
from server.services.context import Services
from server.services.demo import DEMO_PASSWORD, DEMO_TOKENS, is_demo_database, seed_demo
from server.store import repository as repo
from server.store.engine import create_schema, open_memory_database
from server.store.tables import DatabaseMeta
from tests.integration.snapshot import snapshot

from .conftest import World

NORTH = BranchSpec.model_validate(
    {"id": "north", "names": {"zh-CN": "北门支行", "en": "North Gate"},
     "services": [{"code": "A", "names": {"zh-CN": "现金", "en": "Cash"}}],
     "counters": [{"number": 1, "services": ["A"]}]}
)


def without_demo(app: Services) -> Services:
    """The same database served by a server started without ``--demo``."""
    return dataclasses.replace(app, demo=False)


@pytest.mark.parametrize("username", ["admin", "manager", "teller3"])
async def test_the_demo_password_is_refused_when_the_server_runs_without_demo(world: World, username):
    assert (await auth.login(world.app, username, DEMO_PASSWORD)).actor.name == username, "accepted in demo mode"
    with pytest.raises(Unauthenticated) as refused:
        await auth.login(without_demo(world.app), username, DEMO_PASSWORD)
    assert refused.value.code == "bad_credentials"


@pytest.mark.parametrize("kind", sorted(DEMO_TOKENS))
async def test_the_demo_device_tokens_are_refused_when_the_server_runs_without_demo(world: World, kind):
    assert (await auth.device_actor(world.app, DEMO_TOKENS[kind])).role == kind, "accepted in demo mode"
    with pytest.raises(Unauthenticated) as refused:
        await auth.device_actor(without_demo(world.app), DEMO_TOKENS[kind])
    assert refused.value.code == "bad_token"


async def test_other_accounts_and_tokens_work_without_demo(world: World):
    app = without_demo(world.app)
    await auth.add_staff(app, username="alice", password="alice's pass", role="teller", branch_id="demo")
    token = await auth.add_device(app, branch_id="demo", kind="kiosk", name="door")
    assert (await auth.login(app, "alice", "alice's pass")).actor.name == "alice"
    assert (await auth.device_actor(app, token)).name == "door"


@pytest.fixture
async def empty() -> Services:
    db = open_memory_database()
    await create_schema(db)
    yield Services(db, demo=True)
    await db.dispose()


async def test_seeding_marks_the_database_as_a_demo_database(empty: Services):
    assert not await is_demo_database(empty)
    assert await seed_demo(empty)
    assert await is_demo_database(empty)
    assert not await seed_demo(empty), "seeded once"


@pytest.mark.parametrize("holds", ["branch", "staff"])
async def test_demo_is_refused_on_an_unmarked_database_holding_anything_else(empty: Services, holds):
    if holds == "branch":
        await create_branch(empty, NORTH)
    else:
        await auth.add_staff(empty, username="root", password="root's pass", role="admin", branch_id=None)
    before = await snapshot(empty)
    with pytest.raises(Conflict) as refused:
        await seed_demo(empty)
    assert refused.value.code == "not_a_demo_database"
    assert await snapshot(empty) == before, "nothing of the demo written"
    async with empty.db.read() as conn:
        assert await repo.staff_by_username(conn, "admin") is None


async def test_a_demo_database_from_before_the_mark_is_marked_and_kept(empty: Services):
    await seed_demo(empty)
    async with empty.unit_of_work(None) as uow:  # as an older version left it: no mark
        await uow.conn.execute(delete(DatabaseMeta))
    assert not await is_demo_database(empty)
    assert not await seed_demo(empty)
    assert await is_demo_database(empty)


async def test_a_marked_demo_database_may_hold_more_branches(empty: Services):
    await seed_demo(empty)
    await create_branch(empty, NORTH)
    assert not await seed_demo(empty)
