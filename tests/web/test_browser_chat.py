"""The browser chat in a real headless chromium: two people in two browser contexts sign up,
meet in a room, see each other's typing, messages, read receipts and presence live, page back
through history, play tic-tac-toe to a win over /gameplay; the plain-WebSocket view sends and
receives; without socket.io-client the chat falls back to that view and says so."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.accounts import PASSWORD, register, unique_username
from tests.support.server import ServerProcess
from tests.web.conftest import screenshot

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def api(web_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.base_url, timeout=15) as client:
        yield client


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    """Two people, each in a browser context of their own (separate storage, separate sockets)."""
    contexts = [browser.new_context(viewport={"width": 1100, "height": 800}) for _ in range(2)]
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """One person."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    yield context.new_page()
    context.close()


def sign_up(page: Page, server: ServerProcess, username: str) -> None:
    page.goto(f"{server.base_url}/app/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-up")
    expect(page.locator("#me")).to_have_text(username)
    expect(page.locator("body")).to_have_attribute("data-connected", "true")


def sign_in(page: Page, server: ServerProcess, username: str) -> None:
    page.goto(f"{server.base_url}/app/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("body")).to_have_attribute("data-connected", "true")


def open_room(page: Page, name: str) -> None:
    page.fill("#room-name", name)
    page.click("#room-form button")
    expect(page.locator("#conv-title")).to_have_text(name)


def test_two_people_chat_live_in_a_room(pages: list[Page], web_server: ServerProcess) -> None:
    ann, bob = pages
    ann_name, bob_name = unique_username("ann"), unique_username("bob")
    sign_up(ann, web_server, ann_name)
    sign_up(bob, web_server, bob_name)
    room = f"room-{uuid.uuid4().hex[:8]}"
    open_room(ann, room)
    open_room(bob, room)

    # Presence: each sees the other online (subscribe_status on a shared room).
    expect(ann.locator(f'#presence li[data-user="{bob_name}"]')).to_have_class("online")

    # Typing, live: Bob types, Ann sees it; the message clears it.
    bob.type("#message-input", "hello An")
    expect(ann.locator("#typing")).to_have_text(f"{bob_name} is typing…")
    screenshot(ann, "chat-typing")
    bob.type("#message-input", "n!")
    bob.press("#message-input", "Enter")
    expect(ann.locator("#messages li .content").last).to_have_text("hello Ann!")
    expect(ann.locator("#typing")).to_have_text("")

    # Ann answers; Bob has the room open, so his page reads it and Ann sees the receipt.
    ann.fill("#message-input", "hi Bob")
    ann.press("#message-input", "Enter")
    expect(bob.locator("#messages li .content").last).to_have_text("hi Bob")
    expect(ann.locator("#receipt")).to_have_text(f"Seen by {bob_name}")
    screenshot(ann, "chat-room-ann")
    screenshot(bob, "chat-room-bob")

    # Bob leaves: Ann sees him go offline once his sockets close.
    bob.context.close()
    expect(ann.locator(f'#presence li[data-user="{bob_name}"]')).to_have_class("offline")


def test_history_pages_back_in_a_direct_chat(
    page: Page, web_server: ServerProcess, api: httpx.Client
) -> None:
    me, friend = register(api), register(api)
    chat = api.post(
        "/api/v1/conversations", headers=friend.headers, json={"participant_id": me.id}
    ).json()["id"]
    for n in range(1, 31):
        sent = api.post(
            f"/api/v1/conversations/{chat}/messages",
            headers=friend.headers,
            json={"content": f"message {n}"},
        )
        assert sent.status_code == 201, sent.text
    sign_in(page, web_server, me.username)
    page.fill("#dm-username", friend.username)
    page.click("#dm-form button")
    messages = page.locator("#messages li .content")
    expect(messages).to_have_count(20)
    expect(messages.first).to_have_text("message 11")
    expect(messages.last).to_have_text("message 30")
    page.click("#older")
    expect(messages).to_have_count(30)
    expect(messages.first).to_have_text("message 1")
    expect(page.locator("#older")).to_be_hidden()
    screenshot(page, "chat-history")


def test_tic_tac_toe_to_a_win(pages: list[Page], web_server: ServerProcess) -> None:
    ann, bob = pages
    sign_up(ann, web_server, unique_username("ann"))
    sign_up(bob, web_server, unique_username("bob"))
    ann.click("#quick-match")
    expect(ann.locator("#game-status")).to_have_text("Waiting for an opponent…")
    bob.click("#quick-match")
    expect(ann.locator("#game")).to_have_attribute("data-mark", "X")
    expect(bob.locator("#game")).to_have_attribute("data-mark", "O")
    expect(ann.locator("#game-status")).to_have_text("You are X. Your turn.")
    for page, cell in ((ann, 0), (bob, 3), (ann, 1), (bob, 4), (ann, 2)):
        page.click(f'#board button[data-cell="{cell}"]')
        other = bob if page is ann else ann
        expect(other.locator(f'#board button[data-cell="{cell}"]')).not_to_have_text("")
    expect(ann.locator("#game-status")).to_have_text("You win!")
    expect(bob.locator("#game-status")).to_have_text("You lose.")
    expect(bob.locator("#board button.line")).to_have_count(3)
    screenshot(ann, "game-won")
    screenshot(bob, "game-lost")


def test_the_websocket_view_sends_and_receives(
    page: Page, web_server: ServerProcess, api: httpx.Client
) -> None:
    me, other = register(api), register(api)
    room = f"ws-{uuid.uuid4().hex[:8]}"
    joined = api.post(f"/api/v1/rooms/{room}/join", headers=other.headers)
    assert joined.status_code == 200, joined.text
    room_id = joined.json()["room"]["id"]
    page.goto(f"{web_server.base_url}/app/ws.html")
    page.fill("#username", me.username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("body")).to_have_attribute("data-connected", "true")
    page.fill("#room-name", room)
    page.click("#room-form button")
    expect(page.locator("#send-form")).to_be_visible()

    page.fill("#message-input", "over plain WebSocket")
    page.press("#message-input", "Enter")
    expect(page.locator("#ws-messages li .content").last).to_have_text("over plain WebSocket")
    sent = api.post(
        f"/api/v1/conversations/{room_id}/messages",
        headers=other.headers,
        json={"content": "back over REST"},
    )
    assert sent.status_code == 201, sent.text
    expect(page.locator("#ws-messages li .content").last).to_have_text("back over REST")
    history = api.get(f"/api/v1/conversations/{room_id}/messages", headers=other.headers).json()
    assert [m["content"] for m in history["messages"]] == [
        "back over REST",
        "over plain WebSocket",
    ]
    screenshot(page, "ws-view")


def test_without_socket_io_client_the_chat_falls_back_to_the_websocket_view(
    page: Page, web_server: ServerProcess, api: httpx.Client
) -> None:
    """The browser is told the build is not there (as a server without it answers: 404)."""
    page.route("**/app/vendor/socket.io.min.js", lambda route: route.fulfill(status=404))
    page.goto(f"{web_server.base_url}/app/")
    expect(page).to_have_url(re.compile(r"/app/ws\.html\?fallback=1$"))
    expect(page.locator("#notice")).to_contain_text("socket.io-client is not installed")
    screenshot(page, "fallback")


def test_the_pages_allow_only_their_own_scripts(
    web_server: ServerProcess, api: httpx.Client
) -> None:
    for path in ("/app/", "/admin", "/app/chat.js"):
        response = api.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy, path
        assert "unsafe-inline" not in policy, path
    assert api.get("/", follow_redirects=False).headers["location"] == "/app/"
    vendor = api.get("/app/vendor/socket.io.min.js")
    assert vendor.status_code == 200
    assert vendor.headers["content-type"].startswith(("text/javascript", "application/javascript"))
