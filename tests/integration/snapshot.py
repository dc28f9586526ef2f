"""The whole database as plain Python values, to prove a refused request changed nothing.

``await snapshot(services)`` reads every row of every table in the schema
(``server.store.tables.Base.metadata``), each table ordered by its primary key,
in one consistent read. Values are made plain and exact: datetimes and dates
become ISO strings (so an instant stored with another zone or precision shows as
different), JSON columns stay dicts and lists, enums become their values.
Two snapshots compare equal only when every stored value is the same, with one
exception: ``devices.last_seen_at``, which any request with a valid device token may
move (at most once a minute). It records that the device was seen, not something the
request changed. Likewise the ``staff_sessions`` table is left out: signing in adds a row
there, and a test signs its actors in between its two snapshots. (The session tests read
that table themselves.)
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from server.store.tables import Base

#: Bookkeeping columns a refused request may still move.
SEEN = {("devices", "last_seen_at")}
#: Tables of sign-ins, not of what requests change.
SIGN_INS = {"staff_sessions"}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, memoryview):
        return bytes(value)
    return value


async def snapshot(services) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table: ``{table name: [{column: value}, …] ordered by primary key}``."""
    tables: dict[str, list[dict[str, Any]]] = {}
    async with services.db.snapshot_read() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in SIGN_INS:
                continue
            key = list(table.primary_key.columns)
            assert key, f"table {table.name} has no primary key to order by"
            rows = (await conn.execute(select(table).order_by(*key))).mappings().all()
            tables[table.name] = [
                {name: _plain(value) for name, value in row.items() if (table.name, name) not in SEEN}
                for row in rows
            ]
    return tables
