"""conversations found by owner

Revision ID: 0010
Revises: 0009

`conversations.owner_id` indexed: the quota of groups and rooms one user may own counts them
at every creation (MariaDB already had an index for the foreign key; SQLite and PostgreSQL
scanned).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_conversations_owner_id"), "conversations", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_conversations_owner_id"), table_name="conversations")
