"""Appointments and remote tickets: slots' places, bookings (contact encrypted), their messages,
the tickets taken from the phone; the branch's ``appointments`` and ``remote`` settings.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-04 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.add_column(sa.Column("appointments", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("remote", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "booking_slots",
        sa.Column("id", BIG, nullable=False),
        sa.Column("branch_id", sa.String(40), _fk("booking_slots", "branch_id", "branches"), nullable=False),
        sa.Column("service_id", sa.Integer(), _fk("booking_slots", "service_id", "services"), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_booking_slots"),
        sa.UniqueConstraint("branch_id", "service_id", "start", name="uq_booking_slots_branch_id_service_id_start"),
    )
    op.create_table(
        "bookings",
        sa.Column("id", BIG, nullable=False),
        sa.Column("branch_id", sa.String(40), _fk("bookings", "branch_id", "branches"), nullable=False),
        sa.Column("service_id", sa.Integer(), _fk("bookings", "service_id", "services"), nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("contact_hash", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("checked_in_at", TZ, nullable=True),
        sa.Column("cancelled_at", TZ, nullable=True),
        sa.Column("ticket_id", BIG, _fk("bookings", "ticket_id", "tickets"), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("reschedules", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bookings"),
        sa.UniqueConstraint("branch_id", "code", name="uq_bookings_branch_id_code"),
        sa.UniqueConstraint("token", name="uq_bookings_token"),
        sa.UniqueConstraint("ticket_id", name="uq_bookings_ticket_id"),
    )
    op.create_index("ix_bookings_day", "bookings", ["branch_id", "day", "service_id"])
    op.create_index("ix_bookings_contact", "bookings", ["branch_id", "contact_hash", "state"])
    op.create_table(
        "booking_messages",
        sa.Column("id", BIG, nullable=False),
        sa.Column("branch_id", sa.String(40), _fk("booking_messages", "branch_id", "branches"), nullable=False),
        sa.Column("booking_id", BIG, _fk("booking_messages", "booking_id", "bookings"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("send_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_booking_messages"),
        sa.UniqueConstraint("key", name="uq_booking_messages_key"),
    )
    op.create_table(
        "remote_tickets",
        sa.Column("ticket_id", BIG, _fk("remote_tickets", "ticket_id", "tickets"), nullable=False),
        sa.Column("branch_id", sa.String(40), _fk("remote_tickets", "branch_id", "branches"), nullable=False),
        sa.Column("service_id", sa.Integer(), _fk("remote_tickets", "service_id", "services"), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("travel_min", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("ticket_id", name="pk_remote_tickets"),
    )
    op.create_index("ix_remote_tickets_day", "remote_tickets", ["branch_id", "business_date", "service_id"])


def downgrade() -> None:
    op.drop_table("remote_tickets")
    op.drop_table("booking_messages")
    op.drop_table("bookings")
    op.drop_table("booking_slots")
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("remote")
        batch.drop_column("appointments")
