"""Administration: branch settings, service hours, retired services and counters,
regional staff, device enrollment codes and the audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("holidays", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("announcements", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("hours", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("counters") as batch:
        batch.add_column(sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("branches", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"],
                                name=op.f("fk_enrollment_codes_branch_id_branches")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_enrollment_codes_staff_id_staff")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_enrollment_codes_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrollment_codes_code_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_branch", "audit_log", ["branch_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_branch", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("enrollment_codes")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("branches")
    with op.batch_alter_table("counters") as batch:
        batch.drop_column("retired")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("retired")
        batch.drop_column("hours")
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("announcements")
        batch.drop_column("holidays")
        batch.drop_column("languages")
