"""Run Alembic migrations from code (the CLI's ``branchq db upgrade`` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from .engine import async_url


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "server.store:migrations")
    cfg.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return cfg


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating an SQLite file if needed)."""
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    cfg = alembic_config(url)

    def run(sync_conn) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()
