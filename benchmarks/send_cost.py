"""Process CPU per stored send, in-process, on SQLite and PostgreSQL  (issue #15)

    .venv/bin/python benchmarks/send_cost.py                      # both databases
    .venv/bin/python benchmarks/send_cost.py --databases sqlite --sends 500 --blocks 7
    .venv/bin/python benchmarks/send_cost.py --profile /tmp/send.prof   # cProfile of one run

Builds the app's services (`Runtime.start`, bench settings, in-memory broker) against a
throwaway SQLite file and a throwaway PostgreSQL database (made on 127.0.0.1:5432, dropped
after), puts 100 members in one room and sends from one of them, one send at a time through
the service (the group-commit queue included, so each batch is one send; `--inflight N`:
N at once, so batches of about N): the database side
of a send and what the domain does around it, without sockets. Reports the process's CPU
(user+sys) per send as the minimum over blocks, which is robust to other load on the machine
(CPU time, not wall time; a block's minimum drops the blocks that met a GC or a checkpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from parley.config import Settings
from parley.db.models import Conversation, ConversationMember, User
from parley.domain.accounts.principal import Principal
from parley.domain.conversations.schemas import MessageSend
from parley.domain.roles import Role
from parley.runtime import Runtime

MEMBERS = 100


def cpu() -> float:
    return time.process_time()  # user+sys of this process, at the clock's resolution


async def measure(
    url: str, data: Path, sends: int, blocks: int, profile: str | None, inflight: int
) -> float:
    settings = Settings(
        data_dir=data,
        database_url=url,
        auto_migrate=True,
        jwt_secret="benchmark-secret-not-for-production-0123456789abcdef",  # noqa: S106
        log_level="warning",
        send_rate_per_user=1e9,
        send_burst_per_user=1e9,
        send_rate_per_connection=1e9,
        send_burst_per_connection=1e9,
    )
    async with Runtime.start(settings) as runtime:
        users = [uuid.uuid4() for _ in range(MEMBERS)]
        room = Conversation(
            id=uuid.uuid4(), kind="room", name="Cost", room_key="cost", status="active"
        )
        async with runtime.db.transaction() as tx:
            for user_id in users:
                tx.add(User(id=user_id, username=f"u_{user_id.hex[:12]}", role="customer"))
            tx.add(room)
            await tx.flush()
            for user_id in users:
                tx.add(ConversationMember(conversation_id=room.id, user_id=user_id))
        sender = Principal(users[0], uuid.uuid4(), Role.CUSTOMER, None, "Sender")
        command = MessageSend.model_validate({"conversation_id": str(room.id), "content": "hi"})
        send = runtime.messages.send
        for _ in range(50):  # warm up: statements prepared, pool filled
            await send(sender, command)
        per_send: list[float] = []
        profiler = cProfile.Profile() if profile else None
        for _ in range(blocks):
            if profiler:
                profiler.enable()
            started = cpu()
            for _ in range(sends // inflight):
                if inflight == 1:
                    await send(sender, command)
                else:  # group commit: the queue stores what is in flight as one batch
                    await asyncio.gather(*(send(sender, command) for _ in range(inflight)))
            per_send.append((cpu() - started) / (sends // inflight * inflight) * 1000)
            if profiler:
                profiler.disable()
        if profiler and profile:
            profiler.dump_stats(profile)
        print("  blocks (ms/send):", " ".join(f"{b:.3f}" for b in per_send))
        return min(per_send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sends", type=int, default=400)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--inflight", type=int, default=1, help="sends in flight at once")
    parser.add_argument("--profile", help="write a cProfile of the measured sends here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="send-cost-") as tmp:
        for database in args.databases.split(","):
            data = Path(tmp) / database
            profile = f"{args.profile}.{database}" if args.profile else None
            if database == "sqlite":
                url = f"sqlite+aiosqlite:///{data / 'parley.db'}"
                cost = asyncio.run(
                    measure(url, data, args.sends, args.blocks, profile, args.inflight)
                )
            else:
                name = f"send_cost_{os.getpid()}_{int(time.time())}"
                psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
                subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)  # noqa: S603
                try:
                    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
                    cost = asyncio.run(
                        measure(url, data, args.sends, args.blocks, profile, args.inflight)
                    )
                finally:
                    subprocess.run([*psql, f"DROP DATABASE {name} WITH (FORCE)"], check=True)  # noqa: S603
            print(f"{database}: {cost:.3f} ms CPU per send (min of {args.blocks} x {args.sends})")


if __name__ == "__main__":
    main()
