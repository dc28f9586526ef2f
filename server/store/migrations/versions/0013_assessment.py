"""Staff assessment: the branch's assessment rules, the evaluator's prompts, findings about a person;
the branch's own breach escalation delay.

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("assessment", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("standards", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "rating_prompts",
        sa.Column("ticket_id", BIG_ID, sa.ForeignKey("tickets.id", name="fk_rating_prompts_ticket_id_tickets"),
                  nullable=False),
        sa.Column("branch_id", sa.String(40),
                  sa.ForeignKey("branches.id", name="fk_rating_prompts_branch_id_branches"), nullable=False),
        sa.Column("counter_id", sa.Integer(),
                  sa.ForeignKey("counters.id", name="fk_rating_prompts_counter_id_counters"), nullable=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", name="fk_rating_prompts_staff_id_staff"),
                  nullable=True),
        sa.Column("device_id", sa.Integer(),
                  sa.ForeignKey("devices.id", name="fk_rating_prompts_device_id_devices"), nullable=True),
        sa.Column("shown_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_rating_prompts"),
    )
    op.create_index("ix_rating_prompts_staff", "rating_prompts", ["branch_id", "staff_id", "shown_at"])
    op.create_table(
        "staff_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("branch_id", sa.String(40),
                  sa.ForeignKey("branches.id", name="fk_staff_findings_branch_id_branches"), nullable=False),
        sa.Column("inspection_id", sa.Integer(),
                  sa.ForeignKey("inspections.id", name="fk_staff_findings_inspection_id_inspections"),
                  nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", name="fk_staff_findings_staff_id_staff"),
                  nullable=False),
        sa.Column("visited_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_findings"),
        sa.UniqueConstraint("inspection_id", "item", name="uq_staff_findings_inspection_id_item"),
    )
    op.create_index("ix_staff_findings_staff", "staff_findings", ["branch_id", "staff_id", "visited_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_findings_staff", table_name="staff_findings")
    op.drop_table("staff_findings")
    op.drop_index("ix_rating_prompts_staff", table_name="rating_prompts")
    op.drop_table("rating_prompts")
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("standards")
        batch.drop_column("assessment")
