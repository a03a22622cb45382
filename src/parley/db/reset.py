"""Drop every Parley table (and Alembic's bookkeeping) so migrations start from nothing."""

from __future__ import annotations

from sqlalchemy import text

from parley.db.database import Database
from parley.db.models import Base
from parley.db.search.schema import FTS_TABLE


async def drop_everything(database: Database) -> None:
    async with database.engine.begin() as connection:
        if database.is_sqlite:  # not in the models (migration 0008)
            await connection.execute(text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
