"""uploads, and the attachments messages carry

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parley.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("uploader_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", parley.db.types.UtcDateTime(), nullable=False),
        sa.Column("attached_at", parley.db.types.UtcDateTime(), nullable=True),
        sa.Column("deleted_at", parley.db.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_id"],
            ["users.id"],
            name=op.f("fk_uploads_uploader_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_uploads_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    op.create_index(op.f("ix_uploads_uploader_id"), "uploads", ["uploader_id"], unique=False)
    op.create_index(op.f("ix_uploads_message_id"), "uploads", ["message_id"], unique=False)
    op.create_index(op.f("ix_uploads_created_at"), "uploads", ["created_at"], unique=False)
    # Not in a batch: see 0004 (a rebuilt table cascades its ON DELETE on SQLite).
    op.add_column("messages", sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    op.drop_index(op.f("ix_uploads_created_at"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_message_id"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_uploader_id"), table_name="uploads")
    op.drop_table("uploads")
