"""An evaluator device belongs to one counter: it rates only the customers served there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("counter", sa.Integer(), nullable=True))
    with op.batch_alter_table("enrollment_codes") as batch:
        batch.add_column(sa.Column("counter", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrollment_codes") as batch:
        batch.drop_column("counter")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("counter")
