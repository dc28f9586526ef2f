"""Complaint statistics and intake retries: which cases share a complainant (kept through
retention), and the Idempotency-Key of a complaint intake.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-04 20:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "complaint_complainants",
        sa.Column("complaint_id", BIG, nullable=False),
        sa.Column("first_case_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_complaint_complainants_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["first_case_id"], ["complaints.id"],
                                name=op.f("fk_complaint_complainants_first_case_id_complaints")),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaint_complainants")),
    )
    op.create_index("ix_complaint_complainants_first", "complaint_complainants", ["first_case_id"], unique=False)
    # Cases filed before this revision: the complainant is the branch's first case with the same
    # contact hash (while the contact is still there), else the case itself.
    op.execute(
        "INSERT INTO complaint_complainants (complaint_id, first_case_id) "
        "SELECT c.id, COALESCE((SELECT MIN(d.id) FROM complaints d WHERE d.branch_id = c.branch_id "
        "AND d.contact_hash = c.contact_hash), c.id) FROM complaints c"
    )
    op.create_table(
        "complaint_idempotency_keys",
        sa.Column("branch_id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("complaint_id", BIG, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["branch_id"], ["branches.id"],
                                name=op.f("fk_complaint_idempotency_keys_branch_id_branches")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_complaint_idempotency_keys_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("branch_id", "scope", "key", name=op.f("pk_complaint_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("complaint_idempotency_keys")
    op.drop_index("ix_complaint_complainants_first", table_name="complaint_complainants")
    op.drop_table("complaint_complainants")
