"""Drop every Parley table (and Alembic's bookkeeping) so migrations start from nothing."""

from __future__ import annotations

from sqlalchemy import text

from parley.db.database import Database
from parley.db.models import Base


async def drop_everything(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
