"""The errors the domain raises, each with a stable code.

Codes are part of the public API: clients branch on them, so they never change meaning. The edge
(REST handlers, socket handlers) translates them: `http_status` for HTTP, the code itself in
socket `error` events and frames. Nothing below the edge knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class ConfigurationError(Exception):
    """Settings that cannot work; raised at start-up with a message saying what to set."""


class ParleyError(Exception):
    code = "internal_error"
    http_status = 500
    default_message = "Something went wrong on our side."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, **details: Any
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code  # a more specific code within the same class, e.g. email_taken
        self.details = details
        super().__init__(self.message)


class ValidationFailed(ParleyError):
    code = "validation_error"
    http_status = 422
    default_message = "The request is not valid."


class MalformedRequest(ParleyError):
    code = "malformed_request"
    http_status = 400
    default_message = "The request body is not valid JSON."


class PayloadTooLarge(ParleyError):
    code = "payload_too_large"
    http_status = 413
    default_message = "The request body is too large."


class Unauthenticated(ParleyError):
    code = "unauthenticated"
    http_status = 401
    default_message = "Authentication is required."


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    default_message = "Wrong username, email or password."


class InvalidToken(Unauthenticated):
    code = "invalid_token"
    default_message = "The token is not valid."


class TokenExpired(Unauthenticated):
    code = "token_expired"
    default_message = "The token has expired."


class SessionRevoked(Unauthenticated):
    code = "session_revoked"
    default_message = "This session has ended; sign in again."


class RefreshTokenReused(Unauthenticated):
    code = "refresh_token_reused"
    default_message = (
        "This refresh token was already used; the session has been revoked. Sign in again."
    )


class Forbidden(ParleyError):
    code = "forbidden"
    http_status = 403
    default_message = "You are not allowed to do this."


class AccountDisabled(Forbidden):
    code = "account_disabled"
    default_message = "This account is disabled."


class NotFound(ParleyError):
    code = "not_found"
    http_status = 404
    default_message = "Not found."


class Conflict(ParleyError):
    code = "conflict"
    http_status = 409
    default_message = "This conflicts with existing data."


class RateLimited(ParleyError):
    code = "rate_limited"
    http_status = 429
    default_message = "Too many requests; slow down."


class ServiceUnavailable(ParleyError):
    code = "service_unavailable"
    http_status = 503
    default_message = "A service Parley depends on is unavailable; try again shortly."


class DatabaseBusy(ServiceUnavailable):
    """The database is up but every turn is taken: a burst of writers queued past the wait
    bound, or a deadlock / serialization failure. Worth retrying at once, unlike an outage."""

    code = "database_busy"
    default_message = "The database is busy with other writes; try again in a moment."


class SignInBusy(ServiceUnavailable):
    """Every password-hashing worker is busy and the queue for them is full: a burst of
    sign-ins (or guesses from many addresses). Retry after `retry_after` seconds."""

    code = "sign_in_busy"
    default_message = "Too many sign-ins at once; try again in a moment."


class UnsupportedMediaType(ParleyError):
    code = "unsupported_media_type"
    http_status = 415
    default_message = "This kind of file is not accepted."


class RangeNotSatisfiable(ParleyError):
    code = "range_not_satisfiable"
    http_status = 416
    default_message = "The requested range lies outside the file."


class NotSupported(ParleyError):
    """Something this deployment cannot do (its backend has no such feature)."""

    code = "not_supported"
    http_status = 501
    default_message = "This server cannot do that."
