"""Notifications: the outbox of messages to send, customers' wishes to be told, branch templates.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("notifications", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "outbox",
        sa.Column("id", BIG, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("branch_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("send_at", TZ, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_until", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_outbox_branch_id_branches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_branch", "outbox", ["branch_id", "created_at"])
    op.create_table(
        "notify_wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", BIG, nullable=False),
        sa.Column("branch_id", sa.String(40), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("ahead", sa.Integer(), nullable=False),
        sa.Column("ahead_sent", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_notify_wishes_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"], name=op.f("fk_notify_wishes_branch_id_branches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_wishes")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_notify_wishes_ticket_id")),
    )


def downgrade() -> None:
    op.drop_table("notify_wishes")
    op.drop_index("ix_outbox_branch", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("notifications")
