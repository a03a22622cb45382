"""Real-time delivery: the hub, connections, and the Socket.IO and WebSocket transports."""
