"""Authorization, REST: every route of the app, asked by every actor, gets the status in the
table. A route of the app with no row fails `test_every_route_has_a_rule`, so a new route
cannot ship without deciding who may call it.

Columns (see `ACTORS` in conftest): anonymous, outsider (non-member), member, owner, agent
(the wrong role), super_agent, admin, api_key. Routes that change what they act on get a
fresh scene for every actor; a sign-out signs the actor back in after.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from parley.api.routes.web import WebFiles
from parley.app import create_app
from parley.config import Settings
from tests.authz.conftest import ACTORS, Cast, Scene, build_scene
from tests.support.accounts import PASSWORD, login


@dataclass
class Call:
    path: str
    json: Any = None
    files: Any = None


Make = Callable[["Ctx", str], Call]


@dataclass
class Ctx:
    cast: Cast
    scene: Scene

    @property
    def api(self) -> httpx.Client:
        return self.cast.api


@dataclass
class Rule:
    method: str
    path: str
    variant: str
    make: Make
    expected: tuple[int, ...]
    fresh: bool = False  # a new scene for each actor: the call changes what it acts on
    signs_out: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.variant}]" if self.variant else "")


def at(path: str, json: Any = None) -> Make:
    """A call whose path names scene attributes: `{group}`, `{support_message}`, …"""

    def make(ctx: Ctx, actor: str) -> Call:
        return Call(path.format(**vars(ctx.scene)), json)

    return make


def fresh_user_body(ctx: Ctx, actor: str) -> Call:
    name = f"new_{uuid.uuid4().hex[:10]}"
    return Call("", {"username": name, "email": f"{name}@example.com", "password": PASSWORD})


def otp_request(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    number = f"+1415555{uuid.uuid4().int % 10_000:04d}"
    response = ctx.api.post("/api/v1/auth/otp/request", json={"mobile_no": number})
    assert response.status_code == 200, response.text
    return number, response.json()


def otp_verify_body(ctx: Ctx, actor: str) -> Call:
    number, sent = otp_request(ctx)
    body = {"mobile_no": number, "session_token": sent["session_token"], "otp": sent["otp"]}
    return Call("", body)


def otp_profile_body(ctx: Ctx, actor: str) -> Call:
    number, sent = otp_request(ctx)
    verify = {"mobile_no": number, "session_token": sent["session_token"], "otp": sent["otp"]}
    verified = ctx.api.post("/api/v1/auth/otp/verify", json=verify)
    assert verified.status_code == 200, verified.text
    body = {"mobile_no": number, "session_token": sent["session_token"], "full_name": "Phone"}
    return Call("", body)


def owners_other_session(ctx: Ctx, actor: str) -> Call:
    """A second device session of the owner's: only the owner may end it."""
    other = login(ctx.api, ctx.cast.accounts["owner"].username)
    listed = ctx.api.get("/api/v1/auth/sessions", headers=other.headers).json()
    current = next(s["id"] for s in listed if s["current"])
    return Call(f"/api/v1/auth/sessions/{current}")


def someone_new(path: str, body: Callable[[str], Any]) -> Make:
    """A call about a customer made for it (role and status changes, adding a member)."""

    def make(ctx: Ctx, actor: str) -> Call:
        user = ctx.cast.fresh_customer()
        return Call(path.format(user=user.id, **vars(ctx.scene)), body(user.id))

    return make


def self_id(path: str) -> Make:
    """A call naming the caller themselves (leaving a conversation)."""

    def make(ctx: Ctx, actor: str) -> Call:
        me = ctx.cast.accounts[actor].id if actor in ctx.cast.accounts else str(uuid.uuid4())
        return Call(path.format(me=me, **vars(ctx.scene)))

    return make


def user_of(actor_name: str, path: str) -> Make:
    def make(ctx: Ctx, actor: str) -> Call:
        return Call(path.format(user=ctx.cast.id(actor_name), **vars(ctx.scene)))

    return make


def body_of(make_body: Callable[[Ctx, str], Any], path: str) -> Make:
    def make(ctx: Ctx, actor: str) -> Call:
        return Call(path.format(**vars(ctx.scene)), make_body(ctx, actor))

    return make


def login_body(ctx: Ctx, actor: str) -> dict[str, Any]:
    return {"username": ctx.cast.accounts["outsider"].username, "password": PASSWORD}


def refresh_body(ctx: Ctx, actor: str) -> dict[str, Any]:
    signed_in = login(ctx.api, ctx.cast.accounts["outsider"].username)
    return {"refresh_token": signed_in.refresh_token}


def unique_room(ctx: Ctx, actor: str) -> dict[str, Any]:
    return {"kind": "room", "name": f"room-{uuid.uuid4().hex[:10]}"}


def with_new_direct(ctx: Ctx, actor: str) -> dict[str, Any]:
    return {"participant_id": ctx.cast.fresh_customer().id}


def support_for_someone(ctx: Ctx, actor: str) -> dict[str, Any]:
    return {"customer_id": ctx.cast.fresh_customer().id, "agent_id": ctx.cast.id("agent")}


def new_name(ctx: Ctx, actor: str) -> dict[str, Any]:
    return {"name": f"renamed {uuid.uuid4().hex[:8]}"}


def broadcast_body(ctx: Ctx, actor: str) -> dict[str, Any]:
    return {"conversation_id": ctx.scene.room, "content": "announcement"}


def tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 128, 255)).save(out, format="PNG")
    return out.getvalue()


def upload_file(ctx: Ctx, actor: str) -> Call:
    return Call("", files={"file": ("dot.png", tiny_png(), "image/png")})


def attached_upload(suffix: str) -> Make:
    """An image of the owner's, attached to a message in the group (owner and member)."""

    def make(ctx: Ctx, actor: str) -> Call:
        owner = ctx.cast.headers("owner")
        uploaded = ctx.api.post(
            "/api/v1/uploads", headers=owner, files=upload_file(ctx, actor).files
        )
        assert uploaded.status_code == 201, uploaded.text
        upload_id = uploaded.json()["id"]
        sent = ctx.api.post(
            f"/api/v1/conversations/{ctx.scene.group}/messages",
            headers=owner,
            json={"content": "", "attachments": [{"upload_id": upload_id}]},
        )
        assert sent.status_code == 201, sent.text
        return Call(f"/api/v1/uploads/{upload_id}{suffix}")

    return make


def body_of_files() -> Make:
    def make(ctx: Ctx, actor: str) -> Call:
        return Call("/api/v1/uploads", files=upload_file(ctx, actor).files)

    return make


def fresh_rule(rule: Rule) -> Rule:
    rule.fresh = True
    return rule


# Statuses, in the order of ACTORS:
#   anonymous outsider member owner agent super_agent admin api_key
def room_newcomer(path: str) -> Make:
    """Someone who has just joined the scene's room, as the body of a mute or a ban."""

    def make(ctx: Ctx, actor: str) -> Call:
        newcomer = ctx.cast.fresh_customer()
        joined = ctx.api.post(f"/api/v1/rooms/{ctx.scene.room}/join", headers=newcomer.headers)
        assert joined.status_code == 200, joined.text
        return Call(path.format(**vars(ctx.scene)), {"user_id": newcomer.id})

    return make


def members_open_report(ctx: Ctx, actor: str) -> Call:
    """The member's open report of the owner's group message (made now if none is open)."""
    made = ctx.api.post(
        f"/api/v1/messages/{ctx.scene.group_message}/reports",
        headers=ctx.cast.headers("member"),
        json={"reason": "abuse"},
    )
    assert made.status_code in (200, 201), made.text
    return Call(f"/api/v1/reports/{made.json()['id']}", {"status": "dismissed"})


PUBLIC = (200,) * 8
ANY_USER = (401, 200, 200, 200, 200, 200, 200, 401)
ADMIN_ONLY = (401, 403, 403, 403, 403, 403, 200, 401)
CREATED_BY_ANY = (401, 201, 201, 201, 201, 201, 201, 401)
MEMBERS = (401, 403, 200, 200, 403, 403, 403, 401)  # group, room, direct chat
SUPPORT = (401, 403, 403, 200, 200, 200, 200, 401)  # its customer, its agent, supervisors
MODERATE = (401, 403, 403, 200, 403, 200, 200, 401)  # a room's owner, super-agents, admins
MODERATE_CREATED = (401, 403, 403, 201, 403, 201, 201, 401)
MODERATE_GONE = (401, 403, 403, 204, 403, 204, 204, 401)
STAFF = (401, 403, 403, 403, 200, 200, 200, 401)

RULES: list[Rule] = [
    # -- operations and the docs
    Rule("GET", "/api/v1/health", "", at("/api/v1/health"), PUBLIC),
    Rule("GET", "/health", "", at("/health"), PUBLIC),
    Rule("GET", "/api/version", "", at("/api/version"), PUBLIC),
    Rule("GET", "/api/v1/version", "", at("/api/v1/version"), PUBLIC),
    Rule("GET", "/openapi.json", "", at("/openapi.json"), PUBLIC),
    Rule("GET", "/docs", "", at("/docs"), PUBLIC),
    Rule("GET", "/docs/static/{name}", "", at("/docs/static/swagger-ui.css"), PUBLIC),
    Rule("GET", "/asyncapi.json", "", at("/asyncapi.json"), PUBLIC),
    Rule("GET", "/asyncapi", "", at("/asyncapi"), PUBLIC),
    Rule("GET", "/redoc", "", at("/redoc"), PUBLIC),
    Rule("GET", "/swagger/index.html", "", at("/swagger/index.html"), (307,) * 8),
    Rule("GET", "/swagger", "", at("/swagger"), (307,) * 8),
    Rule("GET", "/metrics", "", at("/metrics"), PUBLIC),
    # -- the browser chat and the admin dashboard: static pages for anyone (they hold no
    # data); what the dashboard shows comes from /api/v1/admin, admins only
    Rule("GET", "/", "", at("/"), (307,) * 8),
    Rule("GET", "/app", "the chat page", at("/app/"), PUBLIC),
    Rule("GET", "/admin", "", at("/admin"), PUBLIC),
    Rule("GET", "/admin/", "", at("/admin/"), PUBLIC),
    Rule("GET", "/api/v1/admin/overview", "", at("/api/v1/admin/overview"), ADMIN_ONLY),
    # -- accounts
    Rule(
        "POST",
        "/api/v1/auth/register",
        "",
        body_of(lambda c, a: fresh_user_body(c, a).json, "/api/v1/auth/register"),
        (201,) * 8,
    ),
    Rule("POST", "/api/v1/auth/login", "", body_of(login_body, "/api/v1/auth/login"), PUBLIC),
    Rule("POST", "/api/v1/auth/refresh", "", body_of(refresh_body, "/api/v1/auth/refresh"), PUBLIC),
    Rule("POST", "/api/v1/auth/logout", "", at("/api/v1/auth/logout"), ANY_USER, signs_out=True),
    Rule("GET", "/api/v1/auth/me", "", at("/api/v1/auth/me"), ANY_USER),
    Rule("GET", "/api/v1/auth/sessions", "", at("/api/v1/auth/sessions"), ANY_USER),
    Rule(
        "DELETE",
        "/api/v1/auth/sessions/{session_id}",
        "the owner's other device",
        owners_other_session,
        (401, 404, 404, 204, 404, 404, 404, 401),
    ),
    Rule(
        "POST",
        "/api/v1/auth/otp/request",
        "",
        body_of(
            lambda c, a: {"mobile_no": f"+1415555{uuid.uuid4().int % 10_000:04d}"},
            "/api/v1/auth/otp/request",
        ),
        PUBLIC,
    ),
    Rule(
        "POST",
        "/auth/login",
        "",
        body_of(
            lambda c, a: {"mobile_no": f"+1415555{uuid.uuid4().int % 10_000:04d}"}, "/auth/login"
        ),
        PUBLIC,
    ),
    Rule(
        "POST",
        "/api/v1/auth/otp/verify",
        "",
        body_of(lambda c, a: otp_verify_body(c, a).json, "/api/v1/auth/otp/verify"),
        PUBLIC,
    ),
    Rule(
        "POST",
        "/auth/verify-otp",
        "",
        body_of(lambda c, a: otp_verify_body(c, a).json, "/auth/verify-otp"),
        PUBLIC,
    ),
    Rule(
        "POST",
        "/api/v1/auth/otp/profile",
        "",
        body_of(lambda c, a: otp_profile_body(c, a).json, "/api/v1/auth/otp/profile"),
        PUBLIC,
    ),
    Rule(
        "POST",
        "/auth/set-profile",
        "",
        body_of(lambda c, a: otp_profile_body(c, a).json, "/auth/set-profile"),
        PUBLIC,
    ),
    # -- users
    # -- friends and blocks: anyone signed in, about themselves; a request is its
    # recipient's to accept or reject and its sender's to cancel
    Rule("GET", "/api/v1/friends", "", at("/api/v1/friends"), ANY_USER),
    Rule("GET", "/api/v1/friends/requests", "", at("/api/v1/friends/requests"), ANY_USER),
    Rule(
        "POST",
        "/api/v1/friends/requests",
        "",
        someone_new("/api/v1/friends/requests", lambda user: {"user_id": user}),
        (401, 201, 201, 201, 201, 201, 201, 401),
    ),
    fresh_rule(
        Rule(
            "POST",
            "/api/v1/friends/requests/{request_id}/accept",
            "",
            at("/api/v1/friends/requests/{friend_request}/accept"),
            (401, 403, 200, 403, 403, 403, 403, 401),
        )
    ),
    fresh_rule(
        Rule(
            "POST",
            "/api/v1/friends/requests/{request_id}/reject",
            "",
            at("/api/v1/friends/requests/{friend_request}/reject"),
            (401, 403, 204, 403, 403, 403, 403, 401),
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/friends/requests/{request_id}",
            "",
            at("/api/v1/friends/requests/{friend_request}"),
            (401, 403, 403, 204, 403, 403, 403, 401),
        )
    ),
    Rule(
        "DELETE",
        "/api/v1/friends/{friend_id}",
        "not friends",
        someone_new("/api/v1/friends/{user}", lambda user: None),
        (401, 404, 404, 404, 404, 404, 404, 401),
    ),
    # -- uploads: anyone signed in uploads; the uploader and the members of the conversation
    # the upload is attached to read it; nobody else learns it exists (404)
    Rule("POST", "/api/v1/uploads", "", body_of_files(), CREATED_BY_ANY),
    Rule(
        "GET",
        "/api/v1/uploads/{upload_id}",
        "attached in the group",
        attached_upload(""),
        (401, 404, 200, 200, 404, 404, 404, 401),
    ),
    Rule(
        "GET",
        "/api/v1/uploads/{upload_id}/thumbnail",
        "attached in the group",
        attached_upload("/thumbnail"),
        (401, 404, 200, 200, 404, 404, 404, 401),
    ),
    # Presigned uploads: the test server's store is a local directory, which has none (501);
    # completing is the presigner's own (404 for anyone else, 200 for an upload already made).
    Rule(
        "POST",
        "/api/v1/uploads/presign",
        "local store",
        at("/api/v1/uploads/presign", {"filename": "a.png", "size": 10}),
        (401, 501, 501, 501, 501, 501, 501, 401),
    ),
    Rule(
        "POST",
        "/api/v1/uploads/{upload_id}/complete",
        "the owner's, made already",
        attached_upload("/complete"),
        (401, 404, 404, 200, 404, 404, 404, 401),
    ),
    # -- reactions: the members of the message's conversation
    Rule(
        "PUT",
        "/api/v1/messages/{message_id}/reactions/{emoji}",
        "group",
        at("/api/v1/messages/{group_message}/reactions/%F0%9F%91%8D"),
        (401, 403, 200, 200, 403, 403, 403, 401),
    ),
    Rule(
        "DELETE",
        "/api/v1/messages/{message_id}/reactions/{emoji}",
        "group",
        at("/api/v1/messages/{group_message}/reactions/%F0%9F%91%8D"),
        (401, 403, 200, 200, 403, 403, 403, 401),
    ),
    # -- moderation: the room's owner (and room admins), super-agents and admins mute, ban
    # and list; the member moderates nothing, the agent is no member of the room
    Rule(
        "POST",
        "/api/v1/rooms/{ref}/mutes",
        "a new member of the room",
        room_newcomer("/api/v1/rooms/{room}/mutes"),
        MODERATE_CREATED,
    ),
    Rule(
        "POST",
        "/api/v1/rooms/{ref}/bans",
        "a new member of the room",
        room_newcomer("/api/v1/rooms/{room}/bans"),
        MODERATE_CREATED,
    ),
    Rule("GET", "/api/v1/rooms/{ref}/mutes", "", at("/api/v1/rooms/{room}/mutes"), MODERATE),
    Rule("GET", "/api/v1/rooms/{ref}/bans", "", at("/api/v1/rooms/{room}/bans"), MODERATE),
    Rule(
        "DELETE",
        "/api/v1/rooms/{ref}/mutes/{user_id}",
        "the member",
        user_of("member", "/api/v1/rooms/{room}/mutes/{user}"),
        MODERATE_GONE,
    ),
    Rule(
        "DELETE",
        "/api/v1/rooms/{ref}/bans/{user_id}",
        "the member",
        user_of("member", "/api/v1/rooms/{room}/bans/{user}"),
        MODERATE_GONE,
    ),
    # -- reports: the message's readers report it (not its sender); staff list and close
    # reports; nobody else sees one
    fresh_rule(
        Rule(
            "POST",
            "/api/v1/messages/{message_id}/reports",
            "the owner's, in the group",
            at("/api/v1/messages/{group_message}/reports", {"reason": "spam"}),
            (401, 403, 201, 422, 403, 403, 403, 401),
        )
    ),
    Rule("GET", "/api/v1/reports", "", at("/api/v1/reports"), STAFF),
    Rule(
        "PATCH",
        "/api/v1/reports/{report_id}",
        "the member's open report",
        members_open_report,
        STAFF,
    ),
    # -- mutes: the members themselves (staff reading a support chat are no members); the
    # calling device's push token: anyone signed in
    Rule(
        "PUT",
        "/api/v1/conversations/{conversation_id}/mute",
        "group",
        at("/api/v1/conversations/{group}/mute"),
        MEMBERS,
    ),
    Rule(
        "PUT",
        "/api/v1/conversations/{conversation_id}/mute",
        "support",
        at("/api/v1/conversations/{support}/mute"),
        (401, 403, 403, 200, 200, 403, 403, 401),
    ),
    Rule(
        "DELETE",
        "/api/v1/conversations/{conversation_id}/mute",
        "group",
        at("/api/v1/conversations/{group}/mute"),
        MEMBERS,
    ),
    Rule(
        "PUT",
        "/api/v1/auth/sessions/current/push-token",
        "",
        at("/api/v1/auth/sessions/current/push-token", {"fcm_token": "authz-token"}),
        ANY_USER,
    ),
    Rule(
        "DELETE",
        "/api/v1/auth/sessions/current/push-token",
        "",
        at("/api/v1/auth/sessions/current/push-token"),
        ANY_USER,
    ),
    # -- search: anyone signed in, over what they may read; one conversation as its history
    Rule("GET", "/api/v1/search/messages", "", at("/api/v1/search/messages?q=hi"), ANY_USER),
    Rule(
        "GET",
        "/api/v1/search/messages",
        "group",
        at("/api/v1/search/messages?q=hi&conversation_id={group}"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/search/messages",
        "support",
        at("/api/v1/search/messages?q=hi&conversation_id={support}"),
        SUPPORT,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}/messages/search",
        "direct",
        at("/api/v1/conversations/{direct}/messages/search?q=hi"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}/messages/search",
        "support",
        at("/api/v1/conversations/{support}/messages/search?q=hi"),
        SUPPORT,
    ),
    # -- rooms: the directory and public rooms for anyone signed in; a private room for its
    # members; changes for its owner (and the room's admins)
    Rule("GET", "/api/v1/rooms", "", at("/api/v1/rooms"), ANY_USER),
    Rule("POST", "/api/v1/rooms", "", body_of(unique_room, "/api/v1/rooms"), CREATED_BY_ANY),
    Rule("GET", "/api/v1/rooms/{ref}", "public", at("/api/v1/rooms/{room_name}"), ANY_USER),
    Rule("GET", "/api/v1/rooms/{ref}", "private", at("/api/v1/rooms/{private_room}"), MEMBERS),
    Rule("POST", "/api/v1/rooms/{ref}/join", "public", at("/api/v1/rooms/{room}/join"), ANY_USER),
    Rule(
        "POST",
        "/api/v1/rooms/{ref}/join",
        "private",
        at("/api/v1/rooms/{private_room}/join"),
        MEMBERS,
    ),
    fresh_rule(
        Rule(
            "POST",
            "/api/v1/rooms/{ref}/leave",
            "",
            at("/api/v1/rooms/{room}/leave"),
            (401, 403, 204, 204, 403, 403, 403, 401),
        )
    ),
    Rule(
        "POST",
        "/api/v1/rooms/{ref}/invite",
        "",
        someone_new("/api/v1/rooms/{room}/invite", lambda user: {"user_id": user}),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    Rule(
        "PATCH",
        "/api/v1/rooms/{ref}",
        "",
        at("/api/v1/rooms/{room}", {"topic": "new topic"}),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/rooms/{ref}",
            "",
            at("/api/v1/rooms/{room}"),
            (401, 403, 403, 204, 403, 403, 403, 401),
        )
    ),
    Rule("GET", "/api/v1/blocks", "", at("/api/v1/blocks"), ANY_USER),
    Rule(
        "POST",
        "/api/v1/blocks",
        "",
        someone_new("/api/v1/blocks", lambda user: {"user_id": user}),
        (401, 201, 201, 201, 201, 201, 201, 401),
    ),
    Rule(
        "DELETE",
        "/api/v1/blocks/{user_id}",
        "",
        someone_new("/api/v1/blocks/{user}", lambda user: None),
        (401, 204, 204, 204, 204, 204, 204, 401),
    ),
    Rule("GET", "/api/v1/users", "", at("/api/v1/users"), ANY_USER),
    Rule("GET", "/api/v1/users/me", "", at("/api/v1/users/me"), ANY_USER),
    Rule("PATCH", "/api/v1/users/me", "", at("/api/v1/users/me", {"name": "Renamed"}), ANY_USER),
    Rule(
        "GET",
        "/api/v1/users/{user_id}",
        "the owner",
        user_of("owner", "/api/v1/users/{user}"),
        ANY_USER,
    ),
    Rule(
        "PUT",
        "/api/v1/users/{user_id}/role",
        "a customer made agent",
        someone_new("/api/v1/users/{user}/role", lambda u: {"role": "agent"}),
        ADMIN_ONLY,
    ),
    Rule(
        "PUT",
        "/api/v1/users/{user_id}/status",
        "a customer disabled",
        someone_new("/api/v1/users/{user}/status", lambda u: {"status": "disabled"}),
        ADMIN_ONLY,
    ),
    # -- conversations
    Rule(
        "POST",
        "/api/v1/conversations",
        "direct",
        body_of(with_new_direct, "/api/v1/conversations"),
        (401, 201, 201, 201, 201, 201, 201, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations",
        "group",
        at("/api/v1/conversations", {"name": "g", "participant_ids": []}),
        (401, 201, 201, 201, 201, 201, 201, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations",
        "room",
        body_of(unique_room, "/api/v1/conversations"),
        (401, 201, 201, 201, 201, 201, 201, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations",
        "support for oneself",
        at("/api/v1/conversations", {"kind": "support"}),
        (401, 201, 201, 201, 422, 422, 422, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations",
        "support for a customer",
        body_of(support_for_someone, "/api/v1/conversations"),
        (401, 403, 403, 403, 201, 201, 201, 401),
    ),
    Rule("GET", "/api/v1/conversations", "", at("/api/v1/conversations"), ANY_USER),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}",
        "group",
        at("/api/v1/conversations/{group}"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}",
        "room",
        at("/api/v1/conversations/{room}"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}",
        "direct",
        at("/api/v1/conversations/{direct}"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}",
        "support",
        at("/api/v1/conversations/{support}"),
        SUPPORT,
    ),
    Rule(
        "PATCH",
        "/api/v1/conversations/{conversation_id}",
        "group name",
        body_of(new_name, "/api/v1/conversations/{group}"),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    Rule(
        "PATCH",
        "/api/v1/conversations/{conversation_id}",
        "room name",
        body_of(new_name, "/api/v1/conversations/{room}"),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    fresh_rule(
        Rule(
            "PATCH",
            "/api/v1/conversations/{conversation_id}",
            "support closed",
            at("/api/v1/conversations/{support}", {"status": "closed"}),
            SUPPORT,
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/conversations/{conversation_id}",
            "group",
            at("/api/v1/conversations/{group}"),
            (401, 403, 403, 204, 403, 403, 403, 401),
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/conversations/{conversation_id}",
            "room",
            at("/api/v1/conversations/{room}"),
            (401, 403, 403, 204, 403, 403, 403, 401),
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/conversations/{conversation_id}",
            "direct",
            at("/api/v1/conversations/{direct}"),
            (401, 403, 204, 204, 403, 403, 403, 401),
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/conversations/{conversation_id}",
            "support",
            at("/api/v1/conversations/{support}"),
            (401, 403, 403, 204, 204, 204, 204, 401),
        )
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/members",
        "group, a customer",
        someone_new("/api/v1/conversations/{group}/members", lambda u: {"user_id": u}),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/members",
        "room, a customer",
        someone_new("/api/v1/conversations/{room}/members", lambda u: {"user_id": u}),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    fresh_rule(
        Rule(
            "POST",
            "/api/v1/conversations/{conversation_id}/members",
            "support, an agent",
            body_of(
                lambda c, a: {"user_id": c.cast.id("agent")},
                "/api/v1/conversations/{support}/members",
            ),
            (401, 403, 403, 403, 200, 200, 200, 401),
        )
    ),
    fresh_rule(
        Rule(
            "POST",
            "/api/v1/conversations/{conversation_id}/members",
            "support, a customer",
            someone_new("/api/v1/conversations/{support}/members", lambda u: {"user_id": u}),
            (401, 403, 403, 403, 422, 422, 422, 401),
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/conversations/{conversation_id}/members/{user_id}",
            "group, the member removed",
            user_of("member", "/api/v1/conversations/{group}/members/{user}"),
            (401, 403, 204, 204, 403, 403, 403, 401),
        )
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/conversations/{conversation_id}/members/{user_id}",
            "group, leaving",
            self_id("/api/v1/conversations/{group}/members/{me}"),
            (401, 403, 204, 204, 403, 403, 403, 401),
        )
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}/messages",
        "group",
        at("/api/v1/conversations/{group}/messages"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}/messages",
        "room",
        at("/api/v1/conversations/{room}/messages"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}/messages",
        "direct",
        at("/api/v1/conversations/{direct}/messages"),
        MEMBERS,
    ),
    Rule(
        "GET",
        "/api/v1/conversations/{conversation_id}/messages",
        "support",
        at("/api/v1/conversations/{support}/messages"),
        SUPPORT,
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        "group",
        at("/api/v1/conversations/{group}/messages", {"content": "hi"}),
        (401, 403, 201, 201, 403, 403, 403, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        "room",
        at("/api/v1/conversations/{room}/messages", {"content": "hi"}),
        (401, 403, 201, 201, 403, 403, 403, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        "direct",
        at("/api/v1/conversations/{direct}/messages", {"content": "hi"}),
        (401, 403, 201, 201, 403, 403, 403, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/messages",
        "support",
        at("/api/v1/conversations/{support}/messages", {"content": "hi"}),
        (401, 403, 403, 201, 201, 201, 201, 401),
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/read",
        "group",
        at("/api/v1/conversations/{group}/read", {}),
        MEMBERS,
    ),
    Rule(
        "POST",
        "/api/v1/conversations/{conversation_id}/read",
        "support",
        at("/api/v1/conversations/{support}/read", {}),
        # Supervisors read every support chat but keep no read pointer in one they are not in.
        (401, 403, 403, 200, 200, 403, 403, 401),
    ),
    Rule(
        "PATCH",
        "/api/v1/messages/{message_id}",
        "the owner's, in the group",
        at("/api/v1/messages/{group_message}", {"content": "edited"}),
        (401, 403, 403, 200, 403, 403, 403, 401),
    ),
    fresh_rule(
        Rule(
            "DELETE",
            "/api/v1/messages/{message_id}",
            "the owner's, in the group",
            at("/api/v1/messages/{group_message}"),
            (401, 403, 403, 200, 403, 200, 200, 401),
        )
    ),
    Rule(
        "POST",
        "/api/v1/broadcast",
        "to the room",
        body_of(broadcast_body, "/api/v1/broadcast"),
        (401, 403, 403, 403, 403, 403, 201, 201),
    ),
    Rule(
        "POST",
        "/messages",
        "to the room",
        body_of(broadcast_body, "/messages"),
        (401, 403, 403, 403, 403, 403, 201, 201),
    ),
    # -- the customer-service seed's paths
    Rule("POST", "/api/auth/login", "", body_of(login_body, "/api/auth/login"), PUBLIC),
    Rule(
        "POST",
        "/api/auth/register",
        "",
        body_of(lambda c, a: fresh_user_body(c, a).json, "/api/auth/register"),
        (201,) * 8,
    ),
    Rule("POST", "/api/auth/logout", "", at("/api/auth/logout"), ANY_USER, signs_out=True),
    Rule("GET", "/api/users/me", "", at("/api/users/me"), ANY_USER),
    Rule("GET", "/api/users", "", at("/api/users"), ANY_USER),
    Rule("PUT", "/api/users/status", "", at("/api/users/status", {"isOnline": True}), ANY_USER),
    Rule("GET", "/api/chats", "", at("/api/chats"), ANY_USER),
    Rule(
        "POST",
        "/api/chats",
        "for oneself",
        at("/api/chats", {}),
        (401, 201, 201, 201, 422, 422, 422, 401),
    ),
    Rule("GET", "/api/chats/{chat_id}", "support", at("/api/chats/{support}"), SUPPORT),
    fresh_rule(
        Rule("DELETE", "/api/chats/{chat_id}", "support", at("/api/chats/{support}"), SUPPORT)
    ),
    Rule(
        "GET",
        "/api/chats/{chat_id}/messages",
        "support",
        at("/api/chats/{support}/messages"),
        SUPPORT,
    ),
    Rule(
        "POST",
        "/api/chats/{chat_id}/messages",
        "support",
        at("/api/chats/{support}/messages", {"content": "hi"}),
        (401, 403, 403, 201, 201, 201, 201, 401),
    ),
    fresh_rule(
        Rule(
            "PUT",
            "/api/chats/{chat_id}/status",
            "support closed",
            at("/api/chats/{support}/status", {"status": "closed"}),
            SUPPORT,
        )
    ),
    fresh_rule(
        Rule(
            "PUT",
            "/api/chats/{chat_id}/archive",
            "support",
            at("/api/chats/{support}/archive"),
            SUPPORT,
        )
    ),
    fresh_rule(
        Rule(
            "PUT",
            "/api/chats/{chat_id}/unarchive",
            "support",
            at("/api/chats/{support}/unarchive"),
            SUPPORT,
        )
    ),
]

WEBSOCKET_PATHS = {"/ws", "/api/ws", "/ws/gameplay", "/api/ws/gameplay", "/socket.io"}
"""Socket endpoints: their commands have rules of their own in test_socket_matrix."""


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every HTTP route the app serves, OpenAPI or not (HEAD aside)."""
    app = create_app(Settings(_env_file=None, jwt_secret="x" * 40))  # type: ignore[call-arg]
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                # The included routes' paths carry their router's prefix already.
                walk(original.routes, prefix + route.include_context.prefix)
                continue
            path = prefix + getattr(route, "path", "")
            methods = getattr(route, "methods", None)
            if isinstance(getattr(route, "app", None), WebFiles):
                found.add(("GET", path))  # the browser chat's static files
            elif methods:
                found.update((m, path) for m in methods if m != "HEAD")
            else:
                found.add(("WEBSOCKET", path))

    walk(list(app.routes), "")
    return found


def test_every_route_has_a_rule(authz_api: httpx.Client) -> None:
    live = authz_api.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in live["paths"].items() for m in ops}
    routes |= {r for r in app_routes() if r[0] != "WEBSOCKET"}
    sockets = {p for m, p in app_routes() if m == "WEBSOCKET"}
    ruled = {(r.method, r.path) for r in RULES}
    assert not routes - ruled, f"routes with no authorization rule: {sorted(routes - ruled)}"
    assert not ruled - routes, f"rules for routes that do not exist: {sorted(ruled - routes)}"
    assert sockets == WEBSOCKET_PATHS, f"socket endpoints changed: {sorted(sockets)}"


def call(ctx: Ctx, rule: Rule, actor: str) -> int:
    made = rule.make(ctx, actor)
    response = ctx.api.request(
        rule.method,
        made.path,
        headers=ctx.cast.headers(actor),
        json=made.json,
        files=made.files,
        follow_redirects=False,
    )
    return response.status_code


def test_the_matrix(cast: Cast) -> None:
    """Every rule, every actor; all differences are listed together."""
    shared = build_scene(cast)
    differences = []
    for rule in RULES:
        assert len(rule.expected) == len(ACTORS), rule.name
        observed = []
        for actor in ACTORS:
            ctx = Ctx(cast, build_scene(cast) if rule.fresh else shared)
            observed.append(call(ctx, rule, actor))
            if rule.signs_out:
                cast.relogin(actor)
        if tuple(observed) != rule.expected:
            cells = [
                f"{actor} {got} (want {want})"
                for actor, got, want in zip(ACTORS, observed, rule.expected, strict=True)
                if got != want
            ]
            differences.append(f"{rule.name}: " + ", ".join(cells))
        if rule.fresh:
            # A direct chat is one per pair: deleting a fresh scene's deletes the shared one's.
            shared = build_scene(cast)
    assert not differences, f"{len(differences)} rules broken:\n" + "\n".join(differences)


def test_bad_tokens_get_what_anonymous_gets(cast: Cast) -> None:
    """A forged token, an expired-looking one and one whose session was signed out are no
    credentials at all: wherever anonymous gets 401, so do they (never a 403 or a 2xx)."""
    api = cast.api
    revoked = login(api, cast.accounts["outsider"].username)
    assert api.post("/api/v1/auth/logout", headers=revoked.headers).status_code == 200
    tokens = {
        "revoked": revoked.access_token,
        "forged": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "garbage": "not-a-jwt",
    }
    shared = build_scene(cast)
    differences = []
    for rule in RULES:
        if rule.expected[0] != 401:
            continue
        for label, token in tokens.items():
            ctx = Ctx(cast, build_scene(cast) if rule.fresh else shared)
            made = rule.make(ctx, "outsider")
            response = api.request(
                rule.method,
                made.path,
                headers={"Authorization": f"Bearer {token}"},
                json=made.json,
                follow_redirects=False,
            )
            if response.status_code != 401:
                differences.append(f"{rule.name} with a {label} token: {response.status_code}")
        if rule.fresh:
            shared = build_scene(cast)
    assert not differences, "\n".join(differences)
