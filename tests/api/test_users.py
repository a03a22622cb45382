"""The user directory, profiles, and what only admins may change."""

from __future__ import annotations

import httpx

from tests.support.accounts import (
    PASSWORD,
    Account,
    create_admin,
    create_staff,
    login,
    register,
    unique_username,
)
from tests.support.server import ServerProcess


def test_users_can_be_listed_searched_and_paged(api: httpx.Client) -> None:
    marker = unique_username("zebra")
    created = [register(api, name=f"{marker} number {i}") for i in range(3)]
    viewer = created[0]
    found = api.get("/api/v1/users", params={"q": marker.upper()}, headers=viewer.headers)
    assert found.status_code == 200
    body = found.json()
    assert body["total"] == 3
    assert [u["id"] for u in body["users"]] == [a.id for a in created]

    first = api.get("/api/v1/users", params={"q": marker, "limit": 2}, headers=viewer.headers)
    second = api.get(
        "/api/v1/users", params={"q": marker, "limit": 2, "offset": 2}, headers=viewer.headers
    )
    assert len(first.json()["users"]) == 2
    assert [u["id"] for u in second.json()["users"]] == [created[2].id]

    too_many = api.get("/api/v1/users", params={"limit": 1000}, headers=viewer.headers)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"][0]["field"] == "limit"


def test_listing_users_needs_a_token(api: httpx.Client) -> None:
    assert api.get("/api/v1/users").status_code == 401


def test_a_user_can_be_fetched_by_id(api: httpx.Client) -> None:
    alice = register(api)
    bob = register(api, name="Bob")
    response = api.get(f"/api/v1/users/{bob.id}", headers=alice.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Bob"
    missing = api.get("/api/v1/users/00000000-0000-0000-0000-000000000000", headers=alice.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "user_not_found"
    malformed = api.get("/api/v1/users/not-a-uuid", headers=alice.headers)
    assert malformed.status_code == 422


def test_profile_update_changes_only_what_was_sent(api: httpx.Client) -> None:
    alice = register(api, name="Alice")
    response = api.patch(
        "/api/v1/users/me",
        headers=alice.headers,
        json={
            "full_name": "Alice Liddell",
            "state": "California",
            "language": "en",
            "avatar": "https://example.com/a.png",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["state"], body["language"], body["avatar"]) == (
        "Alice Liddell",
        "California",
        "en",
        "https://example.com/a.png",
    )
    assert body["email"] == alice.user["email"]
    again = api.get("/api/v1/users/me", headers=alice.headers).json()
    assert again["state"] == "California"

    second = api.patch("/api/v1/users/me", headers=alice.headers, json={"language": "fr"})
    assert second.json()["state"] == "California"
    assert second.json()["language"] == "fr"


def test_profile_email_must_stay_unique(api: httpx.Client) -> None:
    alice = register(api)
    bob = register(api)
    response = api.patch(
        "/api/v1/users/me", headers=bob.headers, json={"email": alice.user["email"]}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    own = api.patch("/api/v1/users/me", headers=alice.headers, json={"email": alice.user["email"]})
    assert own.status_code == 200


def test_only_admins_change_roles(api: httpx.Client, server: ServerProcess) -> None:
    customer = register(api)
    target = register(api)
    refused = api.put(
        f"/api/v1/users/{target.id}/role", headers=customer.headers, json={"role": "agent"}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_required"

    admin = create_admin(api, server)
    granted = api.put(
        f"/api/v1/users/{target.id}/role", headers=admin.headers, json={"role": "agent"}
    )
    assert granted.status_code == 200
    assert granted.json()["role"] == "agent"
    # The new role counts at once, for tokens issued before the change too.
    assert api.get("/api/v1/auth/me", headers=target.headers).json()["role"] == "agent"

    bad_role = api.put(
        f"/api/v1/users/{target.id}/role", headers=admin.headers, json={"role": "emperor"}
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["error"]["fields"][0]["field"] == "role"


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(
    api: httpx.Client, server: ServerProcess
) -> None:
    admin = create_admin(api, server)
    alice = register(api)
    disabled = api.put(
        f"/api/v1/users/{alice.id}/status", headers=admin.headers, json={"status": "disabled"}
    )
    assert disabled.status_code == 200
    assert api.get("/api/v1/auth/me", headers=alice.headers).status_code == 401
    refused = api.post(
        "/api/v1/auth/login", json={"username": alice.username, "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_disabled"

    api.put(f"/api/v1/users/{alice.id}/status", headers=admin.headers, json={"status": "active"})
    assert login(api, alice.username).user["id"] == alice.id


def test_email_and_phone_are_shown_to_themselves_staff_and_admins_only(
    api: httpx.Client, server: ServerProcess
) -> None:
    marker = unique_username("private")
    owner = register(api, name=f"{marker} owner")
    other = register(api)
    admin = create_admin(api, server)
    agent = create_staff(api, server, "agent")
    email = f"{owner.username}@example.com"

    def seen_by(viewer: Account) -> list[dict[str, object]]:
        one = api.get(f"/api/v1/users/{owner.id}", headers=viewer.headers)
        found = api.get("/api/v1/users", params={"q": marker}, headers=viewer.headers)
        assert one.status_code == found.status_code == 200
        return [one.json(), *found.json()["users"]]

    for viewer in (owner, agent, admin):
        for shown in seen_by(viewer):
            assert shown["email"] == email
    assert api.get("/api/v1/users/me", headers=owner.headers).json()["email"] == email
    for shown in seen_by(other):
        assert shown["email"] is None
        assert shown["mobile_no"] is None
        assert shown["username"] == owner.username  # the public profile stays
    # The customer-service seed's directory: the same rule.
    listed = api.get("/api/users", headers=other.headers).json()
    assert listed
    assert all(u["email"] is None for u in listed if u["id"] != other.id)
    # The directory searches public fields only: an email does not find its owner.
    by_email = api.get("/api/v1/users", params={"q": email}, headers=other.headers)
    assert by_email.json()["total"] == 0
