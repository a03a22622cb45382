"""Bob, over Parley's plain WebSocket (pip install websockets): answers Alice's first message."""

import asyncio
import json
import os

from websockets.asyncio.client import connect


async def main() -> None:
    url = os.environ["PARLEY_URL"].replace("http", "ws", 1) + "/ws?token=" + os.environ["BOB_TOKEN"]
    async with connect(url) as ws:
        print("bob:", json.loads(await ws.recv())["type"], flush=True)  # authenticated
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "new_message":
                print("bob got:", frame["data"]["content"], flush=True)
                reply = {"room_id": os.environ["ROOM"], "content": "Hi Alice, Bob here"}
                await ws.send(json.dumps({"type": "send_message", "id": "1", "data": reply}))
            elif frame["type"] == "ack":  # stored and delivered: done
                return


asyncio.run(main())
