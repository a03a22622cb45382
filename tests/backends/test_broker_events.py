"""`Broker.publish_event`: the in-process broker hands this process's hub the event itself; a
broker between instances carries its encoding. Either way subscribers hear the same event."""

from __future__ import annotations

import asyncio

from parley.backends.memory import MemoryBroker
from parley.backends.memory_games import MemoryGameStore
from parley.domain.events import Event, game_channel
from parley.domain.gameplay.rooms import Room, RoomSnapshot, RoomStatus, Seat
from tests.support.redis_server import broker_pair

EVENT = Event("g:room", "game.action", {"room_id": "room", "player_id": "p1"}, origin="sock-1")


class Heard:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.events: list[Event] = []
        self.arrived = asyncio.Event()

    def message(self, channel: str, payload: bytes) -> None:
        self.messages.append((channel, payload))
        self.arrived.set()

    def event(self, event: Event) -> None:
        self.events.append(event)


async def test_the_in_process_broker_hands_over_the_event_itself() -> None:
    broker, heard = MemoryBroker(), Heard()
    broker.set_handler(heard.message, heard.event)
    await broker.publish_event(EVENT)  # not subscribed: nobody hears it
    await broker.subscribe("g:room")
    await broker.publish_event(EVENT, b"the encoding, unused")
    await broker.publish("g:room", EVENT.encode())  # bytes stay bytes
    assert heard.events == [EVENT]
    assert heard.events[0] is EVENT
    assert heard.messages == [("g:room", EVENT.encode())]


async def test_without_an_event_handler_the_in_process_broker_passes_the_encoding() -> None:
    broker, heard = MemoryBroker(), Heard()
    broker.set_handler(heard.message)
    await broker.subscribe("g:room")
    await broker.publish_event(EVENT)
    await broker.publish_event(EVENT, b"made by the caller")
    assert heard.messages == [("g:room", EVENT.encode()), ("g:room", b"made by the caller")]


async def test_redis_carries_the_events_encoding_to_every_instance() -> None:
    async with broker_pair() as (sender, receiver):
        heard = Heard()
        receiver.set_handler(heard.message, heard.event)  # an event handler changes nothing
        await receiver.subscribe("g:room")
        await sender.publish_event(EVENT)
        async with asyncio.timeout(10):
            await heard.arrived.wait()
        assert heard.events == []
        [(channel, payload)] = heard.messages
        assert Event.decode(channel, payload) == EVENT


async def test_a_relayed_action_reaches_the_hub_here_as_the_event_the_bytes_encode() -> None:
    broker, heard = MemoryBroker(), Heard()
    broker.set_handler(heard.message, heard.event)
    store = MemoryGameStore(broker)
    seat = Seat(player_id="p1", username="ann", name="Ann", joined_at="2026-12-02T00:00:00Z")
    room = Room(
        id="room",
        name="Room",
        game="free",
        capacity=4,
        settings={},
        owner_id="p1",
        status=RoomStatus.OPEN,
        players=[seat],
        created_at="2026-12-02T00:00:00Z",
    )
    await store.create(RoomSnapshot(room, seq=7))
    await broker.subscribe(game_channel("room"))
    head, tail = sequenced = EVENT.encode_sequenced()

    seq = await store.relay("room", "p1", {"x": 1}, None, EVENT, sequenced, max_shared_bytes=1024)

    assert seq == 8
    [event] = heard.events
    assert event.data == {"seq": 8, **EVENT.data}
    assert event.encode() == head + b"8" + tail  # what another broker would have carried
    assert heard.messages == []
    assert EVENT.data == {"room_id": "room", "player_id": "p1"}  # the caller's is untouched
