"""Alembic environment: runs on the connection `parley.db.migrate` hands it.

Run through `parley migrate` (or `parley serve` on SQLite). For authoring a new revision:
`alembic -c src/parley/db/migrations/alembic.ini revision --autogenerate -m "…"`, with
DATABASE_URL pointing at a database that is at head.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from parley.db.models import Base
from parley.db.search.schema import include_object

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from parley.config import Settings
    from parley.db.database import Database

    database = Database(Settings().effective_database_url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


provided = config.attributes.get("connection")
if provided is not None:
    _run(provided)
else:
    asyncio.run(_run_standalone())
