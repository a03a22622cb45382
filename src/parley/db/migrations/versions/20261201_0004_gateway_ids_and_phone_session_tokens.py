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
    # Plain ALTER TABLE ADD COLUMN and unique indexes: a batch "recreate" on SQLite would drop
    # and rebuild `users`, and dropping it cascades (ON DELETE) to every row that names a user.
    op.add_column("users", sa.Column("external_id", sa.String(length=128), nullable=True))
    op.create_index(op.f("ix_users_external_id"), "users", ["external_id"], unique=True)
    op.add_column(
        "device_sessions", sa.Column("otp_session_hash", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_device_sessions_otp_session_hash"),
        "device_sessions",
        ["otp_session_hash"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_device_sessions_otp_session_hash"), table_name="device_sessions")
    with op.batch_alter_table("device_sessions", schema=None) as batch_op:
        batch_op.drop_column("otp_session_hash")
    op.drop_index(op.f("ix_users_external_id"), table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("external_id")
