"""Hostile and malformed input at the socket edges: answered with a stable error code, never a
500 and never a dropped connection (issue #10).

Origin bytes, Socket.IO ack ids, /ws frame ids, and `since` at sign-in and in `sync`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.accounts import Account, register
from tests.support.eio import EioSocket
from tests.support.server import ServerProcess, start_server

GOOD_ORIGIN = "http://good.example"


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("edges")), {"CORS_ALLOWED_ORIGINS": GOOD_ORIGIN}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def edge_account(edge_server: ServerProcess) -> Account:
    with httpx.Client(base_url=edge_server.base_url, timeout=15) as api:
        return register(api)


# -- Origin -----------------------------------------------------------------------------------


def test_a_non_utf8_origin_is_simply_not_allowed(edge_server: ServerProcess) -> None:
    with httpx.Client(base_url=edge_server.base_url, timeout=15) as http:
        path = "/socket.io/?EIO=4&transport=polling"
        bad = http.get(path, headers={"Origin": b"http://\xff\xfe.example"})
        assert bad.status_code == 200
        assert bad.text.startswith('0{"sid":')
        assert "access-control-allow-origin" not in bad.headers
        good = http.get(path, headers={"Origin": GOOD_ORIGIN})
        assert good.headers["access-control-allow-origin"] == GOOD_ORIGIN
        preflight = http.options(path, headers={"Origin": b"http://\xc3("})
        assert preflight.status_code < 500
        assert "access-control-allow-origin" not in preflight.headers


# -- Socket.IO ack ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        '42\u00b2["heartbeat"]',  # "²" is str.isdigit() but not an ack id
        '42\u0663["heartbeat"]',  # ARABIC-INDIC DIGIT THREE
        "42" + "1" * 4301 + '["heartbeat"]',  # past int()'s 4 300-digit limit
        "42" + "9" * 16 + '["heartbeat"]',  # no longer a safe JavaScript integer
    ],
    ids=["superscript", "arabic-indic", "4301-digits", "16-digits"],
)
async def test_a_bad_ack_id_is_a_bad_packet_and_the_connection_stays(
    edge_server: ServerProcess, edge_account: Account, packet: str
) -> None:
    client = await EioSocket.open(edge_server)
    await client.send(packet)  # before any namespace CONNECT or sign-in
    error = await client.event("error")
    assert error["code"] == "bad_packet"
    await client.send("40" + orjson.dumps({"token": edge_account.access_token}).decode())
    await client.event("authenticated")
    await client.send(packet)
    assert (await client.event("error"))["code"] == "bad_packet"
    await client.send('42999999999999999["heartbeat"]')  # 15 digits: fine
    answer = await client.next(lambda p: p.startswith("43999999999999999"))
    assert orjson.loads(answer[len("43999999999999999") :])[0]["status"] == "alive"
    await client.close()
