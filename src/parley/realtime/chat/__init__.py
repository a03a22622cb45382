"""Chat over sockets: the commands, the `/` Socket.IO namespace and the `/ws` session."""
