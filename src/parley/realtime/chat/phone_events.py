"""The GOSOCKET seed's Socket.IO events on `/`: phone sign-in, device info, heartbeat.

Each answers through its acknowledgement and, for the seed's clients, also as an event of the
same name carrying `event` and `socket_id`: `login` (a code is sent), `verify_otp` (signs the
socket in, with the same token pair as a password login), `set_profile`, `device_info`
(stored on the device session), `heartbeat`. A connection also gets `connected` on arrival.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from parley.clock import now_iso
from parley.domain.accounts.otp import OtpService, profile_answer
from parley.domain.accounts.principal import ClientInfo, Principal
from parley.domain.accounts.schemas import (
    Lenient,
    OtpProfile,
    OtpRequest,
    OtpSent,
    OtpVerified,
    OtpVerify,
    ProfileUpdated,
)
from parley.realtime.chat.live import LiveService
from parley.realtime.transports.socketio import SocketIOConnection


class PhoneNamespace(Protocol):
    """What these events need of the namespace they run in (`chat.namespace.ChatNamespace`)."""

    otp: OtpService
    live: LiveService

    async def sign_in(
        self, socket: SocketIOConnection, principal: Principal, since: Any = None
    ) -> Mapping[str, Any]: ...


class DeviceInfo(Lenient):
    device_id: str | None = Field(None, max_length=255)
    device_type: str | None = Field(None, max_length=50)
    manufacturer: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    os_version: str | None = Field(None, max_length=50)
    app_version: str | None = Field(None, max_length=50)
    timestamp: str | None = Field(None, max_length=64)


# -- what they answer: the answer, stamped (`_reply`) ----------------------------------------


class Stamp(BaseModel):
    timestamp: str
    socket_id: str
    event: str
    """The event answered."""


class StampFields(TypedDict):
    timestamp: str
    socket_id: str
    event: str


class LoginAnswer(OtpSent, StampFields):
    pass


class VerifyOtpAnswer(OtpVerified, Stamp):
    pass


class SetProfileAnswer(ProfileUpdated, Stamp):
    pass


class DeviceInfoAnswer(StampFields):
    status: Literal["success"]
    device_info: dict[str, str]
    """What was kept (the fields sent)."""


class HeartbeatAnswer(StampFields):
    status: Literal["alive"]


class Connected(TypedDict):
    """`connected`, sent to every connection of `/` on arrival."""

    message: str
    timestamp: str
    socket_id: str
    status: Literal["connected"]
    event: Literal["connect"]


def _client(socket: SocketIOConnection) -> ClientInfo:
    return ClientInfo(
        user_agent=socket.session.header("user-agent"), ip_address=socket.session.client_ip
    )


def _reply(
    socket: SocketIOConnection, event: str, answer: Mapping[str, Any], ack: bool
) -> dict[str, Any]:
    answer = {**answer, "timestamp": now_iso(), "socket_id": socket.sid, "event": event}
    if not ack:
        socket.emit(event, answer)
    return answer


def greeting(socket: SocketIOConnection) -> Connected:
    return {
        "message": "Connected successfully",
        "timestamp": now_iso(),
        "socket_id": socket.sid,
        "status": "connected",
        "event": "connect",
    }


async def login(
    ns: PhoneNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
) -> Any:
    body = OtpRequest.model_validate(data)
    challenge = await ns.otp.request(body.mobile_no, body, _client(socket))
    return _reply(socket, "login", challenge.answer(), ack)


async def verify_otp(
    ns: PhoneNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
) -> Any:
    body = OtpVerify.model_validate(data)
    signed_in = await ns.otp.verify(body.mobile_no, body.session_token, body.otp, _client(socket))
    if socket.principal is None:  # this socket is now signed in as that user
        token = signed_in.result.tokens.access_token
        await ns.sign_in(socket, await ns.live.auth.authenticate(token))
    return _reply(socket, "verify_otp", signed_in.answer(body.session_token), ack)


async def set_profile(
    ns: PhoneNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
) -> Any:
    body = OtpProfile.model_validate(data)
    user = await ns.otp.set_profile(body)
    return _reply(socket, "set_profile", profile_answer(user), ack)


PENDING_DEVICE_INFO = "device_info"
"""Engine.IO session state: device info sent before sign-in, for the session it opens."""


async def device_info(
    ns: PhoneNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
) -> Any:
    """The seed sends it right after connecting, before its phone sign-in: kept for the
    connection until then, and stored on the device session the sign-in opens."""
    info = DeviceInfo.model_validate(data).model_dump(exclude_none=True)
    if socket.principal is None:
        socket.session.state[PENDING_DEVICE_INFO] = info
    else:
        await ns.live.auth.record_device_info(socket.principal, info)
    return _reply(socket, "device_info", {"status": "success", "device_info": info}, ack)


async def store_pending_device_info(ns: PhoneNamespace, socket: SocketIOConnection) -> None:
    info = socket.session.state.pop(PENDING_DEVICE_INFO, None)
    if info is not None and socket.principal is not None:
        await ns.live.auth.record_device_info(socket.principal, info)


async def heartbeat(
    ns: PhoneNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
) -> Any:
    if socket.principal is not None:
        await ns.live.heartbeat(socket)
    return _reply(socket, "heartbeat", {"status": "alive"}, ack)
