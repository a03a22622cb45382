"""room topics and private rooms

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not in a batch: a rebuilt `conversations` would cascade to members and messages (0004).
    op.add_column("conversations", sa.Column("topic", sa.String(length=300), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("is_private", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("is_private")
        batch_op.drop_column("topic")
