"""room mutes and bans, and message reports

Revision ID: 0011
Revises: 0010

`room_restrictions`: a user muted (may read, not send) or banned (removed, may not rejoin) in
a group or room, until a time or until lifted. `message_reports`: members' reports of
messages for staff; `open_key` is unique while a report is open, so a reporter holds at most
one open report per message (NULL once resolved, and NULLs never collide on any database).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parley.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_restrictions",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("until", parley.db.types.UtcDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", parley.db.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", "kind"),
    )
    op.create_index(
        op.f("ix_room_restrictions_user_id"), "room_restrictions", ["user_id"], unique=False
    )
    op.create_table(
        "message_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.Column("created_at", parley.db.types.UtcDateTime(), nullable=False),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", parley.db.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    op.create_index(
        op.f("ix_message_reports_message_id"), "message_reports", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_message_reports_reporter_id"), "message_reports", ["reporter_id"], unique=False
    )
    op.create_index(
        "ix_message_reports_status_id", "message_reports", ["status", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_message_reports_status_id", table_name="message_reports")
    op.drop_index(op.f("ix_message_reports_reporter_id"), table_name="message_reports")
    op.drop_index(op.f("ix_message_reports_message_id"), table_name="message_reports")
    op.drop_table("message_reports")
    op.drop_index(op.f("ix_room_restrictions_user_id"), table_name="room_restrictions")
    op.drop_table("room_restrictions")
