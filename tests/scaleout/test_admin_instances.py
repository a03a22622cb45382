"""The admin overview on a two-instance deployment: every live instance is listed, each with
the connection count its last heartbeat carried (this instance's exact), on whichever
instance the dashboard's poll lands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import create_admin, register
from tests.support.clients import WsClient
from tests.support.deployment import Deployment, two_instances


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # A heartbeat every third of a second, so the other instance's count is soon fresh.
    root = Path(tmp_path_factory.mktemp("admin-cluster"))
    with two_instances(root, PRESENCE_INSTANCE_TTL_SECS="1") as deployment:
        yield deployment


def _instances_once(api: httpx.Client, headers: dict[str, str], want: dict[str, int]) -> Any:
    """The overview once the instances' counts read `want` (by base URL's instance), within 10 s."""
    deadline = time.monotonic() + 10
    while True:
        view = api.get("/api/v1/admin/overview", headers=headers).json()
        counts = sorted(i["connections"] for i in view["instances"])
        if counts == sorted(want.values()):
            return view
        assert time.monotonic() < deadline, view["instances"]


async def test_the_overview_lists_both_instances_with_their_connections(
    cluster: Deployment,
) -> None:
    a, b = cluster
    with httpx.Client(base_url=a.base_url, timeout=15) as api:
        admin, user = create_admin(api, a), register(api)
        on_b = [await WsClient.open(b.base_url, user.access_token) for _ in range(2)]
        try:
            view = _instances_once(api, admin.headers, {"a": 0, "b": 2})
            assert len(view["instances"]) == 2
            here = [i for i in view["instances"] if i["this"]]
            assert here == [{"id": view["instance"]["id"], "connections": 0, "this": True}]
            assert view["connections"] == 2
        finally:
            for client in on_b:
                await client.close()
        _instances_once(api, admin.headers, {"a": 0, "b": 0})
