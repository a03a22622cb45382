"""Settings: every knob Parley reads from the environment (or an optional `.env` file).

Each field documents its variable; the README's configuration table is written from these.
Names the seed systems used (`PORT`, `SERVER_PORT`, `JWT_ACCESS_EXPIRY`, …) are accepted as
aliases so that a seed's `.env` keeps working.

Why one module: it is the single table of settings the README's configuration table
is checked against; split, the table would have no one source.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AliasChoices, BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from parley.errors import ConfigurationError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration_secs(value: Any) -> Any:
    """Seconds from a number or a Go-style duration string ("15m", "168h", "1h30m")."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use seconds or e.g. '15m', '168h')")
    return sum(float(n) * _UNIT_SECS[u] for n, u in parts)


def split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


DurationSecs = Annotated[float, BeforeValidator(parse_duration_secs)]
CsvList = Annotated[list[str], NoDecode, BeforeValidator(split_csv)]


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


_ENV_NAMES = {
    "development": "development",
    "dev": "development",
    "local": "development",
    "production": "production",
    "prod": "production",
}
"""The environment names the seeds use (GoChat: `local|dev|prod`), as Parley's two."""


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class OpsAccess(StrEnum):
    """Who may read an operator page (`/metrics`; `/docs`, `/redoc`, `/openapi.json`)."""

    PUBLIC = "public"
    TOKEN = "token"  # noqa: S105 (a mode's name): `Authorization: Bearer <OPS_TOKEN>`
    OFF = "off"  # 404, as if it did not exist


class PushNotifierKind(StrEnum):
    LOG = "log"
    WEBHOOK = "webhook"
    FCM = "fcm"
    OFF = "off"


class JwtAlgorithm(StrEnum):
    HS256 = "HS256"
    RS256 = "RS256"


DEFAULT_DATA_DIR = Path("var")
DEFAULT_UPLOAD_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
    "video/mp4",
    "video/webm",
    "application/zip",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    app_env: AppEnv = Field(
        AppEnv.DEVELOPMENT,
        validation_alias=AliasChoices("APP_ENV", "SERVER_MODE", "ENV"),
        description="`development` or `production` (production refuses unsafe defaults).",
    )
    host: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("HOST", "SERVER_HOST"),
        description="Interface `parley serve` binds to.",
    )
    port: int = Field(
        8000,
        validation_alias=AliasChoices("PORT", "SERVER_PORT"),
        description="TCP port `parley serve` listens on.",
    )
    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        validation_alias=AliasChoices("PARLEY_DATA_DIR"),
        description="Directory for the embedded SQLite file and the development JWT secret.",
    )
    database_url: str = Field(
        "",
        validation_alias=AliasChoices("DATABASE_URL"),
        description="SQLAlchemy URL; `postgres://`, `mysql://` and `mariadb://` are accepted. "
        "Empty: the SQLite file `<PARLEY_DATA_DIR>/parley.db`.",
    )
    database_pool_size: int = Field(
        10,
        validation_alias=AliasChoices("DATABASE_POOL_SIZE"),
        description="Connections kept open per instance (PostgreSQL, MariaDB).",
    )
    database_queue_timeout_secs: float = Field(
        # Long enough for a burst of a thousand joins on SQLite (5-10 s measured; 10 s refused
        # 3 % of them under load). A Socket.IO connection reads its next packet (a PONG) only
        # once its command is done; a client that sent anything after the ping (its PONG
        # included) counts as having answered it, so a long wait is no ping timeout.
        30.0,
        gt=0,
        validation_alias=AliasChoices("DATABASE_QUEUE_TIMEOUT_SECS"),
        description="How long a transaction waits for its turn (SQLite: the instance's one "
        "writer at a time; PostgreSQL, MariaDB: a free pooled connection) before the caller "
        "is answered `database_busy`.",
    )
    database_busy_timeout_secs: float = Field(
        10.0,
        gt=0,
        validation_alias=AliasChoices("DATABASE_BUSY_TIMEOUT_SECS"),
        description="SQLite: how long a transaction waits for a write lock held by another "
        "process (a CLI command, a second server on the same file) before `database_busy`.",
    )
    sqlite_inline: bool = Field(
        True,
        validation_alias=AliasChoices("SQLITE_INLINE"),
        description="SQLite: run statements on the event loop itself (microseconds each) "
        "instead of on aiosqlite's thread, whose hand-offs cost more than the statements "
        "where waking a thread is dear. `false` for the thread.",
    )
    auto_migrate: bool | None = Field(
        None,
        validation_alias=AliasChoices("AUTO_MIGRATE"),
        description="Apply migrations at start-up. Default: on for SQLite, off otherwise "
        "(run `parley migrate`).",
    )
    seed_default_users: Literal["auto"] | bool = Field(
        "auto",
        validation_alias=AliasChoices("SEED_DEFAULT_USERS"),
        description="Create the customer-service seed's four users (agent1, agent2, customer1, "
        "customer2 / password123) at start-up: `auto` does in development when the database "
        "has no users yet; never in production.",
    )
    redis_url: str = Field(
        "",
        validation_alias=AliasChoices("REDIS_URL"),
        description="Redis for the broker and presence; empty = in-process (one instance). "
        "`host:port` without a scheme is read as `redis://host:port`.",
    )
    redis_host: str = Field(
        "",
        validation_alias=AliasChoices("REDIS_HOST", "REDIS_ADDR"),
        description="The seeds' way to name Redis (`REDIS_HOST` + `REDIS_PORT`, or `REDIS_ADDR` "
        "as `host:port`), used when REDIS_URL is unset.",
    )
    redis_port: int | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_PORT"),
        description="Port for REDIS_HOST (default 6379).",
    )
    redis_password: str = Field(
        "",
        validation_alias=AliasChoices("REDIS_PASSWORD"),
        description="Redis password, added to REDIS_URL / REDIS_HOST when they carry none.",
    )
    redis_db: int | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_DB"),
        description="Redis database number, added when REDIS_URL names none.",
    )
    write_behind: bool = Field(
        False,
        validation_alias=AliasChoices("WRITE_BEHIND"),
        description="Acknowledge sends once they are in a Redis Stream and store them in the "
        "database afterwards, in batches (needs REDIS_URL; every instance the same).",
    )
    write_behind_claim_idle_secs: float = Field(
        30.0,
        gt=0,
        validation_alias=AliasChoices("WRITE_BEHIND_CLAIM_IDLE_SECS"),
        description="Write-behind: entries a crashed writer left unacknowledged this long are "
        "taken over by another.",
    )
    redis_prefix: str = Field(
        "parley:",
        validation_alias=AliasChoices("REDIS_PREFIX"),
        description="Prefix of every Redis key and channel: one per deployment sharing a Redis.",
    )
    jwt_secret: str = Field(
        "",
        validation_alias=AliasChoices("JWT_SECRET"),
        description="HS256 signing secret (≥ 32 characters in production). In development an "
        "unset secret is generated once into `<PARLEY_DATA_DIR>/jwt-secret`.",
    )
    jwt_algorithm: JwtAlgorithm = Field(
        JwtAlgorithm.HS256,
        validation_alias=AliasChoices("JWT_ALGORITHM"),
        description="`HS256` (shared secret) or `RS256` (key files below).",
    )
    jwt_private_key_file: Path | None = Field(
        None,
        validation_alias=AliasChoices("JWT_PRIVATE_KEY_FILE"),
        description="PEM RSA private key, for RS256 signing.",
    )
    jwt_public_key_file: Path | None = Field(
        None,
        validation_alias=AliasChoices("JWT_PUBLIC_KEY_FILE"),
        description="PEM RSA public key, for RS256 verification.",
    )
    jwt_issuer: str = Field(
        "parley",
        validation_alias=AliasChoices("JWT_ISSUER"),
        description="`iss` claim written and required.",
    )
    access_token_ttl_secs: DurationSecs = Field(
        900.0,
        validation_alias=AliasChoices("ACCESS_TOKEN_TTL", "JWT_ACCESS_EXPIRY", "JWT_EXPIRY"),
        description="Access token lifetime (seconds or `15m`).",
    )
    refresh_token_ttl_secs: DurationSecs = Field(
        7 * 86400.0,
        validation_alias=AliasChoices("REFRESH_TOKEN_TTL", "JWT_REFRESH_EXPIRY"),
        description="Refresh token and device session lifetime (seconds or `168h`).",
    )
    password_hash_time_cost: int = Field(
        3,
        ge=1,
        validation_alias=AliasChoices("PASSWORD_HASH_TIME_COST"),
        description="Argon2id iterations.",
    )
    password_hash_memory_kib: int = Field(
        65536,
        ge=8,
        validation_alias=AliasChoices("PASSWORD_HASH_MEMORY_KIB"),
        description="Argon2id memory per hash, KiB (lower it only for benchmarks and tests).",
    )
    cors_allowed_origins: CsvList = Field(
        default_factory=list,
        validation_alias=AliasChoices("CORS_ALLOWED_ORIGINS"),
        description="Comma-separated origins allowed by CORS (`*` for any); empty = no CORS.",
    )
    forwarded_allow_ips: CsvList = Field(
        default_factory=list,
        validation_alias=AliasChoices("FORWARDED_ALLOW_IPS", "TRUSTED_PROXIES"),
        description="Comma-separated addresses or CIDR networks of the reverse proxies whose "
        "`X-Forwarded-For` / `X-Forwarded-Proto` are believed (`*`: any peer); empty = no "
        "proxy is trusted and the client address is the TCP peer's.",
    )
    docs_access: OpsAccess | None = Field(
        None,
        validation_alias=AliasChoices("DOCS_ACCESS"),
        description="`/docs`, `/redoc`, `/openapi.json`: `public`, `token` (`Authorization: "
        "Bearer <OPS_TOKEN>`) or `off` (404). Default: `public` in development, `off` in "
        "production.",
    )
    metrics_access: OpsAccess | None = Field(
        None,
        validation_alias=AliasChoices("METRICS_ACCESS"),
        description="`/metrics`: `public`, `token` or `off`. Default: `public` in "
        "development; in production `token` when `OPS_TOKEN` is set, else `off`.",
    )
    ops_token: str = Field(
        "",
        validation_alias=AliasChoices("OPS_TOKEN"),
        description="The bearer token for operator pages set to `token` (at least 32 "
        "characters); a Prometheus scrape sends it with `authorization.credentials`.",
    )
    hsts_max_age_secs: int = Field(
        31_536_000,
        ge=0,
        validation_alias=AliasChoices("HSTS_MAX_AGE_SECS"),
        description="`Strict-Transport-Security` max-age on responses to requests that came "
        "over HTTPS (directly, or as a trusted proxy's `X-Forwarded-Proto` says); 0 = none.",
    )
    http_header_timeout_secs: DurationSecs = Field(
        10.0,
        gt=0,
        validation_alias=AliasChoices("HTTP_HEADER_TIMEOUT", "HTTP_HEADER_TIMEOUT_SECS"),
        description="A request line and headers must arrive within this of the connection "
        "(or of the previous request); else 408 and close.",
    )
    http_max_header_bytes: int = Field(
        32_768,
        ge=1024,
        validation_alias=AliasChoices("HTTP_MAX_HEADER_BYTES"),
        description="Request line plus headers; larger gets 431 and close.",
    )
    http_body_timeout_secs: DurationSecs = Field(
        120.0,
        gt=0,
        validation_alias=AliasChoices("HTTP_BODY_TIMEOUT", "HTTP_BODY_TIMEOUT_SECS"),
        description="A request body must arrive within this of its headers (time the server "
        "spends not reading it does not count); else 408 and close.",
    )
    http_max_connections_per_client: int = Field(
        256,
        ge=1,
        validation_alias=AliasChoices("HTTP_MAX_CONNECTIONS_PER_CLIENT"),
        description="Open HTTP connections per client address (a trusted proxy's are not "
        "counted); more get 503 and are closed.",
    )
    max_request_body_bytes: int = Field(
        1_048_576,
        validation_alias=AliasChoices("MAX_REQUEST_BODY_BYTES"),
        description="Larger request bodies are refused with 413.",
    )
    max_json_depth: int = Field(
        32,
        ge=2,
        le=200,
        validation_alias=AliasChoices("MAX_JSON_DEPTH"),
        description="Deepest nesting of arrays and objects accepted in a JSON request body, "
        "socket frame or Socket.IO packet (the outermost one counts as 1); deeper is "
        "refused with validation_error.",
    )
    api_key: str = Field(
        "",
        validation_alias=AliasChoices("PARLEY_API_KEY"),
        description="Key trusted callers send as `X-API-Key` to use the broadcast API; "
        "empty = only admin tokens may broadcast.",
    )
    max_message_chars: int = Field(
        10_000,
        ge=1,
        validation_alias=AliasChoices("MAX_MESSAGE_CHARS"),
        description="Longest message content accepted, in characters.",
    )
    max_message_bytes: int = Field(
        65_536,
        ge=1024,
        validation_alias=AliasChoices("MAX_MESSAGE_BYTES"),
        description="Largest message stored: content, title, payload and attachment URLs "
        "together, as UTF-8 JSON. Larger ones are refused (413 message_too_large) on every "
        "transport, for sends, edits and broadcasts.",
    )
    rooms_auto_create: bool = Field(
        True,
        validation_alias=AliasChoices("ROOMS_AUTO_CREATE"),
        description="Joining an open room by a name that does not exist creates it.",
    )
    ws_auth_timeout_secs: float = Field(
        10.0,
        gt=0,
        validation_alias=AliasChoices("WS_AUTH_TIMEOUT_SECS"),
        description="A socket that has not authenticated by then is closed (code 4408).",
    )
    max_unauthenticated_sockets_per_client: int = Field(
        64,
        ge=1,
        validation_alias=AliasChoices("MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT"),
        description="Sockets (/ws, /ws/gameplay, Socket.IO sessions) one client address may "
        "hold open before signing in, per instance; more are refused with 429 "
        "too_many_unauthenticated.",
    )
    ws_dialect: Literal["envelope", "flat", "upper"] = Field(
        "envelope",
        validation_alias=AliasChoices("WS_DIALECT"),
        description="What a `/ws` connection receives until its own frames show its dialect: "
        "`envelope` (Parley's and the Realtime Chat App's `{type, data}`), `flat` (the GoChat "
        "seed's bare message objects, for its listen-only clients), `upper` (the Realtime Chat "
        "App's upper-case frames).",
    )
    ws_max_frame_bytes: int = Field(
        131_072,
        ge=1024,
        validation_alias=AliasChoices("WS_MAX_FRAME_BYTES"),
        description="Larger incoming socket frames are refused with an error.",
    )
    outbox_limit: int = Field(
        1_000,
        ge=10,
        validation_alias=AliasChoices("OUTBOX_LIMIT"),
        description="Frames queued for one connection before it counts as too slow and is "
        "closed (code 4429).",
    )
    outbox_limit_bytes: int = Field(
        4_194_304,
        ge=65_536,
        validation_alias=AliasChoices("OUTBOX_LIMIT_BYTES"),
        description="Bytes queued for one connection (its outbox, or the socket's write "
        "buffer on the fast path) before it counts as too slow and is closed (code 4429). "
        "Keep it several times MAX_MESSAGE_BYTES.",
    )
    ws_write_coalesce_ms: float = Field(
        10.0,
        ge=0,
        le=100,
        validation_alias=AliasChoices("WS_WRITE_COALESCE_MS"),
        description="Under load, the longest a WebSocket frame waits so that one connection's "
        "frames of several broadcasts leave in one write; 0 writes at once always. Lightly "
        "loaded, frames never wait.",
    )
    ws_write_coalesce_lag_ms: float = Field(
        2.0,
        ge=0,
        le=1000,
        validation_alias=AliasChoices("WS_WRITE_COALESCE_LAG_MS"),
        description="Under load means: the event loop ran its writes this late on average over "
        "the last 0.2 s (it has more to do than it can do at once), and it worked "
        "WS_WRITE_COALESCE_CPU of that time. 0: however late.",
    )
    ws_write_coalesce_cpu: float = Field(
        0.5,
        ge=0,
        le=1,
        validation_alias=AliasChoices("WS_WRITE_COALESCE_CPU"),
        description="Under load also means: the event loop's thread ran, or waited for a core "
        "to run on, this share of the last 0.2 s (Linux's schedstat; 0.5 is half a core). "
        "Below it frames never wait: a lightly loaded loop runs its writes a little late "
        "anyway. 0: however idle.",
    )
    presence_grace_secs: float = Field(
        3.0,
        ge=0,
        validation_alias=AliasChoices("PRESENCE_GRACE_SECS"),
        description="How long a user stays online after their last connection closes.",
    )
    presence_instance_ttl_secs: float = Field(
        15.0,
        ge=1,
        validation_alias=AliasChoices("PRESENCE_INSTANCE_TTL_SECS"),
        description="With Redis: an instance that has not refreshed its liveness for this "
        "long counts as dead, and its users go offline.",
    )
    game_actions_per_sec: float = Field(
        60.0,
        gt=0,
        validation_alias=AliasChoices("GAME_ACTIONS_PER_SEC"),
        description="Player actions one player may send per second (bursts up to as many); "
        "excess ones are dropped with a rate_limited error.",
    )
    game_seat_grace_secs: DurationSecs = Field(
        30.0,
        ge=0,
        validation_alias=AliasChoices("GAME_SEAT_GRACE", "GAME_SEAT_GRACE_SECS"),
        description="How long a disconnected player keeps their seat in a game room.",
    )
    game_room_ttl_secs: DurationSecs = Field(
        21_600.0,
        ge=60,
        validation_alias=AliasChoices("GAME_ROOM_TTL", "GAME_ROOM_TTL_SECS"),
        description="With Redis: a game room with no change for this long is removed.",
    )
    game_max_settings_bytes: int = Field(
        8192,
        ge=256,
        validation_alias=AliasChoices("GAME_MAX_SETTINGS_BYTES"),
        description="Largest `settings` of a game room, encoded as JSON; a larger one is "
        "refused with settings_too_large and no room is made.",
    )
    game_max_state_bytes: int = Field(
        65_536,
        ge=1024,
        validation_alias=AliasChoices("GAME_MAX_STATE_BYTES"),
        description="Largest shared state of a game room, and largest state of one player, "
        "encoded as JSON; an action that would pass it is refused with state_too_large and "
        "changes nothing.",
    )
    typing_ttl_secs: float = Field(
        5.0,
        gt=0,
        validation_alias=AliasChoices("TYPING_TTL_SECS"),
        description="A typing indicator not renewed or stopped ends by itself after this.",
    )
    sio_ping_interval_secs: float = Field(
        25.0,
        gt=0,
        validation_alias=AliasChoices("SIO_PING_INTERVAL_SECS"),
        description="Socket.IO (Engine.IO) heartbeat interval: the server pings every client "
        "this long after it connected or last answered, whatever else it sends.",
    )
    sio_ping_timeout_secs: float = Field(
        20.0,
        gt=0,
        validation_alias=AliasChoices("SIO_PING_TIMEOUT_SECS"),
        description="A Socket.IO client that has not answered a ping this long after it is "
        "disconnected.",
    )
    sio_connect_timeout_secs: float = Field(
        45.0,
        gt=0,
        validation_alias=AliasChoices("SIO_CONNECT_TIMEOUT_SECS"),
        description="An Engine.IO session that has not connected to a Socket.IO namespace by "
        "then is closed (code 4408), as the Node server's connectTimeout.",
    )
    sio_recovery_window_secs: DurationSecs = Field(
        120.0,
        ge=0,
        validation_alias=AliasChoices("SIO_RECOVERY_WINDOW", "SIO_RECOVERY_WINDOW_SECS"),
        description="Socket.IO connection-state recovery: a socket whose connection dropped "
        "may come back this long afterwards with its socket id, rooms and missed messages "
        "(the reference server's maxDisconnectionDuration). 0 turns it off.",
    )
    sio_max_payload_bytes: int = Field(
        1_000_000,
        ge=1024,
        validation_alias=AliasChoices("SIO_MAX_PAYLOAD_BYTES"),
        description="Largest Engine.IO packet or polling body accepted.",
    )
    sio_max_attachments: int = Field(
        10,
        ge=0,
        le=1000,
        validation_alias=AliasChoices("SIO_MAX_ATTACHMENTS"),
        description="Most binary attachments one Socket.IO packet may announce (the reference "
        "parser's maxAttachments); a packet announcing more closes the connection.",
    )
    sio_trust_gateway_identity: bool = Field(
        False,
        validation_alias=AliasChoices("SIO_TRUST_GATEWAY_IDENTITY"),
        description="Accept the WebSocket Chat Server seed's bare `authenticate` "
        "`{user_id, username}` without a token. Only behind a gateway that authenticates "
        "users itself; never on an open port.",
    )
    otp_ttl_secs: DurationSecs = Field(
        300.0,
        validation_alias=AliasChoices("OTP_TTL", "OTP_TTL_SECS"),
        description="How long a phone sign-in code stays valid.",
    )
    otp_max_attempts: int = Field(
        5,
        ge=1,
        validation_alias=AliasChoices("OTP_MAX_ATTEMPTS"),
        description="Wrong codes after which a code is dead.",
    )
    otp_requests_per_number: int = Field(
        3,
        ge=1,
        validation_alias=AliasChoices("OTP_REQUESTS_PER_NUMBER"),
        description="Codes one phone number may request per OTP_RATE_WINDOW.",
    )
    otp_requests_per_client: int = Field(
        20,
        ge=1,
        validation_alias=AliasChoices("OTP_REQUESTS_PER_CLIENT"),
        description="Codes one client address may request per OTP_RATE_WINDOW.",
    )
    otp_rate_window_secs: DurationSecs = Field(
        600.0,
        validation_alias=AliasChoices("OTP_RATE_WINDOW", "OTP_RATE_WINDOW_SECS"),
        description="The window of the two limits above.",
    )
    login_attempts_per_client: int = Field(
        30,
        ge=1,
        validation_alias=AliasChoices("LOGIN_ATTEMPTS_PER_CLIENT"),
        description="Password sign-ins one client address may try per minute, right or wrong, "
        "whatever the account (credential stuffing).",
    )
    login_failures_per_account: int = Field(
        5,
        ge=1,
        validation_alias=AliasChoices("LOGIN_FAILURES_PER_ACCOUNT"),
        description="Wrong passwords for one account from one client address per "
        "LOGIN_FAILURE_WINDOW; then that address waits (the owner elsewhere does not).",
    )
    login_failure_window_secs: DurationSecs = Field(
        300.0,
        validation_alias=AliasChoices("LOGIN_FAILURE_WINDOW", "LOGIN_FAILURE_WINDOW_SECS"),
        description="The window of LOGIN_FAILURES_PER_ACCOUNT.",
    )
    registrations_per_client: int = Field(
        20,
        ge=1,
        validation_alias=AliasChoices("REGISTRATIONS_PER_CLIENT"),
        description="Accounts one client address may register per hour.",
    )
    refreshes_per_client: int = Field(
        120,
        ge=1,
        validation_alias=AliasChoices("REFRESHES_PER_CLIENT"),
        description="Token refreshes one client address may make per minute.",
    )
    sign_ins_in_flight_per_client: int = Field(
        2,
        ge=1,
        validation_alias=AliasChoices("SIGN_INS_IN_FLIGHT_PER_CLIENT"),
        description="Password sign-ins and registrations of one client address being hashed "
        "at once on an instance; more are refused at once rather than queued.",
    )
    password_hash_workers: int = Field(
        2,
        ge=1,
        le=64,
        validation_alias=AliasChoices("PASSWORD_HASH_WORKERS"),
        description="Threads that hash passwords (each hash takes one core for its duration).",
    )
    password_hash_queue: int = Field(
        64,
        ge=0,
        validation_alias=AliasChoices("PASSWORD_HASH_QUEUE"),
        description="Hashes that may wait for a worker; past that, 503 `sign_in_busy`.",
    )
    send_rate_per_user: float = Field(
        10.0,
        gt=0,
        validation_alias=AliasChoices("SEND_RATE_PER_USER"),
        description="Messages per second one user may send, steadily, over all their "
        "connections and REST (across instances with Redis).",
    )
    send_burst_per_user: float = Field(
        30.0,
        ge=1,
        validation_alias=AliasChoices("SEND_BURST_PER_USER"),
        description="Messages one user may send at once before SEND_RATE_PER_USER applies.",
    )
    send_rate_per_connection: float = Field(
        10.0,
        gt=0,
        validation_alias=AliasChoices("SEND_RATE_PER_CONNECTION"),
        description="Messages per second one socket connection may send, steadily.",
    )
    send_burst_per_connection: float = Field(
        20.0,
        ge=1,
        validation_alias=AliasChoices("SEND_BURST_PER_CONNECTION"),
        description="Messages one connection may send at once before its rate applies.",
    )
    creations_per_user: int = Field(
        60,
        ge=1,
        validation_alias=AliasChoices("CREATIONS_PER_USER"),
        description="Conversations, rooms (opened by joining a new name too) and game rooms "
        "one user may create per hour; admins are not limited.",
    )
    broadcasts_per_key: int = Field(
        600,
        ge=1,
        validation_alias=AliasChoices("BROADCASTS_PER_KEY"),
        description="Broadcasts (POST /api/v1/broadcast, POST /messages) one API key, or one "
        "admin, may make per minute, across instances with Redis.",
    )
    max_owned_conversations: int = Field(
        500,
        ge=1,
        validation_alias=AliasChoices("MAX_OWNED_CONVERSATIONS"),
        description="Groups and rooms one user may own (admins: no limit).",
    )
    max_rooms_joined: int = Field(
        1000,
        ge=1,
        validation_alias=AliasChoices("MAX_ROOMS_JOINED"),
        description="Open rooms one user may be a member of.",
    )
    max_conversation_members: int = Field(
        10_000,
        ge=2,
        validation_alias=AliasChoices("MAX_CONVERSATION_MEMBERS"),
        description="Members of one group or room.",
    )
    default_phone_region: str = Field(
        "US",
        validation_alias=AliasChoices("DEFAULT_PHONE_REGION"),
        description="Region for phone numbers written without a +country code.",
    )
    sms_webhook_url: str = Field(
        "",
        validation_alias=AliasChoices("SMS_WEBHOOK_URL"),
        description="Where codes are POSTed for delivery by SMS. Unset: logged in "
        "development, phone sign-in unavailable in production.",
    )
    cleanup_interval_secs: DurationSecs = Field(
        300.0,
        validation_alias=AliasChoices("CLEANUP_INTERVAL", "CLEANUP_INTERVAL_SECS"),
        description="How often expired one-time codes, device sessions, mutes and bans (and "
        "stale uploads) are deleted (one instance at a time).",
    )
    file_store_url: str = Field(
        "",
        validation_alias=AliasChoices("FILE_STORE_URL"),
        description="Where uploads are kept: empty = `<PARLEY_DATA_DIR>/uploads`; "
        "`s3://bucket/prefix` = S3-compatible storage.",
    )
    s3_endpoint_url: str = Field(
        "",
        validation_alias=AliasChoices("S3_ENDPOINT_URL"),
        description="The S3 API's URL (MinIO, another S3 service); empty = AWS's own.",
    )
    s3_region: str = Field(
        "", validation_alias=AliasChoices("S3_REGION"), description="The bucket's region."
    )
    s3_access_key_id: str = Field(
        "",
        validation_alias=AliasChoices("S3_ACCESS_KEY_ID"),
        description="S3 credentials; empty = botocore's usual sources (AWS_* variables, files, "
        "instance roles).",
    )
    s3_secret_access_key: str = Field(
        "", validation_alias=AliasChoices("S3_SECRET_ACCESS_KEY"), description="See above."
    )
    upload_max_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1,
        validation_alias=AliasChoices("UPLOAD_MAX_BYTES"),
        description="Largest file one upload may hold.",
    )
    upload_allowed_types: CsvList = Field(
        default_factory=lambda: list(DEFAULT_UPLOAD_TYPES),
        validation_alias=AliasChoices("UPLOAD_ALLOWED_TYPES"),
        description="Content types (read from the bytes) an upload may have, comma-separated.",
    )
    upload_unattached_ttl_secs: DurationSecs = Field(
        86400.0,
        validation_alias=AliasChoices("UPLOAD_UNATTACHED_TTL", "UPLOAD_UNATTACHED_TTL_SECS"),
        description="Uploads not attached to any message this long after they were made are "
        "removed by the cleanup task.",
    )
    upload_presign_expires_secs: DurationSecs = Field(
        900.0,
        ge=1,
        le=604_800,
        validation_alias=AliasChoices("UPLOAD_PRESIGN_EXPIRES", "UPLOAD_PRESIGN_EXPIRES_SECS"),
        description="How long a presigned direct-to-storage upload may be sent (S3 only; "
        "at most 7 days, S3's own bound).",
    )
    push_notifier: PushNotifierKind | None = Field(
        None,
        validation_alias=AliasChoices("PUSH_NOTIFIER"),
        description="How pushes reach offline devices: log, webhook, fcm or off; unset: log "
        "in development, off in production.",
    )
    push_grace_secs: DurationSecs = Field(
        3.0,
        ge=0.01,
        le=3600,
        validation_alias=AliasChoices("PUSH_GRACE_SECS"),
        description="How long after a message an offline member's push waits (a reconnect "
        "meanwhile gets it by catch-up); messages meanwhile collapse into one push.",
    )
    push_webhook_url: str = Field(
        "",
        validation_alias=AliasChoices("PUSH_WEBHOOK_URL"),
        description="PUSH_NOTIFIER=webhook: where pushes are POSTed.",
    )
    push_webhook_secret: str = Field(
        "",
        validation_alias=AliasChoices("PUSH_WEBHOOK_SECRET"),
        description="PUSH_NOTIFIER=webhook: the shared secret of the HMAC-SHA256 signature.",
    )
    fcm_service_account_file: str = Field(
        "",
        validation_alias=AliasChoices("FCM_SERVICE_ACCOUNT_FILE"),
        description="PUSH_NOTIFIER=fcm: the Firebase service account's JSON key file.",
    )
    fcm_base_url: str = Field(
        "https://fcm.googleapis.com",
        validation_alias=AliasChoices("FCM_BASE_URL"),
        description="PUSH_NOTIFIER=fcm: the FCM HTTP v1 API's base URL.",
    )
    push_timeout_secs: DurationSecs = Field(
        10.0,
        gt=0,
        le=300,
        validation_alias=AliasChoices("PUSH_TIMEOUT_SECS"),
        description="How long one push request (webhook, FCM, OAuth2 token) may take.",
    )
    push_max_attempts: int = Field(
        5,
        ge=1,
        le=20,
        validation_alias=AliasChoices("PUSH_MAX_ATTEMPTS"),
        description="Tries of a push that fails for a passing reason (429, 5xx, a timeout).",
    )
    push_retry_base_secs: DurationSecs = Field(
        1.0,
        gt=0,
        le=600,
        validation_alias=AliasChoices("PUSH_RETRY_BASE_SECS"),
        description="The first retry's wait; each next one waits twice as long.",
    )
    push_rate_limit: int = Field(
        10,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices("PUSH_RATE_LIMIT"),
        description="Pushes one user may get per PUSH_RATE_WINDOW; more are dropped.",
    )
    push_rate_window_secs: DurationSecs = Field(
        60.0,
        gt=0,
        le=86400,
        validation_alias=AliasChoices("PUSH_RATE_WINDOW_SECS"),
        description="The window of PUSH_RATE_LIMIT.",
    )
    push_queue_limit: int = Field(
        10_000,
        ge=1,
        le=10_000_000,
        validation_alias=AliasChoices("PUSH_QUEUE_LIMIT"),
        description="New messages waiting for their pushes to be planned, per instance; "
        "past it they are dropped (counted).",
    )
    push_max_recipients: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices("PUSH_MAX_RECIPIENTS"),
        description="Most members one message is pushed to (a huge room's members past it "
        "get none, counted).",
    )
    push_concurrency: int = Field(
        32,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("PUSH_CONCURRENCY"),
        description="Pushes one instance delivers at once.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info",
        validation_alias=AliasChoices("LOG_LEVEL"),
        description="debug, info, warning or error (any case).",
    )
    app_debug: bool = Field(
        False,
        validation_alias=AliasChoices("APP_DEBUG"),
        description="The GOSOCKET seed's switch: `true` logs at `debug` unless `LOG_LEVEL` "
        "says otherwise.",
    )
    log_format: LogFormat | None = Field(
        None,
        validation_alias=AliasChoices("LOG_FORMAT"),
        description="`json` or `console`; default json in production, console in development.",
    )

    @model_validator(mode="before")
    @classmethod
    def _ignore_a_shell_env(cls, data: Any) -> Any:
        """`ENV` (the GoChat seed's name) is also a POSIX shell variable that may hold a file
        path (`ENV=/root/.shrc`): a value there that names no environment is ignored, with a
        warning, rather than stopping the server. The seeds' short names are understood."""
        if not isinstance(data, dict) or not isinstance(data.get("APP_ENV"), str):
            return data
        value = data["APP_ENV"].strip().lower()
        if value in _ENV_NAMES:
            return {**data, "APP_ENV": _ENV_NAMES[value]}
        from_shell = os.environ.get("ENV") == data["APP_ENV"] and not (
            {"APP_ENV", "SERVER_MODE"} & os.environ.keys()
        )
        if from_shell:
            logging.getLogger("parley.config").warning(
                "ENV=%s names no environment (development, production); ignored", data["APP_ENV"]
            )
            return {k: v for k, v in data.items() if k != "APP_ENV"}
        return data

    @model_validator(mode="after")
    def _redis_from_the_seeds_names(self) -> Settings:
        """One REDIS_URL from whichever way the deployment named Redis; Redis settings that
        name no server stop the start-up rather than leave the instance on its own."""
        url = self.redis_url.strip()
        if not url and self.redis_host:
            host, _, port = self.redis_host.partition(":")
            url = f"{host}:{self.redis_port or port or 6379}"
        if not url:
            given = [
                name
                for name, value in (
                    ("REDIS_PORT", self.redis_port),
                    ("REDIS_PASSWORD", self.redis_password),
                    ("REDIS_DB", self.redis_db),
                )
                if value not in (None, "")
            ]
            if given:
                raise ConfigurationError(
                    f"{', '.join(given)} set, but no Redis server: set REDIS_URL "
                    "(redis://host:6379/0), REDIS_HOST or REDIS_ADDR, or unset them to run "
                    "one instance on its own."
                )
            return self
        if "://" not in url:
            url = f"redis://{url}"
        parts = urlsplit(url)
        netloc, path = parts.netloc, parts.path
        if self.redis_password and "@" not in netloc:
            netloc = f":{quote(self.redis_password, safe='')}@{netloc}"
        if self.redis_db is not None and path.strip("/") == "":
            path = f"/{self.redis_db}"
        self.redis_url = urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))
        return self

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.app_env is not AppEnv.PRODUCTION:
            return self
        if self.jwt_algorithm is JwtAlgorithm.HS256 and len(self.jwt_secret) < 32:
            raise ConfigurationError(
                "APP_ENV=production needs JWT_SECRET set to at least 32 random characters "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or JWT_ALGORITHM=RS256 with JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE."
            )
        return self

    @model_validator(mode="after")
    def _check_ops_access(self) -> Settings:
        uses_token = OpsAccess.TOKEN in (self.effective_docs_access, self.effective_metrics_access)
        if uses_token and len(self.ops_token) < 32:
            raise ConfigurationError(
                "DOCS_ACCESS or METRICS_ACCESS is `token`: set OPS_TOKEN to at least 32 random "
                "characters (python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        return self

    @model_validator(mode="after")
    def _check_forwarded_allow_ips(self) -> Settings:
        # uvicorn matches entries strictly and trusts everyone only for exactly ["*"]: hand it
        # networks as it reads them (10.0.0.1/8 -> 10.0.0.0/8), and "*" alone.
        normalised: list[str] = []
        for entry in self.forwarded_allow_ips:
            if entry == "*":
                self.forwarded_allow_ips = ["*"]
                return self
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ConfigurationError(
                    f"FORWARDED_ALLOW_IPS: {entry!r} is not an IP address or CIDR network "
                    "(use e.g. 10.0.0.0/8,127.0.0.1, or * for any)."
                ) from exc
            normalised.append(
                str(network.network_address) if network.num_addresses == 1 else str(network)
            )
        self.forwarded_allow_ips = normalised
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _debug_from_app_debug(self) -> Settings:
        if self.app_debug and "log_level" not in self.model_fields_set:
            self.log_level = "debug"
        return self

    @model_validator(mode="after")
    def _check_push(self) -> Settings:
        if self.effective_push_notifier is PushNotifierKind.WEBHOOK and not (
            self.push_webhook_url and self.push_webhook_secret
        ):
            raise ConfigurationError(
                "PUSH_NOTIFIER=webhook needs PUSH_WEBHOOK_URL and PUSH_WEBHOOK_SECRET."
            )
        if self.effective_push_notifier is PushNotifierKind.FCM and not (
            self.fcm_service_account_file
        ):
            raise ConfigurationError(
                "PUSH_NOTIFIER=fcm needs FCM_SERVICE_ACCOUNT_FILE (the service account's JSON key)."
            )
        return self

    @model_validator(mode="after")
    def _check_write_behind(self) -> Settings:
        if self.write_behind and not self.redis_url:
            raise ConfigurationError("WRITE_BEHIND=true needs REDIS_URL: the stream is in Redis.")
        return self

    @model_validator(mode="after")
    def _check_outbox_fits_messages(self) -> Settings:
        if self.outbox_limit_bytes < 4 * self.max_message_bytes:
            raise ConfigurationError(
                "OUTBOX_LIMIT_BYTES must be at least 4 times MAX_MESSAGE_BYTES: otherwise a few "
                "large messages disconnect every listener of a room."
            )
        return self

    @property
    def effective_push_notifier(self) -> PushNotifierKind:
        if self.push_notifier is not None:
            return self.push_notifier
        return PushNotifierKind.OFF if self.is_production else PushNotifierKind.LOG

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def effective_docs_access(self) -> OpsAccess:
        if self.docs_access is not None:
            return self.docs_access
        return OpsAccess.OFF if self.is_production else OpsAccess.PUBLIC

    @property
    def effective_metrics_access(self) -> OpsAccess:
        if self.metrics_access is not None:
            return self.metrics_access
        if not self.is_production:
            return OpsAccess.PUBLIC
        return OpsAccess.TOKEN if self.ops_token else OpsAccess.OFF

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.is_production else LogFormat.CONSOLE

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'parley.db'}"

    def development_jwt_secret(self) -> str:
        """The secret to sign with when none is configured (development only).

        Stored in the data directory so that tokens survive restarts, as a stable secret would.
        """
        path = self.data_dir / "jwt-secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret
