"""Push planning's candidate query finds members' push devices through the partial index on
device sessions that have a token, not by reading every session of every member."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.dialects import sqlite

from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.push import push_candidates


async def test_the_device_check_probes_the_push_device_index(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    database = Database(f"sqlite:///{path}")
    try:
        await upgrade_to_head(database)
    finally:
        await database.dispose()
    plans = []
    for sender in (uuid.uuid4(), None):
        query, _ = push_candidates(uuid.uuid4(), sender, datetime.now(UTC), limit=1001)
        compiled = query.compile(dialect=sqlite.dialect())
        slots = len(compiled.positiontup or [])
        with sqlite3.connect(path) as db:
            rows = db.execute(f"EXPLAIN QUERY PLAN {compiled}", [None] * slots).fetchall()
        plans.append(" | ".join(str(row[-1]) for row in rows))
    for plan in plans:
        assert "device_sessions USING INDEX ix_device_sessions_push_user" in plan, plan
