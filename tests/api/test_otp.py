"""Phone sign-in with one-time codes: the seed's REST paths and the canonical ones."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.backends.sms import LogSmsSender
from parley.config import Settings
from parley.domain.accounts.otp import OtpService
from parley.domain.accounts.principal import ClientInfo
from parley.domain.accounts.schemas import DeviceContext
from parley.domain.rate_limit import RateLimiter
from parley.errors import Unauthenticated
from parley.runtime import Runtime
from tests.support.server import ServerProcess, start_server


def phone() -> str:
    """A valid, most likely unused, US number (650-253-xxxx)."""
    return f"+1650253{random.randrange(10_000):04d}"


def request_code(
    api: httpx.Client, mobile: str, path: str = "/auth/login", **extra: Any
) -> httpx.Response:
    return api.post(
        path, json={"mobile_no": mobile, "device_id": "dev-1", "fcm_token": "fcm-1", **extra}
    )


def test_phone_sign_in_end_to_end(api: httpx.Client) -> None:
    mobile = phone()
    asked = request_code(api, mobile)
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert (body["status"], body["mobile_no"], body["is_new_user"]) == ("success", mobile, True)
    assert len(body["otp"]) == 6  # development shows the code, as the seed did

    verified = api.post(
        "/auth/verify-otp",
        json={"mobile_no": mobile, "session_token": body["session_token"], "otp": body["otp"]},
    )
    assert verified.status_code == 200, verified.text
    signed_in = verified.json()
    assert signed_in["is_new_user"] is True
    assert signed_in["user"]["mobile_no"] == mobile
    headers = {"Authorization": f"Bearer {signed_in['tokens']['access_token']}"}
    assert signed_in["token"] == signed_in["tokens"]["access_token"]
    me = api.get("/api/v1/auth/me", headers=headers).json()
    assert me["id"] == signed_in["user"]["id"]
    sessions = api.get("/api/v1/auth/sessions", headers=headers).json()
    assert [s["device_id"] for s in sessions] == ["dev-1"]

    profile = api.post(
        "/auth/set-profile",
        json={
            "mobile_no": mobile,
            "session_token": body["session_token"],
            "full_name": "John Doe",
            "state": "California",
            "email": f"{mobile[1:]}@example.com",
            "language": "en",
        },
    )
    assert profile.status_code == 200, profile.text
    user = profile.json()["user"]
    assert (user["full_name"], user["state"], user["language"]) == ("John Doe", "California", "en")
    reused = api.post(
        "/auth/verify-otp",
        json={"mobile_no": mobile, "session_token": body["session_token"], "otp": body["otp"]},
    )
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "otp_used"

    # The same number again, on the canonical paths: an existing account now.
    again = request_code(api, mobile, "/api/v1/auth/otp/request").json()
    assert again["is_new_user"] is False
    second = api.post(
        "/api/v1/auth/otp/verify",
        json={"mobile_no": mobile, "session_token": again["session_token"], "otp": again["otp"]},
    )
    assert second.json()["user"]["id"] == signed_in["user"]["id"]


def test_wrong_codes_count_and_five_kill_the_code(api: httpx.Client) -> None:
    mobile = phone()
    body = request_code(api, mobile).json()
    wrong = "000000" if body["otp"] != "000000" else "111111"
    attempt = {"mobile_no": mobile, "session_token": body["session_token"], "otp": wrong}
    first = api.post("/auth/verify-otp", json=attempt)
    assert first.status_code == 401
    assert first.json()["error"]["code"] == "otp_invalid"
    assert first.json()["error"]["details"]["attempts_left"] == 4
    for _ in range(4):
        api.post("/auth/verify-otp", json=attempt)
    right = api.post("/auth/verify-otp", json={**attempt, "otp": body["otp"]})
    assert right.status_code == 401
    assert right.json()["error"]["code"] == "otp_locked"


async def guess_together(
    server: ServerProcess, mobile: str, session_token: str, codes: list[str]
) -> list[httpx.Response]:
    """Every guess in flight at once, each on a connection of its own."""
    limits = httpx.Limits(max_connections=len(codes))
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as api:
        return list(
            await asyncio.gather(
                *(
                    api.post(
                        "/auth/verify-otp",
                        json={"mobile_no": mobile, "session_token": session_token, "otp": code},
                    )
                    for code in codes
                )
            )
        )


def error_codes(answers: list[httpx.Response]) -> Counter[str]:
    return Counter(
        "signed_in" if a.status_code == 200 else a.json()["error"]["code"] for a in answers
    )


@pytest.mark.parametrize("round_", range(3))
async def test_simultaneous_wrong_guesses_get_no_more_checks_than_the_limit(
    server: ServerProcess, round_: int
) -> None:
    """200 wrong guesses at once: exactly OTP_MAX_ATTEMPTS (5) are checked, the rest locked;
    the right code afterwards is locked too."""
    mobile = phone()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as api:
        asked = await api.post("/auth/login", json={"mobile_no": mobile})
    body = asked.json()
    wrong = "000000" if body["otp"] != "000000" else "111111"
    answers = await guess_together(server, mobile, body["session_token"], [wrong] * 200)
    assert error_codes(answers) == {"otp_invalid": 5, "otp_locked": 195}
    left = sorted(
        a.json()["error"]["details"]["attempts_left"]
        for a in answers
        if a.json()["error"]["code"] == "otp_invalid"
    )
    assert left == [0, 1, 2, 3, 4]
    late = await guess_together(server, mobile, body["session_token"], [body["otp"]])
    assert error_codes(late) == {"otp_locked": 1}


@pytest.mark.parametrize("round_", range(3))
async def test_the_right_code_among_simultaneous_guesses_signs_in_at_most_once(
    server: ServerProcess, round_: int
) -> None:
    """59 wrong guesses and the right one last, all at once; then 30 copies of a fresh right
    code at once: one sign-in at most, repeats are `otp_used`."""
    mobile = phone()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as api:
        first = (await api.post("/auth/login", json={"mobile_no": mobile})).json()
        second = (await api.post("/auth/login", json={"mobile_no": mobile})).json()
    wrong = next(c for c in ("000000", "111111", "222222") if c != first["otp"])
    mixed = error_codes(
        await guess_together(server, mobile, first["session_token"], [wrong] * 59 + [first["otp"]])
    )
    assert mixed["signed_in"] <= 1
    assert mixed["otp_invalid"] <= 5
    assert mixed["otp_invalid"] + mixed["signed_in"] <= 6
    assert set(mixed) <= {"signed_in", "otp_invalid", "otp_locked", "otp_used"}
    assert sum(mixed.values()) == 60

    repeats = error_codes(
        await guess_together(server, mobile, second["session_token"], [second["otp"]] * 30)
    )
    assert repeats == {"signed_in": 1, "otp_used": 29}


def test_requests_are_rate_limited_per_number(api: httpx.Client) -> None:
    mobile = phone()
    for _ in range(3):
        assert request_code(api, mobile).status_code == 200
    limited = request_code(api, mobile)
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert error["code"] == "otp_rate_limited"
    assert int(limited.headers["retry-after"]) == error["details"]["retry_after"] > 0


def test_bad_numbers_and_sessions_are_refused(api: httpx.Client) -> None:
    bad = request_code(api, "12345")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_mobile_no"
    # The GOSOCKET seed's own example is no real number: refused, saying what is expected.
    example = request_code(api, "+1234567890")
    assert (example.status_code, example.json()["error"]["code"]) == (422, "invalid_mobile_no")
    assert "international form" in example.json()["error"]["message"]
    assert "+14155550123" in example.json()["error"]["message"]
    mobile = phone()
    request_code(api, mobile)
    unknown = api.post(
        "/auth/verify-otp", json={"mobile_no": mobile, "session_token": "made-up", "otp": "123456"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "otp_session_invalid"
    early = api.post(
        "/auth/set-profile",
        json={"mobile_no": mobile, "session_token": "made-up", "full_name": "X"},
    )
    assert early.status_code == 401


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("otp-short")),
        {"OTP_TTL_SECS": "1", "OTP_REQUESTS_PER_CLIENT": "3", "CLEANUP_INTERVAL_SECS": "1"},
    )
    yield server
    server.stop()


def first_cleanup_that_removed_codes(server: ServerProcess) -> dict[str, Any]:
    """The first cleanup round (every second here) that deleted expired codes."""
    after = 0
    while True:
        line = server.wait_for_log('"cleanup.done"', after=after)
        after = server.log_lines.index(line) + 1
        report: dict[str, Any] = json.loads(line)
        if report["otps"] >= 1:
            return report


def test_expired_codes_are_cleaned_up_and_clients_are_limited(
    short_lived: ServerProcess,
) -> None:
    with httpx.Client(base_url=short_lived.base_url, timeout=15) as api:
        mobile = phone()
        body = request_code(api, mobile).json()
        assert request_code(api, phone()).status_code == 200
        assert request_code(api, phone()).status_code == 200
        limited = request_code(api, phone())  # a fourth number from the same address
        assert limited.status_code == 429

        # Codes live one second here; the cleanup deletes them once expired, after which the
        # session token is unknown.
        first_cleanup_that_removed_codes(short_lived)
        gone = api.post(
            "/auth/verify-otp",
            json={"mobile_no": mobile, "session_token": body["session_token"], "otp": body["otp"]},
        )
        assert gone.json()["error"]["code"] == "otp_session_invalid"


async def test_a_code_past_its_time_is_refused(tmp_path: Path) -> None:
    """Expiry, with the service's clock turned forward instead of waiting five minutes."""
    now = [datetime.now(UTC)]
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,  # type: ignore[call-arg]
        jwt_secret="x" * 40,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
    )
    async with Runtime.start(settings) as runtime:
        otp = OtpService(
            runtime.db,
            runtime.auth,
            LogSmsSender(),
            secret="s" * 40,
            ttl_secs=300,
            max_attempts=5,
            per_number=RateLimiter(limit=9, window_secs=60),
            per_client=RateLimiter(limit=9, window_secs=60),
            default_region="US",
            reveal_codes=True,
            clock=lambda: now[0],
        )
        mobile = phone()
        challenge = await otp.request(mobile, DeviceContext(), ClientInfo())
        assert challenge.otp is not None
        now[0] += timedelta(seconds=301)
        with pytest.raises(Unauthenticated) as refused:
            await otp.verify(mobile, challenge.session_token, challenge.otp, ClientInfo())
        assert refused.value.code == "otp_expired"
        assert await otp.delete_expired() == 1


class CapturingWebhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        CapturingWebhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    webhook = HTTPServer(("127.0.0.1", 0), CapturingWebhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{webhook.server_address[1]}/sms"
    server = start_server(
        Path(tmp_path_factory.mktemp("otp-prod")), {"APP_ENV": "production", "SMS_WEBHOOK_URL": url}
    )
    yield server
    server.stop()
    webhook.shutdown()
    webhook.server_close()


def test_production_sends_the_code_by_webhook_and_never_shows_it(
    production: ServerProcess,
) -> None:
    with httpx.Client(base_url=production.base_url, timeout=15) as api:
        mobile = phone()
        body = request_code(api, mobile).json()
        assert "otp" not in body
        sms = next(m for m in CapturingWebhook.received if m["to"] == mobile)
        code = sms["text"].rsplit(" ", 1)[-1]
        assert sms["purpose"] == "login"
        verified = api.post(
            "/auth/verify-otp",
            json={"mobile_no": mobile, "session_token": body["session_token"], "otp": code},
        )
        assert verified.status_code == 200, verified.text
