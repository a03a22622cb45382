"""external ids of gateway users; the phone sign-in session token on device sessions

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_external_id"), ["external_id"])
    with op.batch_alter_table("device_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("otp_session_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_device_sessions_otp_session_hash"), ["otp_session_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("device_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_device_sessions_otp_session_hash"), type_="unique")
        batch_op.drop_column("otp_session_hash")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_external_id"), type_="unique")
        batch_op.drop_column("external_id")
