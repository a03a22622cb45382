"""message search indexes (SQLite FTS5, PostgreSQL GIN, MariaDB FULLTEXT)

Revision ID: 0008
Revises: 0007

Each database gets its own full-text index on messages.content; none of them is in the
models (see `parley.db.search.schema`, which names them for the schema comparison).

- SQLite: an external-content FTS5 table over messages (it stores only the index, the text
  stays in messages), kept by three triggers, built once here from the existing rows. A
  later batch migration that recreates `messages` drops the triggers and renumbers rowids:
  it must recreate them and run `INSERT INTO messages_fts(messages_fts) VALUES('rebuild')`.
- PostgreSQL: a GIN index on `to_tsvector('simple', content)`; queries use that exact
  expression, so the index is used and no column or trigger is needed.
- MariaDB: an InnoDB FULLTEXT index on content.
"""

from collections.abc import Sequence

from alembic import op

# Written out, not imported: a migration keeps meaning what it meant when it was written.
# `parley.db.search.schema` names the same objects for the queries and the comparison.
FTS_TABLE = "messages_fts"
FTS_TRIGGERS = ("messages_fts_inserted", "messages_fts_deleted", "messages_fts_updated")
GIN_INDEX = "ix_messages_content_search"
PG_VECTOR_SQL = "to_tsvector('simple'::regconfig, content)"
FULLTEXT_INDEX = "ix_messages_content_fulltext"

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
            "content, content='messages', content_rowid='rowid', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        insert = f"INSERT INTO {FTS_TABLE}(rowid, content) VALUES (new.rowid, new.content);"  # noqa: S608 -- constants
        forget = (
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, content) "  # noqa: S608 -- constants
            "VALUES ('delete', old.rowid, old.content);"
        )
        inserted, deleted, updated = FTS_TRIGGERS
        op.execute(f"CREATE TRIGGER {inserted} AFTER INSERT ON messages BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {deleted} AFTER DELETE ON messages BEGIN {forget} END")
        op.execute(
            f"CREATE TRIGGER {updated} AFTER UPDATE OF content ON messages "
            f"BEGIN {forget} {insert} END"
        )
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # noqa: S608
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX {GIN_INDEX} ON messages USING gin ({PG_VECTOR_SQL})")
    else:
        op.execute(f"CREATE FULLTEXT INDEX {FULLTEXT_INDEX} ON messages (content)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif dialect == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")
    else:
        op.execute(f"DROP INDEX {FULLTEXT_INDEX} ON messages")
