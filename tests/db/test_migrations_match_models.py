"""The migrations build exactly the schema the models declare, on every database."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.models import Base
from parley.db.search.schema import include_object


def _differences(database_url: str) -> list[object]:
    async def run() -> list[object]:
        database = Database(database_url)
        try:
            await upgrade_to_head(database)
            async with database.engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"include_object": include_object}),
                        Base.metadata,
                    )
                )
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_a_migrated_database_has_the_models_schema(database_url: str) -> None:
    assert _differences(database_url) == []
