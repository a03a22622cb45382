"""What `/metrics` reads from the running app at scrape time (`metrics.LiveCollector`): the
limits' refusals, the sockets (`realtime.stats`), games and pushes. Plain integers the app
keeps anyway, so the hot paths count nothing for the metrics' sake."""

from __future__ import annotations

from parley.api.metrics import Reading
from parley.realtime.stats import PROTOCOLS, SocketStats
from parley.realtime.wire.engineio import EngineServer
from parley.runtime import Runtime


def live_readings(runtime: Runtime, engine: EngineServer) -> list[Reading]:
    games = runtime.games.games
    refused = {**runtime.auth.guard.refused, "sign_in_busy": runtime.auth.hasher_refused}
    return [
        Reading(
            "parley_sends_refused",
            "Messages refused by SEND_RATE_PER_USER or SEND_RATE_PER_CONNECTION.",
            runtime.messages.limits.refused if runtime.messages.limits else 0,
            counter=True,
        ),
        Reading(
            "parley_creations_refused",
            "Conversations, rooms and game rooms refused by CREATIONS_PER_USER.",
            runtime.creations.refused,
            counter=True,
        ),
        Reading(
            "parley_unauthenticated_sockets_refused",
            "Sockets refused by MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT.",
            runtime.pending_sockets.refused,
            counter=True,
        ),
        Reading(
            "parley_broadcasts_refused",
            "Broadcasts refused by BROADCASTS_PER_KEY.",
            runtime.broadcasts.refused,
            counter=True,
        ),
        *(
            Reading(
                "parley_sign_in_refused",
                "Sign-ins, registrations and refreshes refused by a limit, by code.",
                count,
                counter=True,
                labels=(("code", code),),
            )
            for code, count in sorted(refused.items())
        ),
        Reading(
            "parley_socketio_sessions",
            "Engine.IO sessions (Socket.IO clients).",
            len(engine.sessions),
        ),
        Reading(
            "parley_chat_connections",
            "Signed-in chat connections (Socket.IO `/` and plain WebSocket).",
            runtime.hub.connection_count,
        ),
        Reading("parley_broker_channels", "Broker channels subscribed.", runtime.hub.channel_count),
        Reading(
            "parley_game_actions_relayed",
            "Player actions relayed to their rooms.",
            games.actions_relayed,
            counter=True,
        ),
        Reading(
            "parley_game_actions_dropped",
            "Player actions dropped by the per-player rate limit.",
            games.actions_dropped,
            counter=True,
        ),
        *push_readings(runtime),
        *socket_readings(runtime.hub.stats),
    ]


def socket_readings(stats: SocketStats) -> list[Reading]:
    readings = []
    for protocol in PROTOCOLS:
        counts = stats.protocols[protocol]
        frames_in, frames_out = stats.frames(protocol)
        label = (("protocol", protocol),)
        readings += [
            Reading(
                "parley_socket_connects",
                "Socket connections opened (Socket.IO: namespace connects), by protocol.",
                counts.connects,
                counter=True,
                labels=label,
            ),
            Reading(
                "parley_socket_disconnects",
                "Socket connections closed, for any reason, by protocol.",
                counts.disconnects,
                counter=True,
                labels=label,
            ),
            Reading(
                "parley_frames_received",
                "Frames (Socket.IO: events) received from clients, by protocol.",
                frames_in,
                counter=True,
                labels=label,
            ),
            Reading(
                "parley_frames_delivered",
                "Frames handed to connections (events, acks, errors), by protocol.",
                frames_out,
                counter=True,
                labels=label,
            ),
            Reading(
                "parley_outbox_drops",
                "Connections closed 4429 because their outbox overflowed, by protocol.",
                counts.outbox_drops,
                counter=True,
                labels=label,
            ),
        ]
    readings += [
        Reading(
            "parley_messages_sent",
            "Messages stored (new, not resends), by the transport they arrived on.",
            stats.protocols[transport].sent,
            counter=True,
            labels=(("transport", transport),),
        )
        for transport in ("rest", *PROTOCOLS)
    ]
    readings += [
        Reading(
            "parley_socket_auth_failures",
            "Socket sign-ins refused, by error code.",
            count,
            counter=True,
            labels=(("code", code),),
        )
        for code, count in sorted(stats.auth_failures.items())
    ]
    return readings


def push_readings(runtime: Runtime) -> list[Reading]:
    push = runtime.push
    if push is None:
        return []
    return [
        Reading("parley_push_sent", "Devices a push was delivered to.", push.sent, counter=True),
        Reading(
            "parley_push_failed",
            "Devices a push could not be delivered to (refused, or out of attempts).",
            push.failed,
            counter=True,
        ),
        *(
            Reading(
                "parley_push_dropped",
                "Pushes not sent, by reason.",
                count,
                counter=True,
                labels=(("reason", reason),),
            )
            for reason, count in sorted(push.dropped.items())
        ),
    ]
