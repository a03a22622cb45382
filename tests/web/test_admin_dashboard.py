"""The admin dashboard in a real headless chromium: live connection count, support chats by
status, recent errors, and disabling a user, whose open chat page is then signed out; a
non-admin gets 403 for the dashboard's data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.accounts import PASSWORD, create_admin, register
from tests.support.server import ServerProcess
from tests.web.conftest import screenshot

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def api(web_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_server.base_url, timeout=15) as client:
        yield client


@pytest.fixture
def new_page(browser: Browser) -> Iterator[object]:
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")


def test_live_connections_errors_support_and_disabling_a_user(
    new_page: object, web_server: ServerProcess, api: httpx.Client
) -> None:
    make = new_page
    admin, customer = create_admin(api, web_server), register(api)
    support = api.post("/api/v1/conversations", headers=customer.headers, json={"kind": "support"})
    assert support.status_code == 201, support.text
    board: Page = make()  # type: ignore[operator]
    sign_in(board, f"{web_server.base_url}/admin", admin.username)
    expect(board.locator("body")).to_have_attribute("data-loaded", "true")
    expect(board.locator("#connections")).to_have_text("0")  # the dashboard itself has none
    expect(board.locator("#instances")).to_have_text("1")
    expect(board.locator('#support li[data-status="active"]')).to_have_text("active: 1")

    chat: Page = make()  # type: ignore[operator]
    sign_in(chat, f"{web_server.base_url}/app/", customer.username)
    expect(chat.locator("body")).to_have_attribute("data-connected", "true")
    expect(board.locator("#connections")).to_have_text("1")
    sent = api.post(
        f"/api/v1/conversations/{support.json()['id']}/messages",
        headers=customer.headers,
        json={"content": "help"},
    )
    assert sent.status_code == 201, sent.text
    expect(board.locator("#mps")).to_have_text("0.1")  # one message in the last 10 s

    missing = api.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=customer.headers)
    assert missing.status_code == 404
    expect(board.locator("#errors")).to_contain_text(missing.json()["error"]["code"])

    row = board.locator(f'#users tr[data-user="{customer.username}"]')
    expect(row.locator(".status")).to_have_text("active")
    screenshot(board, "admin-dashboard")
    row.locator("button.toggle-status").click()
    expect(row.locator(".status")).to_have_text("disabled")
    expect(chat.locator("#notice")).to_have_text("Signed out: account disabled")
    expect(chat.locator("#auth")).to_be_visible()
    expect(board.locator("#connections")).to_have_text("0")
    screenshot(board, "admin-user-disabled")
    screenshot(chat, "chat-signed-out")


def test_a_non_admin_gets_403_for_the_dashboard_data(
    new_page: object, web_server: ServerProcess, api: httpx.Client
) -> None:
    someone = register(api)
    refused = api.get("/api/v1/admin/overview", headers=someone.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_required"
    page: Page = new_page()  # type: ignore[operator]
    sign_in(page, f"{web_server.base_url}/admin", someone.username)
    expect(page.locator("body")).to_have_attribute("data-forbidden", "true")
    expect(page.locator("#notice")).to_have_text("Admins only (role_required).")
    expect(page.locator("#dashboard")).to_be_hidden()
    screenshot(page, "admin-forbidden")
