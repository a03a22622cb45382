"""Sign-up, sign-in, refresh rotation, sign-out: through HTTP, on every database backend."""

from __future__ import annotations

import httpx

from tests.support.accounts import PASSWORD, login, register, unique_username


def test_register_returns_the_user_and_a_working_token_pair(api: httpx.Client) -> None:
    username = unique_username("Alice")
    response = api.post(
        "/api/v1/auth/register",
        json={
            "username": username,
            "email": f"{username}@Example.com",
            "password": PASSWORD,
            "name": "Alice Liddell",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["username"] == username.lower()
    assert body["user"]["email"] == f"{username.lower()}@example.com"
    assert body["user"]["name"] == body["user"]["full_name"] == "Alice Liddell"
    assert body["user"]["role"] == "customer"
    assert "password_hash" not in body["user"]
    tokens = body["tokens"]
    assert tokens["expires_in"] == 900
    assert tokens["access_token"] != tokens["refresh_token"]

    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]


def test_register_refuses_taken_username_and_email(api: httpx.Client) -> None:
    alice = register(api)
    same_name = api.post(
        "/api/v1/auth/register",
        json={
            "username": alice.username.upper(),
            "email": "other@example.com",
            "password": PASSWORD,
        },
    )
    assert same_name.status_code == 409
    assert same_name.json()["error"]["code"] == "username_taken"
    same_email = api.post(
        "/api/v1/auth/register",
        json={"username": unique_username(), "email": alice.user["email"], "password": PASSWORD},
    )
    assert same_email.status_code == 409
    assert same_email.json()["error"]["code"] == "email_taken"


def test_register_validation_names_the_fields(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/auth/register",
        json={"username": "x", "email": "not-an-email", "password": "short"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {f["field"] for f in error["fields"]} == {"username", "email", "password"}


def test_self_registration_cannot_grant_a_staff_role(api: httpx.Client) -> None:
    for role in ("agent", "super-agent", "admin"):
        response = api.post(
            "/api/v1/auth/register",
            json={"username": unique_username(), "password": PASSWORD, "role": role},
        )
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "role_not_allowed"
    as_customer = api.post(
        "/api/v1/auth/register",
        json={"username": unique_username(), "password": PASSWORD, "role": "customer"},
    )
    assert as_customer.status_code == 201


def test_login_by_username_or_email(api: httpx.Client) -> None:
    alice = register(api)
    by_name = api.post(
        "/api/v1/auth/login", json={"username": alice.username, "password": PASSWORD}
    )
    by_email = api.post(
        "/api/v1/auth/login", json={"email": alice.user["email"].upper(), "password": PASSWORD}
    )
    assert by_name.status_code == by_email.status_code == 200
    assert by_name.json()["user"]["id"] == by_email.json()["user"]["id"] == alice.id


def test_login_failures_do_not_say_which_part_was_wrong(api: httpx.Client) -> None:
    alice = register(api)
    wrong_password = api.post(
        "/api/v1/auth/login", json={"username": alice.username, "password": "wrong password"}
    )
    unknown_user = api.post(
        "/api/v1/auth/login", json={"username": unique_username(), "password": PASSWORD}
    )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert (
        wrong_password.json()["error"]["code"]
        == unknown_user.json()["error"]["code"]
        == ("invalid_credentials")
    )
    assert wrong_password.json()["error"]["message"] == unknown_user.json()["error"]["message"]


def test_each_login_is_its_own_device_session(api: httpx.Client) -> None:
    alice = register(api, device_id="phone")
    laptop = login(api, alice.username, device_id="laptop")
    sessions = api.get("/api/v1/auth/sessions", headers=laptop.headers)
    assert sessions.status_code == 200
    devices = {s["device_id"]: s["current"] for s in sessions.json()}
    assert devices == {"phone": False, "laptop": True}


def test_refresh_rotates_and_the_old_token_is_single_use(api: httpx.Client) -> None:
    alice = register(api)
    first = api.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert first.status_code == 200, first.text
    new_tokens = first.json()["tokens"]
    assert new_tokens["refresh_token"] != alice.refresh_token
    assert new_tokens["access_token"] != alice.access_token
    new_headers = {"Authorization": f"Bearer {new_tokens['access_token']}"}
    assert api.get("/api/v1/auth/me", headers=new_headers).status_code == 200

    # Replaying the spent token is taken as theft: the whole session family is revoked.
    replay = api.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "refresh_token_reused"
    after = api.post("/api/v1/auth/refresh", json={"refresh_token": new_tokens["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "session_revoked"
    me = api.get("/api/v1/auth/me", headers=new_headers)
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "session_revoked"


def test_reuse_revokes_only_that_device(api: httpx.Client) -> None:
    phone = register(api)
    laptop = login(api, phone.username)
    api.post("/api/v1/auth/refresh", json={"refresh_token": phone.refresh_token})
    api.post("/api/v1/auth/refresh", json={"refresh_token": phone.refresh_token})
    assert api.get("/api/v1/auth/me", headers=laptop.headers).status_code == 200


def test_logout_revokes_the_session(api: httpx.Client) -> None:
    alice = register(api)
    other_device = login(api, alice.username)
    response = api.post("/api/v1/auth/logout", headers=alice.headers)
    assert response.status_code == 200
    assert response.json()["sessions_revoked"] == 1
    me = api.get("/api/v1/auth/me", headers=alice.headers)
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "session_revoked"
    assert me.headers["www-authenticate"] == "Bearer"
    refresh = api.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401
    assert api.get("/api/v1/auth/me", headers=other_device.headers).status_code == 200


def test_logout_everywhere(api: httpx.Client) -> None:
    alice = register(api)
    other_device = login(api, alice.username)
    response = api.post("/api/v1/auth/logout", headers=alice.headers, json={"all_devices": True})
    assert response.json()["sessions_revoked"] == 2
    assert api.get("/api/v1/auth/me", headers=other_device.headers).status_code == 401


def test_a_device_session_can_be_ended_from_another_device(api: httpx.Client) -> None:
    phone = register(api, device_id="phone")
    laptop = login(api, phone.username, device_id="laptop")
    sessions = api.get("/api/v1/auth/sessions", headers=laptop.headers).json()
    phone_session = next(s for s in sessions if s["device_id"] == "phone")
    ended = api.delete(f"/api/v1/auth/sessions/{phone_session['id']}", headers=laptop.headers)
    assert ended.status_code == 204
    assert api.get("/api/v1/auth/me", headers=phone.headers).status_code == 401
    again = api.delete(f"/api/v1/auth/sessions/{phone_session['id']}", headers=laptop.headers)
    assert again.status_code == 404
