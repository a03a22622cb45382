"""Wire-level constants shared by the socket transports: close codes and error codes.

Close codes (WebSocket close frame, and the reason given to Socket.IO clients):

| code | meaning |
|---|---|
| 1000 | normal closure |
| 1002 | protocol error (Engine.IO: a packet of no known type) |
| 1011 | the server failed |
| 1013 | try again later: the sign-in could not be checked (the database is busy or down) |
| 4401 | no valid credentials (bad, expired or revoked token) |
| 4408 | did not authenticate in time (Socket.IO: or connect to a namespace) |
| 4413 | a frame larger than the limit |
| 4429 | too slow: the client did not read its messages and its outbox overflowed |
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    PROTOCOL_ERROR = 1002
    SERVER_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    UNAUTHENTICATED = 4401
    AUTH_TIMEOUT = 4408
    FRAME_TOO_LARGE = 4413
    TOO_SLOW = 4429


# Error codes only the socket edge produces (the domain's own come from parley.errors).
BAD_FRAME = "bad_frame"
UNKNOWN_TYPE = "unknown_type"
NOT_AUTHENTICATED = "not_authenticated"
