"""Apply Alembic migrations from inside Parley, on its own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from parley.db.database import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))


async def is_at_head(database: Database) -> bool:
    def check(sync: Connection) -> bool:
        heads = set(ScriptDirectory.from_config(_alembic_config(sync)).get_heads())
        return set(MigrationContext.configure(sync).get_current_heads()) == heads

    async with database.engine.connect() as connection:
        return await connection.run_sync(check)
