"""Complaint cases: the case (contact encrypted), its timeline, its rectification; the branch's rules.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("complex", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("escalated_to", sa.Integer(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("counter_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("counter_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("contact_masked", sa.JSON(), nullable=False),
        sa.Column("contact_hash", sa.String(length=64), nullable=True),
        sa.Column("contact_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("regulator_ref", sa.String(length=60), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("sent_via", sa.String(length=16), nullable=True),
        sa.Column("remedies", sa.JSON(), nullable=False),
        sa.Column("against_teller", sa.Boolean(), nullable=False),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("first_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_late", sa.Boolean(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_complaints_branch_id_branches")),
        sa.ForeignKeyConstraint(["counter_id"], ["counters.id"], name=op.f("fk_complaints_counter_id_counters")),
        sa.ForeignKeyConstraint(["escalated_to"], ["staff.id"], name=op.f("fk_complaints_escalated_to_staff")),
        sa.ForeignKeyConstraint(["handler_id"], ["staff.id"], name=op.f("fk_complaints_handler_id_staff")),
        sa.ForeignKeyConstraint(["merged_into"], ["complaints.id"], name=op.f("fk_complaints_merged_into_complaints")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_complaints_service_id_services")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_complaints_staff_id_staff")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_complaints_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("number", name=op.f("uq_complaints_number")),
        sa.UniqueConstraint("token", name=op.f("uq_complaints_token")),
    )
    op.create_index("ix_complaints_branch", "complaints", ["branch_id", "state", "due_on"], unique=False)
    op.create_index("ix_complaints_contact", "complaints", ["branch_id", "contact_hash"], unique=False)
    op.create_table(
        "complaint_rectifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=50), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked", sa.String(length=16), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_rectifications_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_rectifications")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_complaint_rectifications_complaint_id")),
    )
    op.create_table(
        "complaint_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_steps_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_complaint_steps_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_steps")),
    )
    op.create_index("ix_complaint_steps_case", "complaint_steps", ["complaint_id", "id"], unique=False)
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("complaints", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("complaints")
    op.drop_index("ix_complaint_steps_case", table_name="complaint_steps")
    op.drop_table("complaint_steps")
    op.drop_table("complaint_rectifications")
    op.drop_index("ix_complaints_contact", table_name="complaints")
    op.drop_index("ix_complaints_branch", table_name="complaints")
    op.drop_table("complaints")
