"""Creates the game rooms for benchmarks/gameplay.sh and prints their ids, comma-separated.

Room k is created by the user whose token the load generator gives to the publisher of room
k (connection `clients + k`), so when that connection joins it takes back its own seat.

    gameplay_rooms.py BASE_URL TOKENS_FILE ROOMS CLIENTS
"""

from __future__ import annotations

import asyncio
import sys

import socketio


async def create_rooms(base_url: str, tokens: list[str], rooms: int, clients: int) -> list[str]:
    ids = []
    for k in range(rooms):
        client = socketio.AsyncClient(reconnection=False)
        token = tokens[(clients + k) % len(tokens)]
        await client.connect(
            base_url, auth={"token": token}, namespaces=["/gameplay"], transports=["websocket"]
        )
        room = await client.call(
            "create_room", {"name": f"bench-{k}", "capacity": 100}, namespace="/gameplay"
        )
        if "error" in room:
            raise SystemExit(f"create_room failed: {room['error']}")
        ids.append(room["room_id"])
        await client.disconnect()
    return ids


def main() -> None:
    base_url, tokens_file, rooms, clients = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    with open(tokens_file) as f:
        tokens = [line.strip() for line in f if line.strip()]
    print(",".join(asyncio.run(create_rooms(base_url, tokens, int(rooms), int(clients)))))


if __name__ == "__main__":
    main()
