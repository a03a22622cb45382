"""The objects built once at start-up and shared by every transport.

Why one module: this is the composition root, the one place where each port meets the
backend the settings choose and each service gets its collaborators, in start-up order and
torn down in reverse by one exit stack. Split, the order would be spread over files that
each need all the others.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import structlog

from parley.backends import (
    create_broker,
    create_file_store,
    create_game_store,
    create_notifier,
    create_presence_store,
    create_push_queue,
    create_rate_limit,
    create_recovery_store,
)
from parley.backends.redis import RedisBroker
from parley.backends.sms import LogSmsSender, UnavailableSmsSender, WebhookSmsSender
from parley.config import Settings
from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.types import utcnow
from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.guard import SignInGuard, SignInLimits
from parley.domain.accounts.otp import OtpService
from parley.domain.accounts.provisioning import (
    count_users,
    seed_default_users,
)
from parley.domain.accounts.users import UserService
from parley.domain.broadcast_limit import BroadcastLimit
from parley.domain.cleanup import Cleanup, TakeLock, no_lock_needed
from parley.domain.conversations.messages import MessageService
from parley.domain.conversations.quotas import Quotas
from parley.domain.conversations.reactions import ReactionService
from parley.domain.conversations.rooms import RoomService
from parley.domain.conversations.search import SearchService
from parley.domain.conversations.send_limits import SendLimits
from parley.domain.conversations.send_queue import SendQueue
from parley.domain.conversations.service import ConversationService
from parley.domain.creation import CreationLimit
from parley.domain.dashboard import Dashboard
from parley.domain.gameplay.service import GameplayService
from parley.domain.moderation.reports import ReportService
from parley.domain.moderation.restrictions import RestrictionService
from parley.domain.moderation.rules import RoomRules
from parley.domain.notifications.mutes import MuteService
from parley.domain.notifications.push import PushService
from parley.domain.ports import Broker, PresenceStore, RateLimit, SmsSender
from parley.domain.presence import PresenceService
from parley.domain.recent_errors import RecentErrors
from parley.domain.social.blocks import BlockService
from parley.domain.social.friends import FriendService
from parley.domain.unit_of_work import EventPublisher, UnitOfWork
from parley.domain.uploads.service import UploadService
from parley.realtime.chat.live import LiveService
from parley.realtime.gameplay.live import GameLive
from parley.realtime.hub import Hub
from parley.realtime.pending_sockets import PendingSockets
from parley.realtime.recovery import Recovery
from parley.security.passwords import PasswordHasher
from parley.security.tokens import TokenService

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    db: Database
    broker: Broker
    tokens: TokenService
    auth: AuthService
    otp: OtpService
    users: UserService
    conversations: ConversationService
    messages: MessageService
    presence: PresenceService
    publisher: EventPublisher
    hub: Hub
    live: LiveService
    games: GameLive
    friends: FriendService
    blocks: BlockService
    reactions: ReactionService
    rooms: RoomService
    search: SearchService
    uploads: UploadService
    mutes: MuteService
    dashboard: Dashboard
    restrictions: RestrictionService
    """Room mutes and bans."""
    reports: ReportService
    cleanup: Cleanup
    """The periodic cleanup (`run_once` runs a round now)."""
    recovery: Recovery | None = None
    """Socket.IO connection-state recovery; None when `SIO_RECOVERY_WINDOW` is 0."""
    push: PushService | None = None
    """Pushes to offline devices; None with `PUSH_NOTIFIER=off`."""
    creations: CreationLimit = field(default_factory=CreationLimit)
    recent_errors: RecentErrors = field(default_factory=RecentErrors)
    """Shared with `dashboard`, which reads it."""
    broadcasts: BroadcastLimit = field(default_factory=BroadcastLimit)
    """BROADCASTS_PER_KEY: broadcasts per API key (or admin) a minute."""
    pending_sockets: PendingSockets = field(default_factory=lambda: PendingSockets(64))
    """MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT: sockets open, not signed in, per address."""

    @staticmethod
    async def _push(
        stack: AsyncExitStack,
        settings: Settings,
        db: Database,
        publisher: EventPublisher,
        presence: PresenceStore,
    ) -> PushService | None:
        notifier = create_notifier(
            settings.effective_push_notifier.value,
            webhook_url=settings.push_webhook_url,
            webhook_secret=settings.push_webhook_secret,
            fcm_service_account_file=settings.fcm_service_account_file,
            fcm_base_url=settings.fcm_base_url,
            timeout_secs=settings.push_timeout_secs,
        )
        if notifier is None:
            return None
        notifier = await stack.enter_async_context(notifier)
        queue = await stack.enter_async_context(
            create_push_queue(settings.redis_url, prefix=settings.redis_prefix)
        )
        rate_limit = await stack.enter_async_context(
            create_rate_limit(
                settings.redis_url,
                prefix=settings.redis_prefix,
                name="push-user",
                limit=settings.push_rate_limit,
                window_secs=settings.push_rate_window_secs,
            )
        )
        push = PushService(
            db,
            presence,
            queue,
            notifier,
            rate_limit,
            grace_secs=settings.push_grace_secs,
            queue_limit=settings.push_queue_limit,
            max_recipients=settings.push_max_recipients,
            max_attempts=settings.push_max_attempts,
            retry_base_secs=settings.push_retry_base_secs,
            concurrency=settings.push_concurrency,
        )
        publisher.on_message_created(push.message_created)
        push.start()
        stack.push_async_callback(push.close)
        return push

    @staticmethod
    async def _sms_sender(stack: AsyncExitStack, settings: Settings) -> SmsSender:
        if settings.sms_webhook_url:
            sender = WebhookSmsSender(settings.sms_webhook_url)
            stack.push_async_callback(sender.aclose)
            return sender
        return UnavailableSmsSender() if settings.is_production else LogSmsSender()

    @staticmethod
    async def _rate_limit(
        stack: AsyncExitStack, settings: Settings, name: str, limit: int, window_secs: float
    ) -> RateLimit:
        """A limit counted in this process, or across every instance with Redis."""
        return await stack.enter_async_context(
            create_rate_limit(
                settings.redis_url,
                prefix=settings.redis_prefix,
                name=name,
                limit=limit,
                window_secs=window_secs,
            )
        )

    @classmethod
    async def _sign_in_guard(cls, stack: AsyncExitStack, settings: Settings) -> SignInGuard:
        """Password sign-in, registration and refresh limits."""
        limit = partial(cls._rate_limit, stack, settings)
        return SignInGuard(
            SignInLimits(
                attempts_per_client=await limit(
                    "login-client", settings.login_attempts_per_client, 60
                ),
                failures_per_account=await limit(
                    "login-failures",
                    settings.login_failures_per_account,
                    settings.login_failure_window_secs,
                ),
                registrations_per_client=await limit(
                    "register-client", settings.registrations_per_client, 3600
                ),
                refreshes_per_client=await limit(
                    "refresh-client", settings.refreshes_per_client, 60
                ),
                in_flight_per_client=settings.sign_ins_in_flight_per_client,
            )
        )

    @staticmethod
    async def _write_behind(
        stack: AsyncExitStack,
        settings: Settings,
        db: Database,
        uow: UnitOfWork,
        messages: MessageService,
    ) -> None:
        """Sends go to a Redis Stream; this instance also runs one of its writers."""
        from parley.backends.redis_stream import RedisMessageLog
        from parley.domain.conversations.write_behind import WriteBehindSender, persist_batch

        message_log = await stack.enter_async_context(
            RedisMessageLog(
                settings.redis_url,
                prefix=settings.redis_prefix,
                consumer=uuid.uuid4().hex,
                claim_idle_secs=settings.write_behind_claim_idle_secs,
            )
        )
        messages.use_queue(WriteBehindSender(uow, messages, message_log))
        message_log.start(lambda rows: persist_batch(db, rows))

    @staticmethod
    async def _recovery(
        stack: AsyncExitStack,
        settings: Settings,
        broker: Broker,
        publisher: EventPublisher,
        auth: AuthService,
    ) -> Recovery | None:
        window = settings.sio_recovery_window_secs
        if window <= 0:
            return None
        # A client may stop receiving a ping interval and timeout before the server sees its
        # connection go; what was sent meanwhile is missed, and older than the drop.
        in_flight = settings.sio_ping_interval_secs + settings.sio_ping_timeout_secs + 15
        store = await stack.enter_async_context(
            create_recovery_store(
                settings.redis_url,
                broker=broker,
                prefix=settings.redis_prefix,
                retention_secs=window + in_flight,
            )
        )
        publisher.log_messages(store)
        recovery = Recovery(store, auth, window_secs=window, in_flight_secs=in_flight)
        recovery.start()
        stack.push_async_callback(recovery.close)
        return recovery

    @classmethod
    @asynccontextmanager
    async def start(
        cls, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> AsyncIterator[Runtime]:
        """`clock`: when mutes and bans end (a test turns it forward)."""
        rules = RoomRules(clock)
        tokens = TokenService.from_settings(settings)
        hasher = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            workers=settings.password_hash_workers,
            queue=settings.password_hash_queue,
        )
        async with AsyncExitStack() as stack:
            stack.callback(hasher.close)
            db = Database(
                settings.effective_database_url,
                pool_size=settings.database_pool_size,
                queue_timeout_secs=settings.database_queue_timeout_secs,
                busy_timeout_secs=settings.database_busy_timeout_secs,
                sqlite_inline=settings.sqlite_inline,
            )
            stack.push_async_callback(db.dispose)
            auto_migrate = settings.auto_migrate
            if auto_migrate is None:
                auto_migrate = db.is_sqlite
            if auto_migrate:
                await upgrade_to_head(db)
            await _seed_if_wanted(settings, db, hasher)
            broker = await stack.enter_async_context(
                create_broker(settings.redis_url, prefix=settings.redis_prefix)
            )
            hub = Hub(broker)
            stack.push_async_callback(hub.close)
            publisher = EventPublisher(broker)
            uow = UnitOfWork(db, publisher)
            store = await stack.enter_async_context(
                create_presence_store(
                    settings.redis_url,
                    instance_ttl_secs=settings.presence_instance_ttl_secs,
                    prefix=settings.redis_prefix,
                )
            )
            store.report_connections(lambda: hub.connection_count)
            presence = PresenceService(
                uow,
                store,
                offline_grace_secs=settings.presence_grace_secs,
                typing_ttl_secs=settings.typing_ttl_secs,
            )
            presence.start_sweeping(every_secs=settings.presence_instance_ttl_secs / 2)
            stack.push_async_callback(presence.close)
            push = await cls._push(stack, settings, db, publisher, store)
            auth = AuthService(uow, hasher, tokens, await cls._sign_in_guard(stack, settings))
            recovery = await cls._recovery(stack, settings, broker, publisher, auth)
            otp = OtpService(
                db,
                auth,
                await cls._sms_sender(stack, settings),
                secret=settings.jwt_secret or settings.development_jwt_secret(),
                ttl_secs=settings.otp_ttl_secs,
                max_attempts=settings.otp_max_attempts,
                per_number=await cls._rate_limit(
                    stack,
                    settings,
                    "otp-number",
                    settings.otp_requests_per_number,
                    settings.otp_rate_window_secs,
                ),
                per_client=await cls._rate_limit(
                    stack,
                    settings,
                    "otp-client",
                    settings.otp_requests_per_client,
                    settings.otp_rate_window_secs,
                ),
                default_region=settings.default_phone_region,
                reveal_codes=not settings.is_production,
            )
            creations = CreationLimit(
                await cls._rate_limit(
                    stack, settings, "creations", settings.creations_per_user, 3600
                )
            )
            broadcasts = BroadcastLimit(
                await cls._rate_limit(
                    stack, settings, "broadcasts", settings.broadcasts_per_key, 60
                )
            )
            conversations = ConversationService(
                uow,
                auto_create_rooms=settings.rooms_auto_create,
                creations=creations,
                quotas=Quotas(
                    max_owned=settings.max_owned_conversations,
                    max_rooms_joined=settings.max_rooms_joined,
                    max_members=settings.max_conversation_members,
                ),
                rules=rules,
            )
            send_limits = SendLimits(
                user_rate=settings.send_rate_per_user,
                user_burst=settings.send_burst_per_user,
                connection_rate=settings.send_rate_per_connection,
                connection_burst=settings.send_burst_per_connection,
                shared=(
                    await cls._rate_limit(
                        stack,
                        settings,
                        "sends",
                        max(1, int(settings.send_burst_per_user)),
                        settings.send_burst_per_user / settings.send_rate_per_user,
                    )
                    if settings.redis_url
                    else None
                ),
            )
            stack.push_async_callback(send_limits.close)
            messages = MessageService(
                uow,
                max_content_chars=settings.max_message_chars,
                max_message_bytes=settings.max_message_bytes,
                limits=send_limits,
                rules=rules,
            )
            if settings.write_behind:
                await cls._write_behind(stack, settings, db, uow, messages)
            else:
                send_queue = SendQueue(messages)
                messages.use_queue(send_queue)
                send_queue.start()
                stack.push_async_callback(send_queue.close)
            blocks = BlockService(uow)
            restrictions = RestrictionService(uow, rules)
            friends = FriendService(uow)
            reactions = ReactionService(uow, rules)
            search = SearchService(uow)
            file_store = await stack.enter_async_context(
                create_file_store(
                    settings.file_store_url,
                    local_root=settings.data_dir / "uploads",
                    endpoint_url=settings.s3_endpoint_url,
                    region=settings.s3_region,
                    access_key_id=settings.s3_access_key_id,
                    secret_access_key=settings.s3_secret_access_key,
                )
            )
            uploads = UploadService(
                db,
                file_store,
                max_bytes=settings.upload_max_bytes,
                allowed_types=settings.upload_allowed_types,
                unattached_ttl_secs=settings.upload_unattached_ttl_secs,
                presign_expires_secs=settings.upload_presign_expires_secs,
            )
            mutes = MuteService(uow)
            reports = ReportService(uow)
            live = LiveService(
                auth=auth,
                friends=friends,
                reactions=reactions,
                search=search,
                blocks=blocks,
                conversations=conversations,
                messages=messages,
                presence=presence,
                hub=hub,
                mutes=mutes,
                restrictions=restrictions,
                reports=reports,
                catch_up_budget_bytes=settings.outbox_limit_bytes // 2,
                catch_up_budget_frames=settings.outbox_limit // 2,
                uploads=uploads,
            )
            game_store = await stack.enter_async_context(
                create_game_store(
                    settings.redis_url,
                    broker=broker,
                    prefix=settings.redis_prefix,
                    room_ttl_secs=settings.game_room_ttl_secs,
                )
            )
            gameplay = GameplayService(
                game_store,
                creations=creations,
                actions_per_sec=settings.game_actions_per_sec,
                seat_grace_secs=settings.game_seat_grace_secs,
                max_settings_bytes=settings.game_max_settings_bytes,
                max_state_bytes=settings.game_max_state_bytes,
            )
            stack.push_async_callback(gameplay.close)
            take_lock: TakeLock = no_lock_needed
            if isinstance(broker, RedisBroker):
                redis_broker = broker

                async def take_lock(ttl_secs: float) -> bool:
                    return await redis_broker.take_lock("cleanup", ttl_secs)

            cleanup = Cleanup(
                db,
                otp,
                interval_secs=settings.cleanup_interval_secs,
                take_lock=take_lock,
                uploads=uploads,
                rules=rules,
            )
            cleanup.start()
            stack.push_async_callback(cleanup.close)
            recent_errors = RecentErrors()
            log.info("runtime.started", database=db.dialect, app_env=settings.app_env.value)
            yield cls(
                settings=settings,
                db=db,
                broker=broker,
                tokens=tokens,
                auth=auth,
                otp=otp,
                users=UserService(uow),
                conversations=conversations,
                messages=messages,
                presence=presence,
                publisher=publisher,
                hub=hub,
                live=live,
                games=GameLive(auth, gameplay, hub),
                friends=friends,
                blocks=blocks,
                reactions=reactions,
                rooms=RoomService(uow),
                search=search,
                uploads=uploads,
                mutes=mutes,
                dashboard=Dashboard(uow, presence, recent_errors),
                restrictions=restrictions,
                reports=reports,
                cleanup=cleanup,
                recovery=recovery,
                push=push,
                creations=creations,
                recent_errors=recent_errors,
                broadcasts=broadcasts,
                pending_sockets=PendingSockets(settings.max_unauthenticated_sockets_per_client),
            )


async def _seed_if_wanted(settings: Settings, db: Database, hasher: PasswordHasher) -> None:
    """The customer-service seed's server creates its default users itself; so does Parley in
    development, on a database without users (`SEED_DEFAULT_USERS`), never in production."""
    wanted = settings.seed_default_users
    if settings.is_production or wanted is False:
        return
    if wanted == "auto" and await count_users(db) > 0:
        return
    created = await seed_default_users(db, hasher)
    if created:
        log.warning("seed.default_users_created", usernames=created)  # password: the README
