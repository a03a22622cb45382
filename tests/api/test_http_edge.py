"""The HTTP edge against slow and oversized requests and connection floods, byte by byte over
raw sockets (an HTTP library would finish its requests for us)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.support.server import ServerProcess, start_server

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("edge"),
        {
            "HTTP_HEADER_TIMEOUT": str(TIMEOUT),
            "HTTP_BODY_TIMEOUT": str(TIMEOUT),
            "HTTP_MAX_HEADER_BYTES": "8192",
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("few"),
        {"HTTP_MAX_CONNECTIONS_PER_CLIENT": "3", "FORWARDED_ALLOW_IPS": "127.0.6.9"},
    )
    yield server
    server.stop()


def connect(server: ServerProcess, address: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=(address, 0)
    )


def answer_of(sock: socket.socket) -> tuple[int, dict[str, object], float]:
    """Read until the server closes: the status, the JSON error, and when it closed."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    closed_at = time.monotonic()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, orjson.loads(body) if body else {}, closed_at


def test_a_connection_that_sends_nothing_is_closed(edge: ServerProcess) -> None:
    started = time.monotonic()
    with connect(edge) as sock:
        status, body, closed_at = answer_of(sock)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert TIMEOUT - 0.05 <= closed_at - started < TIMEOUT + 5


def test_headers_that_never_finish_are_cut_off(edge: ServerProcess) -> None:
    with connect(edge) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: trickl")
        status, body, _ = answer_of(sock)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_oversized_headers_get_431(edge: ServerProcess) -> None:
    with connect(edge) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        status, body, _ = answer_of(sock)
    assert status == 431
    assert body["error"]["code"] == "headers_too_large"  # type: ignore[index]
    # Many headers that add up count the same way.
    many = b"".join(b"X-H%d: %s\r\n" % (n, b"b" * 100) for n in range(100))
    with connect(edge) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        status, _, _ = answer_of(sock)
    assert status == 431
    # And one that never ends is not buffered on and on: cut off at the limit, unparsed.
    with connect(edge) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: " + b"c" * 9000)
        status, _, _ = answer_of(sock)
    assert status == 431


def test_a_body_that_stops_arriving_is_cut_off(edge: ServerProcess) -> None:
    with connect(edge) as sock:
        sock.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"username"'
        )
        status, body, _ = answer_of(sock)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]


def test_keep_alive_requests_each_get_their_own_header_deadline(edge: ServerProcess) -> None:
    with connect(edge) as sock:
        for _ in range(3):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b'"status"' not in data:
                data += sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200")
    with httpx.Client(base_url=edge.base_url, timeout=10) as api:  # a normal client is served
        big = {"username": "x" * 500_000, "password": "y"}
        assert api.post("/api/v1/auth/login", json=big).status_code in (401, 422)


def test_connections_per_address(few: ServerProcess) -> None:
    held = [connect(few, "127.0.6.1") for _ in range(3)]
    try:
        for sock in held:  # each one is really open: it is served
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        with connect(few, "127.0.6.1") as extra:
            status, body, _ = answer_of(extra)
        assert status == 503
        assert body["error"]["code"] == "too_many_connections"  # type: ignore[index]
        with connect(few, "127.0.6.2") as other:  # another address is not affected
            other.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert answer_of(other)[0] == 200
        # The trusted proxy carries everyone: its connections are not counted.
        proxied = [connect(few, "127.0.6.9") for _ in range(5)]
        for sock in proxied:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert answer_of(sock)[0] == 200
            sock.close()
        held.pop().close()  # one closes: there is room again once the server has seen it
        deadline = time.monotonic() + 10
        while True:
            with connect(few, "127.0.6.1") as again:
                again.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if answer_of(again)[0] == 200:
                    break
            assert time.monotonic() < deadline
    finally:
        for sock in held:
            sock.close()
