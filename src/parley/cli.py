"""The `parley` command: serve, migrate, seed, create-user, reset-db, protocol-server, config."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from parley.config import Settings
from parley.db.database import Database, normalize_url
from parley.domain.roles import Role
from parley.errors import ConfigurationError
from parley.logs import configure_logging
from parley.security.passwords import PasswordHasher

cli = typer.Typer(help="Parley: real-time chat and game backend.", no_args_is_help=True)
T = TypeVar("T")


_SECRET_ENDINGS = ("SECRET", "PASSWORD", "API_KEY", "_TOKEN", "CREDENTIALS")


def _settings() -> Settings:
    """The settings, or one line per bad value on stderr and exit status 2 (no traceback)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ConfigurationError as exc:
        typer.secho(f"parley: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        for line in setting_errors(exc):
            typer.secho(f"parley: {line}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


def setting_errors(exc: Exception) -> list[str]:
    """`NAME: what is wrong (got 'value')` for each bad setting; secrets' values not shown."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = "" if name.upper().endswith(_SECRET_ENDINGS) else error.get("input")
        got = f" (got {shown!r})" if isinstance(shown, str) else ""
        lines.append(f"{name}: {message}{got}")
    return lines


def _version(value: bool) -> None:
    if value:
        from parley import __version__

        typer.echo(f"parley {__version__}")
        raise typer.Exit


@cli.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Parley: real-time chat and game backend."""


def _hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
    )


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(settings.effective_database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _freeze_heap() -> None:
    """What start-up built (lazily imported modules, the migration run, compiled statements)
    lives as long as the process: keep it out of every later full collection. Measured on the
    game relay benchmark: full collections of 39-77 ms at 100 connections before this."""
    gc.collect()
    gc.freeze()


def _exit_cleanly_on_sigterm() -> None:
    """After a graceful shutdown on SIGTERM, uvicorn raises the signal again with the handler
    that was there before it: by default that kills the process (status -15) before `atexit`
    runs, and the last log lines, still queued for the writer thread, were lost ("Application
    shutdown complete" never appeared). With this handler there, the process exits with
    status 0 after the shutdown, its log flushed."""

    def stopped(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface; default HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Port; default PORT or 8000.")] = None,
) -> None:
    """Start the server (migrating the embedded SQLite database first)."""
    import uvicorn

    from parley.app import create_app, with_socket_fast_path

    settings = _settings()
    configure_logging(settings)
    try:
        app = create_app(settings, on_started=_freeze_heap)
    except ConfigurationError as exc:
        typer.secho(f"parley: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    from parley.api.http_edge import EdgeLimits, edge_protocol
    from parley.realtime.wire import flusher
    from parley.realtime.wire.websocket import ParleyWebSocketProtocol

    flusher.coalescing = flusher.WriteCoalescing(
        settings.ws_write_coalesce_ms / 1000,
        busy_lag_secs=settings.ws_write_coalesce_lag_ms / 1000,
        busy_cpu=settings.ws_write_coalesce_cpu,
    )

    # Full garbage collections walk every live object; with thousands of connections that is a
    # pause of a few hundred milliseconds (measured: p99 263 ms -> 13 ms at 5 000 msgs/s on
    # Socket.IO once full collections are a hundred times rarer). Start-up objects are frozen
    # out of the collector altogether (again once the app has started: see _freeze_heap).
    gc.freeze()
    gc.set_threshold(700, 10, 1000)

    _exit_cleanly_on_sigterm()
    uvicorn.run(
        with_socket_fast_path(app),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        loop="uvloop",
        http=edge_protocol(
            EdgeLimits(
                header_timeout_secs=settings.http_header_timeout_secs,
                max_header_bytes=settings.http_max_header_bytes,
                body_timeout_secs=settings.http_body_timeout_secs,
                max_connections_per_client=settings.http_max_connections_per_client,
                trusted_proxies=tuple(settings.forwarded_allow_ips),
            )
        ),
        ws=ParleyWebSocketProtocol,
        # Broadcast frames are framed once and shared, so they cannot be compressed per
        # connection; the largest frame any transport accepts bounds what a client can send.
        ws_per_message_deflate=False,
        ws_max_size=max(settings.ws_max_frame_bytes, settings.sio_max_payload_bytes),
        # Forwarded headers are believed only from FORWARDED_ALLOW_IPS, by the app itself
        # (with_socket_fast_path); uvicorn's own default would trust 127.0.0.1.
        proxy_headers=False,
        server_header=False,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from parley.db.migrate import upgrade_to_head

    settings = _settings()
    configure_logging(settings)
    _with_database(settings, upgrade_to_head)
    typer.echo("database is up to date")


@cli.command()
def seed() -> None:
    """Create the four default users (agent1, agent2, customer1, customer2). Development only."""
    from parley.db.migrate import upgrade_to_head
    from parley.domain.accounts.provisioning import DEFAULT_PASSWORD, seed_default_users
    from parley.security.passwords import PasswordHasher

    settings = _settings()
    if settings.is_production:
        typer.secho(
            "parley: refusing to seed known passwords with APP_ENV=production",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    configure_logging(settings)
    hasher = PasswordHasher(
        time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
    )

    async def work(database: Database) -> list[str]:
        await upgrade_to_head(database)
        return await seed_default_users(database, hasher)

    created = _with_database(settings, work)
    typer.echo(
        f"created: {', '.join(created) or 'nothing (all present)'}; password: {DEFAULT_PASSWORD}"
    )


@cli.command("create-user")
def create_user(
    username: str,
    role: Annotated[Role, typer.Option(help="customer, agent, super-agent or admin.")] = (
        Role.CUSTOMER
    ),
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option()] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="PARLEY_NEW_USER_PASSWORD",
        ),
    ] = "",
) -> None:
    """Create an account with any role: how the first admin comes to exist."""
    from pydantic import ValidationError

    from parley.db.migrate import upgrade_to_head
    from parley.domain.accounts.provisioning import create_user as provision
    from parley.domain.accounts.schemas import UserCreate
    from parley.errors import ParleyError

    settings = _settings()
    configure_logging(settings)
    try:
        command = UserCreate(
            username=username, email=email, name=name, password=password, role=role
        )
    except ValidationError as exc:
        typer.secho(f"parley: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc

    async def work(database: Database) -> str:
        if database.is_sqlite:
            await upgrade_to_head(database)
        user = await provision(database, _hasher(settings), command)
        return str(user.id)

    try:
        user_id = _with_database(settings, work)
    except ParleyError as exc:
        typer.secho(f"parley: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"created {role.value} {command.username} ({user_id})")


@cli.command("reset-db")
def reset_db(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop every table and migrate again. Refused with APP_ENV=production."""
    from parley.db.migrate import upgrade_to_head
    from parley.db.reset import drop_everything

    settings = _settings()
    if settings.is_production:
        typer.secho(
            "parley: refusing to reset the database with APP_ENV=production",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    url = normalize_url(settings.effective_database_url).render_as_string(hide_password=True)
    if not yes and not typer.confirm(f"Erase all data in {url}?"):
        typer.echo("left as it was")
        raise typer.Exit(1)

    async def work(database: Database) -> None:
        await drop_everything(database)
        await upgrade_to_head(database)

    _with_database(settings, work)
    typer.echo("database reset")


@cli.command("protocol-server")
def protocol_server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (the protocol test suites expect 3000).")] = 3000,
) -> None:
    """Serve the protocol test suites' reference app (Engine.IO echo at /engine.io/,
    Socket.IO at /socket.io/) on Parley's engine: no database, no auth; for client authors
    and protocol testing, never for production."""
    import uvicorn

    from parley.protocol_server import MAX_PAYLOAD_BYTES, ProtocolServer
    from parley.realtime.wire.websocket import ParleyWebSocketProtocol

    configure_logging(_settings())
    _exit_cleanly_on_sigterm()
    uvicorn.run(
        ProtocolServer(),
        host=host,
        port=port,
        log_config=None,
        loop="uvloop",
        http="httptools",
        ws=ParleyWebSocketProtocol,  # the transport `parley serve` runs, fast path included
        ws_per_message_deflate=False,
        ws_max_size=MAX_PAYLOAD_BYTES,
        proxy_headers=False,
        server_header=False,
    )


config_cli = typer.Typer(help="The settings.", no_args_is_help=True)
cli.add_typer(config_cli, name="config")


@config_cli.command("example")
def config_example() -> None:
    """Print .env.example: every setting, its description and default (from config.py)."""
    from parley.config_example import env_example

    typer.echo(env_example(), nl=False)


def main() -> None:
    cli()
