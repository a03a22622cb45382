"""Real-time delivery: the hub and its connections, over Socket.IO and plain WebSocket.

Rooms, from the bytes up: `wire/` (the protocols, nothing about chat or games),
`transports/` (a signed-in Parley connection over each protocol), `chat/` and `gameplay/`
(what clients can do, as commands to the domain), `dialects/` (the seeds' wire shapes of
events). At the top: `hub` (the one fan-out path), `connection`, `signin`, `expiry`,
`pipeline`, `protocol` (close and error codes). See docs/architecture.md.
"""
