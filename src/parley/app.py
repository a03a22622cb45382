"""create_app(settings): the ASGI application. Its lifespan owns the Runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, cast

from fastapi import FastAPI, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from parley import __version__
from parley.api import docs_pages
from parley.api.compat import cs_chat
from parley.api.errors import install_error_handlers
from parley.api.json_body import JsonBodyPolicyMiddleware
from parley.api.metrics import Metrics
from parley.api.middleware import BodySizeLimitMiddleware, ObservabilityMiddleware
from parley.api.openapi_doc import install_openapi
from parley.api.ops_access import OpsAccessMiddleware
from parley.api.origins import (
    SocketOriginMiddleware,
    SocketOrigins,
    is_socket_path,
)
from parley.api.readings import live_readings
from parley.api.routes import (
    admin,
    auth,
    broadcast,
    conversations,
    friends,
    moderation,
    notifications,
    ops,
    otp,
    reports,
    rooms,
    search,
    uploads,
    users,
    web,
)
from parley.api.security_headers import SecurityHeadersMiddleware
from parley.config import Settings
from parley.realtime.chat.namespace import ChatNamespace
from parley.realtime.chat.websocket import ChatWebSocketSession
from parley.realtime.dialects import WS_DIALECTS
from parley.realtime.gameplay.namespace import GameplayNamespace
from parley.realtime.gameplay.websocket import GameplayWebSocketSession
from parley.realtime.pending_sockets import SCOPE_KEY as PENDING_KEY
from parley.realtime.pending_sockets import PendingSockets, is_handshake
from parley.realtime.pending_sockets import refuse as refuse_pending
from parley.realtime.wire.engineio import EngineServer
from parley.realtime.wire.socketio import SocketIOServer
from parley.runtime import Runtime
from parley.wirejson import JsonPolicy


def build_socketio(runtime: Runtime) -> EngineServer:
    settings = runtime.settings
    chat = ChatNamespace(
        runtime.live,
        runtime.otp,
        auth_timeout_secs=settings.ws_auth_timeout_secs,
        trust_gateway_identity=settings.sio_trust_gateway_identity,
        recovery=runtime.recovery,
    )
    gameplay = GameplayNamespace(
        runtime.games, runtime.otp, auth_timeout_secs=settings.ws_auth_timeout_secs
    )
    chat.recent_errors = gameplay.recent_errors = runtime.recent_errors
    return EngineServer(
        SocketIOServer(
            [chat, gameplay],
            json_policy=JsonPolicy(settings.max_json_depth),
            max_attachments=settings.sio_max_attachments,
            max_packet_bytes=settings.sio_max_payload_bytes,
        ),
        ping_interval_secs=settings.sio_ping_interval_secs,
        ping_timeout_secs=settings.sio_ping_timeout_secs,
        connect_timeout_secs=settings.sio_connect_timeout_secs,
        max_payload_bytes=settings.sio_max_payload_bytes,
        outbox_limit=settings.outbox_limit,
        outbox_limit_bytes=settings.outbox_limit_bytes,
        cors_origins=settings.cors_allowed_origins,
    )


async def socketio_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """`/socket.io/`: handed to the Engine.IO server the lifespan built."""
    state = scope["app"].state
    await gated(state.runtime.pending_sockets, state.engine, scope, receive, send, engine_io=True)


async def gated(
    pending: PendingSockets,
    serve: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    engine_io: bool = False,
) -> None:
    """A new socket (an upgrade of `/ws`, an Engine.IO handshake) counts among its address's
    sockets not signed in until it signs in or goes; past the limit it is refused (429)."""
    if engine_io and not is_handshake(scope):
        await serve(scope, receive, send)
        return
    ticket = pending.open(scope)
    if ticket is None:
        await refuse_pending(scope, send)
        return
    scope[PENDING_KEY] = ticket
    try:
        await serve(scope, receive, send)
    finally:
        if not ticket.adopted:  # a /ws socket, or a handshake that opened no session
            ticket.release()


async def chat_websocket(runtime: Runtime, websocket: WebSocket) -> None:
    settings = runtime.settings
    session = ChatWebSocketSession(
        websocket,
        runtime.live,
        outbox_limit=settings.outbox_limit,
        outbox_limit_bytes=settings.outbox_limit_bytes,
        auth_timeout_secs=settings.ws_auth_timeout_secs,
        max_frame_bytes=settings.ws_max_frame_bytes,
        json_policy=JsonPolicy(settings.max_json_depth),
        default_dialect=WS_DIALECTS[settings.ws_dialect],
    )
    session.recent_errors = runtime.recent_errors
    await session.run()


async def gameplay_websocket(runtime: Runtime, websocket: WebSocket) -> None:
    settings = runtime.settings
    session = GameplayWebSocketSession(
        websocket,
        runtime.live,
        runtime.games,
        outbox_limit=settings.outbox_limit,
        outbox_limit_bytes=settings.outbox_limit_bytes,
        auth_timeout_secs=settings.ws_auth_timeout_secs,
        max_frame_bytes=settings.ws_max_frame_bytes,
        json_policy=JsonPolicy(settings.max_json_depth),
    )
    session.recent_errors = runtime.recent_errors
    await session.run()


WEBSOCKET_ROUTES = {
    "/ws": chat_websocket,
    "/api/ws": chat_websocket,
    "/ws/gameplay": gameplay_websocket,
    "/api/ws/gameplay": gameplay_websocket,
}


async def websocket_endpoint(websocket: WebSocket) -> None:
    """The socket routes as FastAPI routes, for an app served without `with_socket_fast_path`."""
    serve = WEBSOCKET_ROUTES[websocket.scope["path"].rstrip("/")]
    await serve(websocket.app.state.runtime, websocket)


def with_socket_fast_path(app: FastAPI) -> ASGIApp:
    """The app, with WebSocket upgrades of the socket endpoints handed straight to them.

    The HTTP middleware only passes WebSockets through, but every layer of it, FastAPI's
    router and its per-route machinery stay suspended for the life of each connection:
    about 7 KiB and a good part of the connect time (profiled). Everything else, the
    lifespan included, goes to the app.
    """

    origins = SocketOrigins(app.state.settings.cors_allowed_origins)

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path: str = scope["path"]
            if is_socket_path(path) and not origins.allows(scope):
                await refuse_websocket(send)
                return
            pending = app.state.runtime.pending_sockets
            if path.startswith("/socket.io"):
                await gated(pending, app.state.engine, scope, receive, send, engine_io=True)
                return
            route = WEBSOCKET_ROUTES.get(path.rstrip("/"))
            if route is not None:

                async def session(scope: Scope, receive: Receive, send: Send) -> None:
                    await route(app.state.runtime, WebSocket(scope, receive, send))

                await gated(pending, session, scope, receive, send)
                return
        await app(scope, receive, send)

    return behind_trusted_proxies(serve, app.state.settings.forwarded_allow_ips)


async def refuse_websocket(send: Send) -> None:
    """A close before the handshake: the server answers the upgrade with 403."""
    await send({"type": "websocket.close", "code": 1008})


def behind_trusted_proxies(app: ASGIApp, trusted: list[str]) -> ASGIApp:
    """The client address (and scheme) as the trusted proxies in front saw it, for every
    request and socket alike; with no proxy trusted, the TCP peer's and nothing else.

    Done here rather than by the ASGI server so that it is the same under any server
    (`parley serve` turns uvicorn's own handling off: it trusts 127.0.0.1 by default).
    """
    if not trusted:
        return app
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    return cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=trusted))


def create_app(
    settings: Settings | None = None, *, on_started: Callable[[], None] | None = None
) -> FastAPI:
    """The application; `on_started` runs once start-up is complete (before serving)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Runtime.start(settings) as runtime:
            app.state.runtime = runtime
            engine = build_socketio(runtime)
            app.state.engine = engine
            engine.start()
            metrics: Metrics = app.state.metrics
            metrics.watch_live(partial(live_readings, runtime, engine))
            timings = runtime.publisher.timings
            timings.commit = metrics.commit_latency.observe
            timings.publish = metrics.publish_latency.observe
            if on_started is not None:
                on_started()
            try:
                yield
            finally:
                await engine.stop()

    app = FastAPI(
        title="Parley",
        version=__version__,
        summary="Real-time chat and game backend: REST, Socket.IO and plain WebSocket.",
        lifespan=lifespan,
        # Served by api/docs_pages from files Parley ships, not FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
    )
    install_openapi(app)
    app.state.settings = settings
    app.state.metrics = Metrics()
    install_error_handlers(app)
    for module in (
        ops,
        auth,
        otp,
        users,
        friends,
        rooms,
        moderation,
        conversations,
        reports,
        notifications,
        search,
        broadcast,
        uploads,
        cs_chat,
        docs_pages,
        admin,
        web,
    ):
        app.include_router(module.router)
    app.mount("/app", web.WebFiles())
    for path in WEBSOCKET_ROUTES:
        app.add_api_websocket_route(path, websocket_endpoint)
    app.mount("/socket.io", socketio_endpoint)

    # Added innermost first: observability wraps everything, so 413s are counted and logged;
    # CORS wraps the body checks, so a browser sees their 413/422 rather than a CORS failure.
    app.add_middleware(
        JsonBodyPolicyMiddleware,
        policy=JsonPolicy(settings.max_json_depth),
        skip_prefixes=("/socket.io",),
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        # The upload route counts its body itself, against UPLOAD_MAX_BYTES.
        bounded_by_route=frozenset({uploads.UPLOAD_PATH}),
    )
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_credentials="*" not in settings.cors_allowed_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(SocketOriginMiddleware, origins=SocketOrigins(settings.cors_allowed_origins))
    app.add_middleware(
        OpsAccessMiddleware,
        docs=settings.effective_docs_access,
        metrics=settings.effective_metrics_access,
        token=settings.ops_token,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age_secs=settings.hsts_max_age_secs)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    return app
