"""Emergency mode: incidents (emergencies and drills) and their timelines.

An emergency used to be a notice of level ``emergency``. It is an incident now; notices are
informational only. An emergency notice still showing when this runs becomes an active
incident of kind ``other`` for the whole branch (its texts, poster and time kept, so issuing
stays stopped), and the notice is taken down. Notices that already ended keep their level,
as history.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 20:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("waiting_at_start", sa.Integer(), nullable=False),
        sa.Column("affected", sa.JSON(), nullable=False),
        sa.Column("reported_upward_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_incidents_branch_id_branches")),
        sa.ForeignKeyConstraint(["started_by"], ["staff.id"], name=op.f("fk_incidents_started_by_staff")),
        sa.ForeignKeyConstraint(["ended_by"], ["staff.id"], name=op.f("fk_incidents_ended_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("branch_id", "active", name=op.f("uq_incidents_branch_id_active")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_branch_started", ["branch_id", "started_at"], unique=False)
    op.create_table(
        "incident_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_entries_incident_id_incidents")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_incident_entries_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_entries")),
    )
    with op.batch_alter_table("incident_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_entries_incident_id"), ["incident_id"], unique=False)
    _emergency_notices_become_incidents()


def _emergency_notices_become_incidents() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    notices = sa.table(
        "notices", sa.column("id", sa.Integer), sa.column("branch_id", sa.String), sa.column("texts", sa.JSON),
        sa.column("level", sa.String), sa.column("staff_id", sa.Integer),
        sa.column("posted_at", sa.DateTime(timezone=True)), sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("cleared_at", sa.DateTime(timezone=True)),
    )
    branches = sa.table("branches", sa.column("id", sa.String), sa.column("business_date", sa.Date))
    incidents = sa.table(
        "incidents", sa.column("id", sa.Integer), sa.column("branch_id", sa.String), sa.column("kind", sa.String),
        sa.column("scope", sa.JSON), sa.column("texts", sa.JSON), sa.column("drill", sa.Boolean),
        sa.column("active", sa.Boolean), sa.column("started_at", sa.DateTime(timezone=True)),
        sa.column("started_by", sa.Integer), sa.column("business_date", sa.Date),
        sa.column("waiting_at_start", sa.Integer), sa.column("affected", sa.JSON),
    )
    entries = sa.table(
        "incident_entries", sa.column("incident_id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
        sa.column("kind", sa.String), sa.column("staff_id", sa.Integer), sa.column("actor", sa.String),
        sa.column("text", sa.String),
    )
    rows = conn.execute(
        sa.select(notices, branches.c.business_date)
        .join(branches, branches.c.id == notices.c.branch_id)
        .where(notices.c.level == "emergency", notices.c.cleared_at.is_(None))
        .order_by(notices.c.id)
    ).all()
    done: set[str] = set()
    for row in rows:
        expires = row.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if (expires is not None and expires <= now) or row.branch_id in done:
            continue
        done.add(row.branch_id)
        posted = row.posted_at if row.posted_at.tzinfo else row.posted_at.replace(tzinfo=UTC)
        incident_id = conn.execute(
            sa.insert(incidents).values(
                branch_id=row.branch_id, kind="other", scope="all", texts=row.texts or {}, drill=False,
                active=True, started_at=posted, started_by=row.staff_id, business_date=row.business_date,
                waiting_at_start=0, affected=[],
            ).returning(incidents.c.id)
        ).scalar_one()
        conn.execute(sa.insert(entries).values(
            incident_id=incident_id, at=posted, kind="started", staff_id=row.staff_id, actor="migration",
            text=f"emergency notice {row.id}",
        ))
        conn.execute(sa.update(notices).where(notices.c.id == row.id).values(cleared_at=now))


def downgrade() -> None:
    with op.batch_alter_table("incident_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_entries_incident_id"))
    op.drop_table("incident_entries")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_branch_started")
    op.drop_table("incidents")
