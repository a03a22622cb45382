"""Dependencies that make route signatures read like prose: `user: CurrentUser`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from parley.domain.accounts.principal import ClientInfo, Principal
from parley.domain.roles import Role
from parley.errors import Unauthenticated
from parley.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("Send an access token: 'Authorization: Bearer <token>'.")
    principal = await runtime.auth.authenticate(token)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only the given roles through (403 for the others)."""

    async def check(principal: CurrentUser) -> Principal:
        principal.require_role(*roles)
        return principal

    return check


AdminUser = Annotated[Principal, Depends(require_role(Role.ADMIN))]
StaffUser = Annotated[Principal, Depends(require_role(Role.AGENT, Role.SUPER_AGENT, Role.ADMIN))]


def get_client_info(request: Request) -> ClientInfo:
    return ClientInfo(
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        ip_address=request.client.host if request.client else None,
    )


Client = Annotated[ClientInfo, Depends(get_client_info)]
