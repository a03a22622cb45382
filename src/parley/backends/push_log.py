"""The development notifier: each push is a log line (no token in it, no message text)."""

from __future__ import annotations

import structlog

from parley.domain.ports import DeliveryReport, Notification, Notifier

log = structlog.get_logger(__name__)


class LogNotifier(Notifier):
    async def deliver(self, notification: Notification) -> DeliveryReport:
        log.info(
            "push.logged",
            push_id=notification.id,
            user_id=notification.user_id,
            conversation_id=notification.conversation_id,
            message_id=notification.message_id,
            count=notification.count,
            devices=len(notification.targets),
        )
        return DeliveryReport(sent=list(notification.targets))
