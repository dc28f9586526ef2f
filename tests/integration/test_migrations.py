"""The Alembic migrations build exactly the schema the application's tables describe,
on SQLite and on PostgreSQL, and upgrading an up-to-date database changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

from server.store.engine import open_database
from server.store.migrate import alembic_config, upgrade
from server.store.tables import Base
from tests.conftest import IN_CI, PG_URL, _pg_admin


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"branchq_mig_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await _pg_admin(PG_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as e:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is required under CI: {e}")
        pytest.skip(f"no PostgreSQL at {PG_URL}: {e}")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def compare_unwrapped(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """Compare a TypeDecorator column by the type it stores as.

    ``UTCDateTime`` is the application's wrapper around ``DateTime(timezone=True)``; the
    migrations (rightly) write the plain type, and the database can only ever report the
    plain type back. Any other difference in the stored type still counts. (Alembic 1.20
    happens to compile a decorator to its impl before comparing; this states the rule
    instead of relying on that.)
    """
    if isinstance(metadata_type, TypeDecorator):
        plain = Column(metadata_column.name, metadata_type.impl, nullable=metadata_column.nullable)
        return context.impl.compare_type(inspected_column, plain)
    return None  # Alembic's own comparison


async def schema_differences(url: str) -> list:
    db = open_database(url)
    try:
        async with db.read() as conn:

            def diff(sync_conn):
                context = MigrationContext.configure(
                    sync_conn, opts={"compare_type": compare_unwrapped}
                )
                return compare_metadata(context, Base.metadata)

            return await conn.run_sync(diff)
    finally:
        await db.dispose()


async def schema_snapshot(url: str) -> dict:
    """Tables, columns (name, type, nullability), indexes and unique constraints as reflected."""
    db = open_database(url)
    try:
        async with db.read() as conn:

            def reflect(sync_conn):
                insp = inspect(sync_conn)
                return {
                    table: {
                        "columns": [(c["name"], str(c["type"]), c["nullable"])
                                    for c in insp.get_columns(table)],
                        "indexes": sorted((i["name"], tuple(i["column_names"]))
                                          for i in insp.get_indexes(table)),
                        "uniques": sorted((u["name"], tuple(u["column_names"]))
                                          for u in insp.get_unique_constraints(table)),
                    }
                    for table in sorted(insp.get_table_names())
                }

            tables = await conn.run_sync(reflect)
            revisions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            return {"tables": tables, "revisions": sorted(revisions)}
    finally:
        await db.dispose()


def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def test_migrating_an_empty_database_to_head_builds_exactly_the_application_schema(empty_db_url):
    await upgrade(empty_db_url)

    assert await schema_differences(empty_db_url) == []
    snapshot = await schema_snapshot(empty_db_url)
    assert snapshot["revisions"] == [head_revision(empty_db_url)]
    assert set(snapshot["tables"]) == set(Base.metadata.tables) | {"alembic_version"}


async def test_upgrading_an_up_to_date_database_changes_nothing_and_keeps_its_data(empty_db_url):
    await upgrade(empty_db_url)
    db = open_database(empty_db_url)
    try:
        async with db.write() as conn:
            await conn.execute(text(
                "INSERT INTO branches (id, name_zh, name_en, name_zh_tw, timezone, language, hours,"
                " no_show_grace_s, business_date, event_seq, config_version) VALUES"
                " ('north', '北', 'North', '北', 'Asia/Shanghai', 'zh-CN', '{}', 600,"
                " '2026-03-02', 7, 1)"
            ))
    finally:
        await db.dispose()
    before = await schema_snapshot(empty_db_url)

    await upgrade(empty_db_url)

    assert await schema_snapshot(empty_db_url) == before
    assert await schema_differences(empty_db_url) == []
    db = open_database(empty_db_url)
    try:
        async with db.read() as conn:
            rows = (await conn.execute(text("SELECT id, event_seq FROM branches"))).all()
    finally:
        await db.dispose()
    assert [tuple(r) for r in rows] == [("north", 7)]


async def test_revision_0007_turns_the_old_no_estimate_sentinel_into_null_and_keeps_real_estimates(empty_db_url):
    """Before 0007 "issued with no counter open" was stored as -1; after it, NULL (sums skip it)."""
    await upgrade(empty_db_url, "0006")
    db = open_database(empty_db_url)
    try:
        async with db.write() as conn:
            await conn.execute(text(
                "INSERT INTO branches (id, name_zh, name_en, name_zh_tw, timezone, language, hours,"
                " no_show_grace_s, business_date, event_seq, config_version) VALUES"
                " ('north', '北', 'North', '北', 'Asia/Shanghai', 'zh-CN', '{}', 600, '2026-03-02', 0, 1)"
            ))
            await conn.execute(text(
                "INSERT INTO services (id, branch_id, code, name_zh, name_en, name_zh_tw, target_wait_s,"
                " target_service_s, green_allowed, active, position) VALUES"
                " (1, 'north', 'A', '现金', 'Cash', '現金', 600, 300, TRUE, TRUE, 0)"
            ))
            for ticket_id, estimate in [(1, -1), (2, 420), (3, 0)]:
                await conn.execute(text(
                    "INSERT INTO tickets (id, branch_id, business_date, service_id, series, sequence, number,"
                    " priority, state, token, issued_at, queued_at, head, recalls, transfers, ahead_at_issue,"
                    " estimated_wait_s, issued_hour) VALUES (:id, 'north', '2026-03-02', 1, 'A', :sequence,"
                    " :number, 'normal', 'waiting', :token, '2026-03-02 01:00:00+00:00',"
                    " '2026-03-02 01:00:00+00:00', FALSE, 0, 0, 0, :estimate, 9)"
                ), {"id": ticket_id, "sequence": ticket_id, "number": f"A{ticket_id:03d}",
                    "token": f"t{ticket_id:031d}", "estimate": estimate})
    finally:
        await db.dispose()

    await upgrade(empty_db_url, "0007")

    db = open_database(empty_db_url)
    try:
        async with db.read() as conn:
            rows = (await conn.execute(text("SELECT id, estimated_wait_s FROM tickets ORDER BY id"))).all()
    finally:
        await db.dispose()
    assert [tuple(r) for r in rows] == [(1, None), (2, 420), (3, 0)]
    await upgrade(empty_db_url)  # and on to the head with the row in place
    assert await schema_differences(empty_db_url) == []
