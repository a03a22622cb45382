"""Reports of messages: members report what they can read (once while open), staff page
through them by status and close them; nobody else sees them."""

from __future__ import annotations

import httpx

from tests.moderation.support import code, new_room, people, send
from tests.support.accounts import create_staff
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


def report(
    api: httpx.Client, who_headers: dict[str, str], message_id: str, **body: str
) -> httpx.Response:
    return api.post(f"/api/v1/messages/{message_id}/reports", headers=who_headers, json=body)


def test_members_report_and_staff_resolve(api: httpx.Client, server: ServerProcess) -> None:
    owner, bob, carol, stranger = people(api, 4)
    room = new_room(api, owner, bob, carol)
    message = send(api, owner, room, "buy cheap watches").json()
    first = report(api, bob.headers, message["id"], reason="spam", text="  an ad  ")
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["status"] == "open"
    assert made["text"] == "an ad"
    assert made["reporter_id"] == bob.id
    again = report(api, bob.headers, message["id"], reason="abuse")
    assert again.status_code == 200
    assert again.json() == made  # the open report, unchanged
    assert report(api, carol.headers, message["id"], reason="other").status_code == 201
    own = report(api, owner.headers, message["id"], reason="spam")
    assert own.status_code == 422
    assert code(own) == "own_message"
    outside = report(api, stranger.headers, message["id"], reason="spam")
    assert outside.status_code == 403
    assert code(outside) == "not_a_member"
    bad = report(api, bob.headers, message["id"], reason="boring")
    assert bad.status_code == 422

    # A reporter (any customer) lists nothing and closes nothing.
    assert code(api.get("/api/v1/reports", headers=bob.headers)) == "role_required"
    patch = api.patch(
        f"/api/v1/reports/{made['id']}", headers=bob.headers, json={"status": "dismissed"}
    )
    assert patch.status_code == 403

    agent = create_staff(api, server, "agent")
    page = api.get("/api/v1/reports?status=open&limit=1", headers=agent.headers).json()
    assert len(page["reports"]) == 1
    assert page["has_more"] is True
    rest = api.get(
        f"/api/v1/reports?status=open&limit=100&cursor={page['next_cursor']}",
        headers=agent.headers,
    ).json()
    mine = {r["id"] for r in page["reports"] + rest["reports"]}
    assert made["id"] in mine
    assert len(mine) == len(page["reports"]) + len(rest["reports"])  # no report twice

    closed = api.patch(
        f"/api/v1/reports/{made['id']}", headers=agent.headers, json={"status": "resolved"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "resolved"
    assert closed.json()["resolved_by"] == agent.id
    assert closed.json()["resolved_at"] is not None
    twice = api.patch(
        f"/api/v1/reports/{made['id']}", headers=agent.headers, json={"status": "dismissed"}
    )
    assert twice.status_code == 409
    assert code(twice) == "report_closed"
    reopen = api.patch(
        f"/api/v1/reports/{made['id']}", headers=agent.headers, json={"status": "open"}
    )
    assert reopen.status_code == 422
    resolved = api.get("/api/v1/reports?status=resolved&limit=100", headers=agent.headers).json()
    assert made["id"] in {r["id"] for r in resolved["reports"]}
    still_open = api.get("/api/v1/reports?status=open&limit=100", headers=agent.headers).json()
    assert made["id"] not in {r["id"] for r in still_open["reports"]}
    # Closed, the same member may report the message again: a new report.
    anew = report(api, bob.headers, message["id"], reason="abuse")
    assert anew.status_code == 201
    assert anew.json()["id"] != made["id"]
    assert code(api.get("/api/v1/reports?cursor=nope", headers=agent.headers)) == (
        "validation_error"
    )


async def test_reports_over_socketio_and_ws(api: httpx.Client, server: ServerProcess) -> None:
    """The same service as REST: a member reports on Socket.IO and again on /ws (their open
    report back, `created` false); staff list and close it on either; refusals keep the
    connection."""
    owner, bob = people(api, 2)
    room = new_room(api, owner, bob)
    message = send(api, owner, room, "spam spam spam").json()
    agent = create_staff(api, server, "agent")
    bob_sio, bob_ws = SioClient(), await WsClient.open(server.base_url, bob.access_token)
    await bob_sio.connect(server.base_url, auth={"token": bob.access_token})
    staff_ws = await WsClient.open(server.base_url, agent.access_token)
    staff_sio = SioClient()
    await staff_sio.connect(server.base_url, auth={"token": agent.access_token})
    try:
        report = {"message_id": message["id"], "reason": "spam", "text": " ads "}
        made = await bob_sio.call("report_message", report)
        assert (made["created"], made["status"], made["text"]) == (True, "open", "ads"), made
        again = await bob_ws.ack("report_message", {**report, "reason": "abuse"})
        assert (again["id"], again["created"], again["reason"]) == (made["id"], False, "spam")
        bad = await bob_ws.command("report_message", {**report, "reason": "boring"})
        assert bad["code"] == "validation_error"
        assert code(await bob_sio.call("list_reports", {})) == "role_required"
        assert code(await bob_ws.command("resolve_report", {"id": made["id"]})) == (
            "validation_error"  # no status
        )
        own = await staff_ws.command("report_message", report)
        assert own["code"] == "not_a_member"  # staff read no group they are not in
        assert await bob_ws.ack("ping") is not None

        page = await staff_ws.ack("list_reports", {"status": "open", "limit": 100})
        assert made["id"] in {r["id"] for r in page["reports"]}
        closed = await staff_sio.call(
            "resolve_report", {"report_id": made["id"], "status": "resolved"}
        )
        assert (closed["status"], closed["resolved_by"]) == ("resolved", agent.id), closed
        twice = await staff_ws.command("resolve_report", {"id": made["id"], "status": "dismissed"})
        assert twice["code"] == "report_closed"
        resolved = await staff_sio.call("list_reports", {"status": "resolved", "limit": 100})
        assert made["id"] in {r["id"] for r in resolved["reports"]}
        rest = api.get("/api/v1/reports?status=resolved&limit=100", headers=agent.headers)
        assert made["id"] in {r["id"] for r in rest.json()["reports"]}  # one store
    finally:
        await bob_sio.disconnect()
        await staff_sio.disconnect()
        await bob_ws.close()
        await staff_ws.close()
