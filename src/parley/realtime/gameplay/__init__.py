"""Game rooms over sockets: the `/gameplay` namespace and the `/ws/gameplay` session."""
