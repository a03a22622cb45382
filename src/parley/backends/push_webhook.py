"""The webhook notifier: each push is one signed JSON POST to the operator's endpoint.

The body (`webhook_body`) carries the notification and every device token it is for; the
endpoint forwards it to APNs, FCM or anything else. Two headers sign it:
`X-Parley-Timestamp` (Unix seconds) and `X-Parley-Signature: v1=<hex>`, the HMAC-SHA256 with
the shared secret of `<timestamp>.<body>`; a receiver recomputes it over the raw body and
refuses old timestamps (replays). A 2xx answer is success; its JSON body may list
`invalid_tokens`, which are then taken off their sessions. 408, 429 and 5xx, timeouts and
refused connections are retried (honouring `Retry-After`); other answers fail for good.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import orjson
import structlog

from parley.backends.push_http import is_transient, retry_after_secs
from parley.clock import now_iso
from parley.domain.ports import DeliveryReport, Notification, Notifier

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Parley-Signature"
TIMESTAMP_HEADER = "X-Parley-Timestamp"


def webhook_body(notification: Notification) -> dict[str, Any]:
    return {
        "type": "message",
        "id": notification.id,
        "user_id": notification.user_id,
        "conversation_id": notification.conversation_id,
        "conversation_kind": notification.conversation_kind,
        "message_id": notification.message_id,
        "message_ids": notification.message_ids,
        "count": notification.count,
        "title": notification.title,
        "body": notification.body,
        "sender_id": notification.sender_id,
        "devices": [{"session_id": t.session_id, "token": t.token} for t in notification.targets],
        "sent_at": now_iso(),
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


class WebhookNotifier(Notifier):
    def __init__(self, url: str, secret: str, *, timeout_secs: float) -> None:
        self._url = url
        self._secret = secret
        self._client = httpx.AsyncClient(timeout=timeout_secs)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def deliver(self, notification: Notification) -> DeliveryReport:
        targets = list(notification.targets)
        body = orjson.dumps(webhook_body(notification))
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("push.webhook_unreachable", error=type(exc).__name__)
            return DeliveryReport(retry=targets)
        if response.is_success:
            invalid = _invalid_tokens(response)
            return DeliveryReport(
                sent=[t for t in targets if t.token not in invalid],
                invalid=[t for t in targets if t.token in invalid],
            )
        log.warning("push.webhook_refused", status=response.status_code)
        if is_transient(response.status_code):
            return DeliveryReport(retry=targets, retry_after_secs=retry_after_secs(response))
        return DeliveryReport(failed=targets)


def _invalid_tokens(response: httpx.Response) -> set[str]:
    try:
        answer = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return set()
    found = answer.get("invalid_tokens") if isinstance(answer, dict) else None
    if not isinstance(found, list):
        return set()
    return {t for t in found if isinstance(t, str)}
