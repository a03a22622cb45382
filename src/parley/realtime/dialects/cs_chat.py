"""The customer-service chat seed's (002) plain-WebSocket frame types."""

from __future__ import annotations

FRAME_TYPES = {"message.created": "new_message"}
"""Domain event → frame type, where it differs from the Socket.IO event name."""
