"""Reprints as print jobs, the just-called window per branch, and "no estimate" as NULL.

- ``print_jobs``: a reprint of a ticket on a kiosk's printer (the kiosk agent prints each once);
- ``branches.just_called_s``: how long after a call a call-next without ``expect`` counts as a
  second press (it was a global 3 s);
- ``tickets.estimated_wait_s`` becomes nullable, and the old sentinel -1 ("issued with no
  counter open") becomes NULL, so that sums and averages over estimates skip it by themselves.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NO_ESTIMATE = -1
"""What the column held for "no estimate" before this revision."""


def upgrade() -> None:
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("branch_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_print_jobs_branch_id_branches")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_print_jobs_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_print_jobs_device_id_devices")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_print_jobs_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
    )
    op.create_index("ix_print_jobs_device", "print_jobs", ["device_id", "id"])
    op.create_index("ix_print_jobs_ticket", "print_jobs", ["ticket_id"])
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("just_called_s", sa.Integer(), nullable=False, server_default="3"))
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("estimated_wait_s", existing_type=sa.Integer(), nullable=True)
    op.execute(f"UPDATE tickets SET estimated_wait_s = NULL WHERE estimated_wait_s = {NO_ESTIMATE}")


def downgrade() -> None:
    op.execute(f"UPDATE tickets SET estimated_wait_s = {NO_ESTIMATE} WHERE estimated_wait_s IS NULL")
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("estimated_wait_s", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("just_called_s")
    op.drop_index("ix_print_jobs_ticket", table_name="print_jobs")
    op.drop_index("ix_print_jobs_device", table_name="print_jobs")
    op.drop_table("print_jobs")
