"""Firebase Cloud Messaging, HTTP v1: one `messages:send` per device token.

Auth is the service account's: an RS256 JWT assertion signed with its private key
(`iss` = `client_email`, `aud` = `token_uri`, the `firebase.messaging` scope) is exchanged at
its `token_uri` for an OAuth2 access token, kept until a minute before it expires (or until a
send is answered 401). Each token gets
`POST {FCM_BASE_URL}/v1/projects/{project_id}/messages:send`. A 404 (`UNREGISTERED`), a 400
(`INVALID_ARGUMENT`) or a 403 (`SENDER_ID_MISMATCH`) means the token is dead: it is reported
invalid and taken off its session. 408, 429 and 5xx, timeouts and refused connections are
retried by the push service (honouring `Retry-After`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import structlog

from parley.backends.push_http import is_transient, retry_after_secs
from parley.domain.ports import DeliveryReport, Notification, Notifier, PushTarget

log = structlog.get_logger(__name__)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TTL_SECS = 3600
REFRESH_EARLY_SECS = 60.0
DEAD_TOKEN_STATUSES = frozenset({400, 403, 404})


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str
    private_key_id: str | None
    token_uri: str

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceAccount:
        try:
            data = orjson.loads(Path(path).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"FCM_SERVICE_ACCOUNT_FILE: cannot read {path}: {exc}") from exc
        missing = [k for k in ("project_id", "client_email", "private_key") if not data.get(k)]
        if not isinstance(data, dict) or missing:
            raise ValueError(f"FCM_SERVICE_ACCOUNT_FILE: {path} lacks {', '.join(missing)}")
        return cls(
            project_id=str(data["project_id"]),
            client_email=str(data["client_email"]),
            private_key=str(data["private_key"]),
            private_key_id=data.get("private_key_id"),
            token_uri=str(data.get("token_uri") or "https://oauth2.googleapis.com/token"),
        )


class _Unavailable(Exception):
    """The OAuth2 token could not be had: `transient` says whether trying later may help."""

    def __init__(self, *, transient: bool, retry_after: float | None = None) -> None:
        self.transient = transient
        self.retry_after = retry_after


def fcm_message(notification: Notification, token: str) -> dict[str, Any]:
    data = {
        "type": "message",
        "push_id": notification.id,
        "conversation_id": notification.conversation_id,
        "message_id": notification.message_id,
        "message_ids": ",".join(notification.message_ids),
        "count": str(notification.count),
    }
    return {
        "message": {
            "token": token,
            "notification": {"title": notification.title, "body": notification.body},
            "data": data,
            "android": {"collapse_key": notification.conversation_id, "priority": "high"},
            "apns": {"headers": {"apns-collapse-id": notification.conversation_id}},
        }
    }


class FcmNotifier(Notifier):
    def __init__(self, account: ServiceAccount, *, base_url: str, timeout_secs: float) -> None:
        self._account = account
        self._send_url = f"{base_url.rstrip('/')}/v1/projects/{account.project_id}/messages:send"
        self._client = httpx.AsyncClient(timeout=timeout_secs)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def deliver(self, notification: Notification) -> DeliveryReport:
        report = DeliveryReport()
        try:
            token = await self._access_token()
        except _Unavailable as exc:
            if exc.transient:
                report.retry = list(notification.targets)
                report.retry_after_secs = exc.retry_after
            else:
                report.failed = list(notification.targets)
            return report
        outcomes = await asyncio.gather(
            *(self._send(notification, target, token) for target in notification.targets)
        )
        for target, (outcome, retry_after) in zip(notification.targets, outcomes, strict=True):
            getattr(report, outcome).append(target)
            if retry_after is not None:
                report.retry_after_secs = max(report.retry_after_secs or 0.0, retry_after)
        return report

    async def _send(
        self, notification: Notification, target: PushTarget, access_token: str
    ) -> tuple[str, float | None]:
        body = orjson.dumps(fcm_message(notification, target.token))
        headers = {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"}
        try:
            response = await self._client.post(self._send_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("push.fcm_unreachable", error=type(exc).__name__)
            return "retry", None
        status = response.status_code
        if response.is_success:
            return "sent", None
        if status == 401:  # the access token was revoked or expired early: a new one next time
            self._token = None
            return "retry", None
        if status in DEAD_TOKEN_STATUSES:
            log.info("push.fcm_token_invalid", status=status, error=_error_code(response))
            return "invalid", None
        log.warning("push.fcm_refused", status=status, error=_error_code(response))
        if is_transient(status):
            return "retry", retry_after_secs(response)
        return "failed", None

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is not None and time.monotonic() < self._token_expires:
                return self._token
            now = int(time.time())
            claims = {
                "iss": self._account.client_email,
                "scope": SCOPE,
                "aud": self._account.token_uri,
                "iat": now,
                "exp": now + ASSERTION_TTL_SECS,
            }
            headers = (
                {"kid": self._account.private_key_id} if self._account.private_key_id else None
            )
            assertion = jwt.encode(
                claims, self._account.private_key, algorithm="RS256", headers=headers
            )
            try:
                response = await self._client.post(
                    self._account.token_uri,
                    data={"grant_type": GRANT_TYPE, "assertion": assertion},
                )
            except httpx.HTTPError as exc:
                log.warning("push.fcm_auth_unreachable", error=type(exc).__name__)
                raise _Unavailable(transient=True) from exc
            if not response.is_success:
                log.error("push.fcm_auth_refused", status=response.status_code)
                raise _Unavailable(
                    transient=is_transient(response.status_code),
                    retry_after=retry_after_secs(response),
                )
            try:
                answer = orjson.loads(response.content)
                token = str(answer["access_token"])
                expires_in = float(answer.get("expires_in", 3600))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.error("push.fcm_auth_unreadable")
                raise _Unavailable(transient=True) from exc
            self._token = token
            self._token_expires = time.monotonic() + max(0.0, expires_in - REFRESH_EARLY_SECS)
            return token


def _error_code(response: httpx.Response) -> str | None:
    """FCM's `errorCode` (UNREGISTERED, …) or the error's `status`, when the body says."""
    try:
        error = orjson.loads(response.content).get("error", {})
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None
