"""The HTTP edge `parley serve` runs: uvicorn's httptools protocol with the limits a public
server needs and uvicorn does not have — against slow and oversized requests, and too many
connections from one address.

- The request line and headers must arrive within HTTP_HEADER_TIMEOUT_SECS of the
  connection (or of the previous response, on keep-alive) and fit in HTTP_MAX_HEADER_BYTES:
  else 408 or 431, and the connection is closed.
- A body must arrive within HTTP_BODY_TIMEOUT_SECS of its headers (time the application
  spends not reading it does not count): else 408 and close. Larger files than that allows
  go straight to storage (presigned uploads).
- At most HTTP_MAX_CONNECTIONS_PER_CLIENT open HTTP connections per client address, counted
  on the TCP peer; a trusted proxy's connections (FORWARDED_ALLOW_IPS) are not counted, since
  they carry everyone. A connection over the limit gets 503 and is closed. A connection that
  upgrades to a WebSocket leaves the count: sockets have their own sign-in deadlines.

Why a subclass of uvicorn's protocol: these are transport events (bytes arriving, timers), which
no ASGI middleware sees; uvicorn is pinned below its next minor for it (pyproject.toml).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

VERDICTS_KEPT = 4096
"""Client addresses whose `EdgeLimits.counts` answer is remembered (all forgotten past it)."""

REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


@dataclass(frozen=True)
class EdgeLimits:
    header_timeout_secs: float
    max_header_bytes: int
    body_timeout_secs: float
    max_connections_per_client: int
    trusted_proxies: tuple[str, ...] = ()
    """FORWARDED_ALLOW_IPS as Settings normalised it (addresses, networks, or "*")."""

    def counts(self, address: str) -> bool:
        """Whether connections from `address` count against the per-client limit."""
        verdicts = self._verdicts
        verdict = verdicts.get(address)
        if verdict is None:
            if len(verdicts) >= VERDICTS_KEPT:
                verdicts.clear()
            verdict = verdicts[address] = self._counts(address)
        return verdict

    def _counts(self, address: str) -> bool:
        if "*" in self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return True
        return not any(ip in network for network in self._networks)

    @functools.cached_property
    def _verdicts(self) -> dict[str, bool]:
        """`counts` by address, remembered: parsing the address was ~4 % of a connect."""
        return {}

    @functools.cached_property
    def _networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The trusted proxies parsed once, not on every connection."""
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)


def edge_protocol(limits: EdgeLimits) -> type[HttpToolsProtocol]:
    """The protocol class for uvicorn's `http=`, with these limits."""
    open_per_client: Counter[str] = Counter()

    class EdgeHttpProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._counted: str | None = None
            self._timer: asyncio.TimerHandle | None = None
            self._in_headers = True
            self._header_bytes = 0
            self._completed = 0
            """Requests whose bytes have all arrived, on this connection."""
            self._header_size = 0
            """The request line and headers as parsed (the reads count what is unparsed)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else ""
            if limits.counts(address):
                if open_per_client[address] >= limits.max_connections_per_client:
                    self._refuse(503, "too_many_connections", "Too many connections from you.")
                    return
                open_per_client[address] += 1
                self._counted = address
            self._arm(limits.header_timeout_secs, self._header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._leave_count()
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return
            if self._in_headers and self._timer is None:
                self._arm(limits.header_timeout_secs, self._header_timeout)  # after keep-alive
            completed = self._completed
            super().data_received(data)
            if self._completed != completed:
                # A request ended in this read: what followed it (if anything) is the start
                # of the next one, of unknown length; count from the next read on.
                return
            if self._in_headers and not self.transport.is_closing():
                self._header_bytes += len(data)
                if self._header_bytes > limits.max_header_bytes:
                    self._refuse(
                        431,
                        "headers_too_large",
                        f"The request line and headers are over {limits.max_header_bytes} bytes.",
                    )

        def on_url(self, url: bytes) -> None:
            self._header_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_size += len(name) + len(value) + 4
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._disarm()
            if self._header_size > limits.max_header_bytes:
                self._refuse(
                    431,
                    "headers_too_large",
                    f"The request line and headers are over {limits.max_header_bytes} bytes.",
                )
                return
            super().on_headers_complete()
            if self.cycle is not None and self.cycle.more_body:
                self._arm(limits.body_timeout_secs, self._body_timeout)

        def on_body(self, body: bytes) -> None:
            if not self.transport.is_closing():
                super().on_body(body)

        def on_message_complete(self) -> None:
            self._disarm()
            if self.transport.is_closing():
                return
            super().on_message_complete()
            self._completed += 1
            self._in_headers = True  # the next request on this connection, when it comes
            self._header_bytes = self._header_size = 0

        def handle_websocket_upgrade(self) -> None:
            self._leave_count()
            self._disarm()
            protocol_class: Any = self.ws_protocol_class
            if not hasattr(protocol_class, "take_over"):  # another server's protocol
                super().handle_websocket_upgrade()
                return
            # Parley's own (realtime/wire/websocket): the request as parsed here.
            self.connections.discard(self)
            protocol = protocol_class(
                config=self.config, server_state=self.server_state, app_state=self.app_state
            )
            protocol.take_over(
                self.transport, self.url, self.headers, server=self.server, client=self.client
            )
            self.transport.set_protocol(protocol)

        def _header_timeout(self) -> None:
            self._timer = None
            if self._header_bytes or self.cycle is None or self.cycle.response_complete:
                self._refuse(408, "request_timeout", "The request headers took too long.")

        def _body_timeout(self) -> None:
            self._timer = None
            if self.flow is not None and self.flow.read_paused:
                # The application is not reading: its time is not the client's.
                self._arm(limits.body_timeout_secs, self._body_timeout)
                return
            if self.cycle is not None and not self.cycle.response_started:
                self._refuse(408, "request_timeout", "The request body took too long.")
            else:
                self.transport.close()

        def _arm(self, secs: float, handler: Any) -> None:
            self._disarm()
            self._timer = self.loop.call_later(secs, handler)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _leave_count(self) -> None:
            if self._counted is not None:
                open_per_client[self._counted] -= 1
                if not open_per_client[self._counted]:
                    del open_per_client[self._counted]
                self._counted = None

        def _refuse(self, status: int, code: str, message: str) -> None:
            body = orjson.dumps({"error": {"code": code, "message": message}})
            head = b"HTTP/1.1 %d %s\r\n" % (status, REASONS[status])
            self.transport.write(
                head
                + b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
                + b"connection: close\r\n\r\n"
                + body
            )
            self._disarm()
            self.transport.close()
            if self.cycle is not None:
                self.cycle.disconnected = True

    return EdgeHttpProtocol
