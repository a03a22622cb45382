"""The backends: implementations of the domain's ports (`parley.domain.ports`), each with an
in-process default.

Chosen by URL: an empty URL means the in-process implementation; `redis://` (or `rediss://`)
the Redis one, imported only when asked for.
"""

from __future__ import annotations

from pathlib import Path

from parley.domain.ports import (
    Broker,
    FileStore,
    GameStore,
    Notifier,
    PresenceStore,
    PushQueue,
    RateLimit,
    RecoveryStore,
)


def create_broker(redis_url: str, *, prefix: str) -> Broker:
    if not redis_url:
        from parley.backends.memory import MemoryBroker

        return MemoryBroker()
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        from parley.backends.redis import RedisBroker

        return RedisBroker(redis_url, prefix=prefix)
    raise ValueError(f"REDIS_URL must be a redis:// URL, not {redis_url!r}")


def create_presence_store(
    redis_url: str, *, instance_ttl_secs: float, prefix: str
) -> PresenceStore:
    if not redis_url:
        from parley.backends.memory import MemoryPresenceStore

        return MemoryPresenceStore()
    from parley.backends.redis_presence import RedisPresenceStore

    return RedisPresenceStore(redis_url, instance_ttl_secs=instance_ttl_secs, prefix=prefix)


def create_game_store(
    redis_url: str, *, broker: Broker, prefix: str, room_ttl_secs: float
) -> GameStore:
    """Game rooms live where the broker carries their events: in this process, or in Redis
    (which publishes each room's events in order with the change that made them)."""
    if not redis_url:
        from parley.backends.memory_games import MemoryGameStore

        return MemoryGameStore(broker)
    from parley.backends.redis_games import RedisGameStore

    return RedisGameStore(redis_url, prefix=prefix, ttl_secs=room_ttl_secs)


def create_recovery_store(
    redis_url: str, *, broker: Broker, prefix: str, retention_secs: float
) -> RecoveryStore:
    """The recovery log lives where the broker carries messages: in this process, or in
    Redis (which publishes each message with its position in one step)."""
    if not redis_url:
        from parley.backends.memory_recovery import MemoryRecoveryStore

        return MemoryRecoveryStore(broker, retention_secs=retention_secs)
    from parley.backends.redis_recovery import RedisRecoveryStore

    return RedisRecoveryStore(redis_url, prefix=prefix, retention_secs=retention_secs)


def create_rate_limit(
    redis_url: str, *, prefix: str, name: str, limit: int, window_secs: float
) -> RateLimit:
    """Counted in this process, or (with Redis) across every instance."""
    if not redis_url:
        from parley.domain.rate_limit import RateLimiter

        return RateLimiter(limit=limit, window_secs=window_secs)
    from parley.backends.redis_rate_limit import RedisRateLimit

    return RedisRateLimit(redis_url, prefix=prefix, name=name, limit=limit, window_secs=window_secs)


def create_file_store(
    url: str,
    *,
    local_root: Path,
    endpoint_url: str = "",
    region: str = "",
    access_key_id: str = "",
    secret_access_key: str = "",
) -> FileStore:
    """Uploads in a local directory (an empty URL) or in S3-compatible storage (`s3://`)."""
    if not url:
        from parley.backends.files_local import LocalFileStore

        return LocalFileStore(local_root)
    if url.startswith("s3://"):
        from parley.backends.files_s3 import S3FileStore

        return S3FileStore(
            url,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
        )
    raise ValueError(f"FILE_STORE_URL must be empty or an s3:// URL, not {url!r}")


def create_push_queue(redis_url: str, *, prefix: str) -> PushQueue:
    """Pushes waiting out their grace: in this process, or in Redis (shared by every
    instance, so one sends each, and what a dead instance left is sent by another)."""
    if not redis_url:
        from parley.backends.memory_push import MemoryPushQueue

        return MemoryPushQueue()
    from parley.backends.redis_push import RedisPushQueue

    return RedisPushQueue(redis_url, prefix=prefix)


def create_notifier(
    kind: str,
    *,
    webhook_url: str = "",
    webhook_secret: str = "",
    fcm_service_account_file: str = "",
    fcm_base_url: str = "",
    timeout_secs: float = 10.0,
) -> Notifier | None:
    """`PUSH_NOTIFIER`: log, webhook, fcm, or off (None: no pushes at all)."""
    if kind == "off":
        return None
    if kind == "log":
        from parley.backends.push_log import LogNotifier

        return LogNotifier()
    if kind == "webhook":
        from parley.backends.push_webhook import WebhookNotifier

        return WebhookNotifier(webhook_url, webhook_secret, timeout_secs=timeout_secs)
    if kind == "fcm":
        from parley.backends.push_fcm import FcmNotifier, ServiceAccount

        account = ServiceAccount.from_file(fcm_service_account_file)
        return FcmNotifier(account, base_url=fcm_base_url, timeout_secs=timeout_secs)
    raise ValueError(f"PUSH_NOTIFIER must be log, webhook, fcm or off, not {kind!r}")
