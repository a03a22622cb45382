"""Structured logging: JSON lines in production, readable lines in development.

Standard-library loggers (uvicorn, SQLAlchemy, Alembic) go through the same renderer, and a
request id bound in a contextvar appears on every line logged while handling that request.

Two rules hold in every mode. No secret reaches the log: tracebacks are plain (no local
variables, which held the JWT secret and bearer tokens), and every rendered line is scrubbed
of the configured secrets, JWTs, bearer credentials and `?token=` values. Logging never holds
up serving: the caller only queues the record (bounded; the excess is dropped and counted),
and a thread of its own renders and writes it, tracebacks included.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

from parley.config import LogFormat, Settings

LOG_QUEUE_LIMIT = 10_000
"""Records waiting for the writer thread; past this, new ones are dropped (and counted)."""

REDACTED = "[redacted]"
_TOKEN_IN_URL = re.compile(r"((?:access_|refresh_|session_)?token=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_SECRET_PREFIX_CHARS = 12
REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._\-]{1,128}$")


def request_id_of(scope: Mapping[str, Any]) -> str:
    """The request's id: the one the HTTP middleware gave it, else the caller's
    `X-Request-ID` when it is sane, else a new one (a WebSocket upgrade has no middleware)."""
    state = scope.get("state")
    if state and isinstance(state.get("request_id"), str):
        return str(state["request_id"])
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            return str(value.decode())
    return os.urandom(16).hex()  # the shape of uuid4().hex, for a quarter of its cost


def _orjson_dumps(obj: object, default: object = None) -> str:
    return orjson.dumps(obj, default=default).decode()  # type: ignore[arg-type]


class Scrubber:
    """Takes out of a rendered line what must never be in a log: the configured secrets (and
    any run of characters starting with one's first few, in case something cut it short),
    JWTs, `Bearer` credentials and token query parameters."""

    def __init__(self, secrets: Iterable[str]) -> None:
        prefixes = sorted({s[:_SECRET_PREFIX_CHARS] for s in secrets if len(s) >= 8})
        self._secrets = (
            re.compile("|".join(re.escape(p) + r"[^\s\"',]*" for p in prefixes))
            if prefixes
            else None
        )

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        if "eyJ" in text:
            text = _JWT.sub(REDACTED, text)
        if "token=" in text:
            text = _TOKEN_IN_URL.sub(r"\1" + REDACTED, text)
        if "earer" in text:
            text = _BEARER.sub(r"\1" + REDACTED, text)
        return text


class ScrubbingFormatter(structlog.stdlib.ProcessorFormatter):
    def __init__(self, scrub: Scrubber, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        return self._scrub(super().format(record))


class RedactTokens(logging.Filter):
    """Access tokens travel in WebSocket URLs (`?token=`); keep them out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            message = record.getMessage()
            if "token=" in message:
                record.msg = _TOKEN_IN_URL.sub(r"\1" + REDACTED, message)
                record.args = ()
        return True


class _Handoff(logging.handlers.QueueHandler):
    """Hands records to the writer thread as they are: rendering (a traceback above all) is
    the writer's work, not the event loop's."""

    dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not isinstance(record.msg, dict):  # a stdlib logger's line (uvicorn's, say): the
            # request context is this thread's, so take it now, not in the writer thread
            record.parley_context = structlog.contextvars.get_contextvars()
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            _Handoff.dropped += 1


def _foreign_context(_: Any, __: str, event_dict: structlog.types.EventDict) -> Any:
    """For a stdlib logger's line, rendered in the writer thread: the context and the time
    of the call that logged it (see `_Handoff.prepare`)."""
    record = event_dict.get("_record")
    for key, value in getattr(record, "parley_context", {}).items():
        event_dict.setdefault(key, value)
    if record is not None:
        stamp = datetime.fromtimestamp(record.created, UTC)
        event_dict["timestamp"] = stamp.isoformat().replace("+00:00", "Z")
    return event_dict


class _Listener(logging.handlers.QueueListener):
    def enqueue_sentinel(self) -> None:
        # Blocking: with a full queue the stdlib's put_nowait raised at exit, and the lines
        # still queued were lost; the writer thread is draining it meanwhile.
        self.queue.put(self._sentinel)  # type: ignore[attr-defined]


def _capture_exc_info(_: Any, __: str, event_dict: structlog.types.EventDict) -> Any:
    """`log.exception` asks for "the exception being handled": take it now, in the thread
    that is handling it, since the writer thread renders it later."""
    if event_dict.get("exc_info") is True:
        event_dict["exc_info"] = sys.exc_info()
    return event_dict


_listener: logging.handlers.QueueListener | None = None


def _secrets_of(settings: Settings) -> list[str]:
    found = [settings.jwt_secret, settings.api_key]
    development = settings.data_dir / "jwt-secret"
    if not settings.jwt_secret and development.exists():
        found.append(development.read_text().strip())
    return [s for s in found if s]


def configure_logging(settings: Settings) -> None:
    global _listener
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendering: list[structlog.types.Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta
    ]
    if settings.effective_log_format is LogFormat.JSON:
        rendering += [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_orjson_dumps),
        ]
    else:
        rendering.append(
            structlog.dev.ConsoleRenderer(
                colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        )

    structlog.configure(
        processors=[
            # First: a line below LOG_LEVEL is dropped before any processor runs (it was
            # ~11 % of a connect's samples at LOG_LEVEL=warning, for lines never written).
            structlog.stdlib.filter_by_level,
            *shared,
            _capture_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    writer = logging.StreamHandler(sys.stderr)
    writer.addFilter(RedactTokens())
    writer.setFormatter(
        ScrubbingFormatter(
            Scrubber(_secrets_of(settings)),
            foreign_pre_chain=[*shared[1:], _foreign_context],  # not merge_contextvars: see
            processors=rendering,  # _foreign_context (this runs in the writer thread)
        )
    )
    if _listener is not None:
        _listener.stop()
    records: queue.Queue[logging.LogRecord] = queue.Queue(LOG_QUEUE_LIMIT)
    _listener = _Listener(records, writer, respect_handler_level=False)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_Handoff(records)]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Parley writes its own access line, with the request id and the route; under another
    # server that keeps uvicorn's, its paths (with `?token=`) are scrubbed like every line.
    logging.getLogger("uvicorn.access").disabled = True


@atexit.register
def _flush() -> None:
    if _listener is not None:
        _listener.stop()


def _writer_for_child() -> None:
    """A forked worker (a server that imports the app before forking) has the queue but not
    the thread: give it a queue and a writer of its own (the parent's queue may hold lines the
    parent writes, and a lock its writer held at the fork)."""
    global _listener
    if _listener is not None:
        records: queue.Queue[logging.LogRecord] = queue.Queue(LOG_QUEUE_LIMIT)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, _Handoff):
                handler.queue = records
        _listener = _Listener(records, *_listener.handlers, respect_handler_level=False)
        _listener.start()


os.register_at_fork(after_in_child=_writer_for_child)
