"""The wire: RFC 6455 framing, Engine.IO and Socket.IO packets; nothing about chat or games."""
