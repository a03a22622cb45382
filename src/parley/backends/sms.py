"""Sending one-time codes by SMS: a log sender for development, a webhook for production.

The webhook receives `POST {"to": "+15551234567", "text": "…", "purpose": "login"}` as JSON
and must answer 2xx; the SMS gateway behind it is the operator's choice.
"""

from __future__ import annotations

import httpx
import structlog

from parley.domain.ports import SmsSender
from parley.errors import ServiceUnavailable

log = structlog.get_logger(__name__)


class LogSmsSender(SmsSender):
    """Development: the message goes to the log (with the code in it)."""

    async def send(self, to: str, text: str, *, purpose: str) -> None:
        log.info("sms.sent", to=to, text=text, purpose=purpose)


class UnavailableSmsSender(SmsSender):
    """Production without SMS_WEBHOOK_URL: codes cannot be delivered, so none is issued."""

    async def send(self, to: str, text: str, *, purpose: str) -> None:
        raise ServiceUnavailable(
            "Phone sign-in is not configured on this server.", code="sms_unavailable"
        )


class WebhookSmsSender(SmsSender):
    def __init__(self, url: str, *, timeout_secs: float = 5.0) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout_secs)

    async def send(self, to: str, text: str, *, purpose: str) -> None:
        try:
            response = await self._client.post(
                self._url, json={"to": to, "text": text, "purpose": purpose}
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("sms.webhook_failed", error=str(exc))
            raise ServiceUnavailable(
                "The code could not be sent; try again shortly.", code="sms_failed"
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()
