"""per-conversation mutes, and push tokens found by hash

Revision ID: 0009
Revises: 0008

`conversation_members.muted` / `muted_until`: a member who muted a conversation gets no push
for it (until `muted_until`, or for good when it is NULL). `device_sessions.fcm_token_hash`:
the SHA-256 of the push token, indexed, so that a token set on one session is taken off any
other session that still holds it (a device that signed in as someone else) without a scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parley.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch: a rebuilt table cascades ON DELETE on SQLite (0004).
    op.add_column(
        "conversation_members",
        sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "conversation_members",
        sa.Column("muted_until", parley.db.types.UtcDateTime(), nullable=True),
    )
    op.add_column(
        "device_sessions", sa.Column("fcm_token_hash", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_device_sessions_fcm_token_hash"),
        "device_sessions",
        ["fcm_token_hash"],
        unique=False,
    )
    # Tokens stored before this revision get their hash when they are next set; until then
    # they are still pushed to, only not de-duplicated.


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason as above.
    op.drop_index(op.f("ix_device_sessions_fcm_token_hash"), table_name="device_sessions")
    op.drop_column("device_sessions", "fcm_token_hash")
    op.drop_column("conversation_members", "muted_until")
    op.drop_column("conversation_members", "muted")
