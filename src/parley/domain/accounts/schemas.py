"""What goes in and out of the accounts services, shared by every transport."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from typing_extensions import TypedDict

from parley.domain.roles import AccountStatus, Role

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=32,
        pattern=r"^[A-Za-z0-9_.\-]+$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
DeviceField = Annotated[str, StringConstraints(max_length=255)]


class Lenient(BaseModel):
    """REST bodies ignore fields they do not know, so the seed systems' clients keep working."""

    model_config = ConfigDict(extra="ignore")


class DeviceContext(Lenient):
    device_id: DeviceField | None = None
    fcm_token: Annotated[str, StringConstraints(max_length=4096)] | None = None


class UserCreate(DeviceContext):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "alice", "email": "alice@test.com", "password": "12345678"}]
        }
    )

    username: Username
    password: Password
    email: EmailStr | None = None
    name: DisplayName | None = Field(None, validation_alias=AliasChoices("name", "full_name"))
    role: Role = Role.CUSTOMER


class LoginRequest(DeviceContext):
    """`login` may be a username or an email; the seeds send `username` or `email`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"login": "alice", "password": "12345678"}]}
    )

    login: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)]
    password: Annotated[str, StringConstraints(max_length=128)]

    @model_validator(mode="before")
    @classmethod
    def _pick_login(cls, data: object) -> object:
        if isinstance(data, dict) and "login" not in data:
            for key in ("username", "email", "identifier"):
                if data.get(key):
                    return {**data, "login": data[key]}
        return data


class RefreshRequest(Lenient):
    refresh_token: str = Field(max_length=4096)


class ProfileUpdate(Lenient):
    name: DisplayName | None = Field(None, validation_alias=AliasChoices("name", "full_name"))
    email: EmailStr | None = None
    avatar: Annotated[str, StringConstraints(max_length=2048)] | None = None
    state: ShortText | None = None
    language: Annotated[str, StringConstraints(max_length=35)] | None = Field(
        None, validation_alias=AliasChoices("language", "language_code")
    )
    dm_friends_only: StrictBool | None = None
    """Direct messages (and new direct chats) from friends only."""


class RoleUpdate(Lenient):
    role: Role


class StatusUpdate(Lenient):
    status: AccountStatus


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str | None
    email: str | None
    mobile_no: str | None
    name: str
    full_name: str
    role: Role
    avatar: str | None
    state: str | None
    language: str | None
    status: AccountStatus
    is_online: bool
    last_seen: datetime | None
    dm_friends_only: bool = False
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, data: object) -> object:
        if isinstance(data, dict):
            return data
        name = getattr(data, "name", "")
        return {
            **{field: getattr(data, field) for field in _ROW_FIELDS},
            "full_name": name,
            "last_seen": data.last_seen_at,  # type: ignore[attr-defined]
        }


_ROW_FIELDS = (
    "id",
    "username",
    "email",
    "mobile_no",
    "name",
    "role",
    "avatar",
    "state",
    "language",
    "status",
    "is_online",
    "dm_friends_only",
    "created_at",
    "updated_at",
)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    """Seconds until the access token expires."""


class AuthResult(BaseModel):
    user: UserPublic
    tokens: TokenPair


class UserPage(BaseModel):
    users: list[UserPublic]
    total: int
    limit: int
    offset: int


class SessionPublic(BaseModel):
    id: uuid.UUID
    device_id: str | None
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool
    device_info: dict[str, Any] | None = None
    has_push_token: bool = False
    """Whether pushes reach this device (it gave an `fcm_token`)."""


class PushTokenSet(Lenient):
    """`PUT /api/v1/auth/sessions/current/push-token`: the device's push token (FCM)."""

    fcm_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        validation_alias=AliasChoices("fcm_token", "token", "push_token")
    )


# -- phone sign-in -----------------------------------------------------------------------

Mobile = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]
Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class OtpRequest(DeviceContext):
    mobile_no: Mobile = Field(validation_alias=AliasChoices("mobile_no", "mobile", "phone"))


class OtpVerify(Lenient):
    mobile_no: Mobile = Field(validation_alias=AliasChoices("mobile_no", "mobile", "phone"))
    session_token: Token
    otp: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{4,8}$")] = Field(
        validation_alias=AliasChoices("otp", "code")
    )


class OtpProfile(Lenient):
    mobile_no: Mobile = Field(validation_alias=AliasChoices("mobile_no", "mobile", "phone"))
    session_token: Token
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        Field(None, validation_alias=AliasChoices("full_name", "name"))
    )
    state: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    email: EmailStr | None = None
    language: Annotated[str, StringConstraints(max_length=35)] | None = Field(
        None, validation_alias=AliasChoices("language", "language_code")
    )


# -- the phone sign-in's answers (the GOSOCKET seed's), on REST and Socket.IO alike -------------


class OtpSent(TypedDict):
    """The answer to `login`: a code is on its way."""

    status: Literal["success"]
    message: str
    mobile_no: str
    device_id: str | None
    session_token: str
    """For `verify_otp` and `set_profile`."""
    is_new_user: bool
    expires_in: int
    """Seconds the code stays valid."""
    otp: NotRequired[str]
    """The code itself, only with APP_ENV=development (as the seed did)."""


class OtpVerified(AuthResult):
    """The answer to `verify_otp`: a login's `{user, tokens}` plus the seed's fields."""

    status: Literal["success"]
    message: str
    token: str
    """The access token again, where the seed's clients read it."""
    session_token: str
    is_new_user: bool


class ProfileUpdated(BaseModel):
    """The answer to `set_profile`."""

    status: Literal["success"]
    message: str
    user: UserPublic
