"""one-time codes for phone sign-in

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parley.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "otps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mobile_no", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("session_token_hash", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=True),
        sa.Column("fcm_token", sa.String(length=4096), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", parley.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", parley.db.types.UtcDateTime(), nullable=False),
        sa.Column("verified_at", parley.db.types.UtcDateTime(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otps")),
        sa.UniqueConstraint("session_token_hash", name=op.f("uq_otps_session_token_hash")),
    )
    with op.batch_alter_table("otps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_otps_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_otps_mobile_no"), ["mobile_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("otps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_otps_mobile_no"))
        batch_op.drop_index(batch_op.f("ix_otps_expires_at"))

    op.drop_table("otps")
