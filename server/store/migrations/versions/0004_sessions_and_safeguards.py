"""Sessions that can be ended, sign-in throttling, the demo marker, and what reports and
the lobby need to judge each ticket by the rules in force when it was issued.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REPORT_COLUMNS = [
    "branch_id", "business_date", "service_id", "priority", "state", "issued_hour", "wait_s",
    "service_s", "estimated_wait_s", "counter_id", "staff_id",
]


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_why", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_sessions_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
    )
    op.create_index("ix_staff_sessions_staff", "staff_sessions", ["staff_id", "ended_at"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "database_meta",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_database_meta")),
    )
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("limits", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("staff_reserve", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("counters") as batch:
        batch.add_column(sa.Column("pause_code", sa.String(length=16), nullable=True))
    op.drop_index("ix_tickets_report", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("target_wait_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("green_confirmed_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_tickets_green_confirmed_by_staff"), "staff", ["green_confirmed_by"], ["id"]
        )
    # Past tickets are judged by the target their service has now: the best that is known.
    op.execute(
        "UPDATE tickets SET target_wait_s = "
        "(SELECT services.target_wait_s FROM services WHERE services.id = tickets.service_id)"
    )
    op.create_index("ix_tickets_report", "tickets", [*REPORT_COLUMNS, "target_wait_s"])


def downgrade() -> None:
    op.drop_index("ix_tickets_report", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(op.f("fk_tickets_green_confirmed_by_staff"), type_="foreignkey")
        batch.drop_column("green_confirmed_by")
        batch.drop_column("target_wait_s")
    op.create_index("ix_tickets_report", "tickets", REPORT_COLUMNS)
    with op.batch_alter_table("counters") as batch:
        batch.drop_column("pause_code")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("staff_reserve")
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("limits")
    op.drop_table("database_meta")
    op.drop_table("login_throttle")
    op.drop_index("ix_staff_sessions_staff", table_name="staff_sessions")
    op.drop_table("staff_sessions")
