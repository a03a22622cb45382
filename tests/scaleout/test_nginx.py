"""Three instances on PostgreSQL + Redis behind nginx, as deploy/nginx.conf sets them up."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import socketio

from tests.conftest import migrate
from tests.support.accounts import register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.server import API_KEY, ServerProcess, free_port, start_server
from tests.support.services import (
    REDIS_URL,
    create_postgres_database,
    in_ci,
    require_tcp,
    scale_out_env,
)

DEPLOY_CONF = Path(__file__).parents[2] / "deploy" / "nginx.conf"


@dataclass
class Balanced:
    url: str
    instances: list[ServerProcess]


def nginx_config(listen: int, instances: list[ServerProcess], root: Path) -> str:
    """deploy/nginx.conf with this test's ports, paths and no daemon."""
    conf = DEPLOY_CONF.read_text()
    servers = "".join(f"        server 127.0.0.1:{s.port};\n" for s in instances)
    start = conf.index("        server parley1")
    end = conf.index("    }", start)
    conf = conf[:start] + servers + conf[end:]
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    conf = conf.replace(
        "worker_processes auto;",
        (
            f"worker_processes 1;\nuser root;\npid {root}/nginx.pid;\n"
            f"error_log {root}/error.log warn;"
        ),
    )
    temp = "".join(
        f"    {kind}_temp_path {root}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return conf.replace("http {\n", f"http {{\n    access_log off;\n{temp}", 1)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balanced]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        reason = "nginx is not installed (scripts/services installs it)"
        if in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    require_tcp("Redis", REDIS_URL)
    root = Path(tmp_path_factory.mktemp("nginx"))
    database = create_postgres_database()
    instances: list[ServerProcess] = []
    nginx = None
    try:
        migrate(root / "migrate", database.url)
        # nginx reaches the instances from 127.0.0.1, as docker-compose.yml trusts its nginx.
        env = scale_out_env(database.url, FORWARDED_ALLOW_IPS="127.0.0.1")
        instances = [start_server(root / f"i{n}", env) for n in range(3)]
        port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(nginx_config(port, instances, root))
        check = subprocess.run(
            [binary, "-t", "-c", str(conf)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen(
            [binary, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(
            base_url=url, timeout=5, transport=httpx.HTTPTransport(retries=20)
        ) as probe:
            assert probe.get("/health").status_code == 200
        yield Balanced(url, instances)
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for instance in instances:
            instance.stop()
        database.drop()


async def test_socketio_long_polling_and_upgrade_through_nginx(balanced: Balanced) -> None:
    with httpx.Client(base_url=balanced.url, timeout=15) as api:
        alice = register(api)
    for transports in (["polling"], ["polling", "websocket"]):
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            balanced.url,
            auth={"token": alice.access_token},
            transports=transports,
            wait_timeout=RECEIVE_TIMEOUT_SECS,
        )
        try:
            answer = await client.call("heartbeat", {}, timeout=RECEIVE_TIMEOUT_SECS)
            assert answer["status"] == "alive"
            joined = await client.call(
                "join", {"room_id": f"lb-{uuid.uuid4().hex[:6]}"}, timeout=RECEIVE_TIMEOUT_SECS
            )
            assert joined["users"] == [alice.id]
        finally:
            await client.disconnect()


async def test_a_broadcast_through_nginx_reaches_every_instance(balanced: Balanced) -> None:
    room = f"everyone-{uuid.uuid4().hex[:8]}"
    listeners: list[WsClient] = []
    try:
        for instance in balanced.instances:
            with httpx.Client(base_url=instance.base_url, timeout=15) as api:
                account = register(api)
            client = await WsClient.open(instance.base_url, account.access_token)
            listeners.append(client)
            await client.ack("join_room", {"room_id": room})
        through_nginx = await WsClient.open(balanced.url, None, expect_auth=False)
        listeners.append(through_nginx)  # plain WebSocket upgrades pass through too
        assert (await through_nginx.command("ping"))["code"] == "not_authenticated"

        with httpx.Client(base_url=balanced.url, timeout=15) as api:
            sent = api.post(
                "/api/v1/broadcast",
                headers={"X-API-Key": API_KEY},
                json={"room_id": room, "content": "hello, all three"},
            )
        assert sent.status_code == 201
        for client in listeners[:3]:
            frame = await client.expect("new_message")
            assert frame["data"]["content"] == "hello, all three"
    finally:
        for client in listeners:
            await client.close()


def test_clients_behind_nginx_are_seen_with_their_own_addresses(balanced: Balanced) -> None:
    """Two clients on other loopback addresses (the whole 127/8 is local), one of them forging
    X-Forwarded-For: each device session records the address nginx saw."""
    for address, forged in (("127.0.0.2", None), ("127.0.0.3", "203.0.113.5")):
        transport = httpx.HTTPTransport(local_address=address)
        headers = {"X-Forwarded-For": forged} if forged else {}
        with httpx.Client(
            base_url=balanced.url, timeout=15, transport=transport, headers=headers
        ) as api:
            account = register(api)
            sessions = api.get("/api/v1/auth/sessions", headers=account.headers)
            assert sessions.status_code == 200, sessions.text
            assert [s["ip_address"] for s in sessions.json()] == [address]


def test_operator_pages_are_not_served_to_the_outside(balanced: Balanced) -> None:
    with httpx.Client(base_url=balanced.url, timeout=15) as outside:
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json", "/asyncapi.json"):
            assert outside.get(path).status_code == 404, path
        assert outside.get("/health").status_code == 200
        assert outside.get("/api/v1/version").status_code == 200
    with httpx.Client(base_url=balanced.instances[0].base_url, timeout=15) as inside:
        assert inside.get("/metrics").status_code == 200  # scraped on the internal network
