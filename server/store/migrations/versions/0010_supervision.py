"""Service standards that act (breach records) and inspections with rectification.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("max_service_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_queue", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_idle_s", sa.Integer(), nullable=True))
    op.create_table(
        "breaches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("branch_id", sa.String(40), sa.ForeignKey("branches.id", name="fk_breaches_branch_id_branches"),
                  nullable=False),
        sa.Column("rule", sa.String(24), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("open_key", sa.String(40), nullable=True),
        sa.Column("service", sa.String(2), nullable=True),
        sa.Column("counter", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("suggestion", sa.JSON(), nullable=True),
        sa.Column("raised_at", TZ, nullable=False),
        sa.Column("cleared_at", TZ, nullable=True),
        sa.Column("escalated_at", TZ, nullable=True),
        sa.Column("acknowledged_by", sa.Integer(),
                  sa.ForeignKey("staff.id", name="fk_breaches_acknowledged_by_staff"), nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_breaches"),
        sa.UniqueConstraint("branch_id", "open_key", name="uq_breaches_branch_id_open_key"),
    )
    op.create_index("ix_breaches_branch_raised", "breaches", ["branch_id", "raised_at"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("branch_id", sa.String(40),
                  sa.ForeignKey("branches.id", name="fk_inspections_branch_id_branches"), nullable=False),
        sa.Column("inspector_id", sa.Integer(),
                  sa.ForeignKey("staff.id", name="fk_inspections_inspector_id_staff"), nullable=True),
        sa.Column("checklist", sa.String(40), nullable=False),
        sa.Column("visited_at", TZ, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
    )
    op.create_index("ix_inspections_branch", "inspections", ["branch_id", "visited_at"])
    op.create_table(
        "inspection_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("inspection_id", sa.Integer(),
                  sa.ForeignKey("inspections.id", name="fk_inspection_items_inspection_id_inspections"),
                  nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_items"),
        sa.UniqueConstraint("inspection_id", "item", name="uq_inspection_items_inspection_id_item"),
    )
    op.create_table(
        "inspection_photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("inspection_id", sa.Integer(),
                  sa.ForeignKey("inspections.id", name="fk_inspection_photos_inspection_id_inspections"),
                  nullable=False),
        sa.Column("item", sa.String(40), nullable=True),
        sa.Column("file", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_photos"),
    )
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("branch_id", sa.String(40),
                  sa.ForeignKey("branches.id", name="fk_rectifications_branch_id_branches"), nullable=False),
        sa.Column("inspection_id", sa.Integer(),
                  sa.ForeignKey("inspections.id", name="fk_rectifications_inspection_id_inspections"),
                  nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("staff.id", name="fk_rectifications_owner_id_staff"),
                  nullable=False),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("deadline", TZ, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("reported_at", TZ, nullable=True),
        sa.Column("recheck_note", sa.Text(), nullable=True),
        sa.Column("rechecked_at", TZ, nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("overdue_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rectifications"),
    )
    op.create_index("ix_rectifications_branch", "rectifications", ["branch_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_rectifications_branch", table_name="rectifications")
    op.drop_table("rectifications")
    op.drop_table("inspection_photos")
    op.drop_table("inspection_items")
    op.drop_index("ix_inspections_branch", table_name="inspections")
    op.drop_table("inspections")
    op.drop_index("ix_breaches_branch_raised", table_name="breaches")
    op.drop_table("breaches")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("max_idle_s")
        batch.drop_column("max_queue")
        batch.drop_column("max_service_s")
