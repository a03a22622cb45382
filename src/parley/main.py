"""The ASGI entry point for servers: `uvicorn parley.main:app`.

Settings are read from the environment here; nothing connects until the lifespan starts.
"""

from parley.app import create_app, with_socket_fast_path
from parley.config import Settings
from parley.logs import configure_logging

_settings = Settings()
configure_logging(_settings)
app = with_socket_fast_path(create_app(_settings))
