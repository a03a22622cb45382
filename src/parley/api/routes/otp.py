"""Phone sign-in over REST: the GOSOCKET seed's `/auth/login`, `/auth/verify-otp`,
`/auth/set-profile`, and their canonical twins under `/api/v1/auth/otp/`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from parley.api.deps import Client, RuntimeDep
from parley.clock import now_iso
from parley.domain.accounts.otp import profile_answer
from parley.domain.accounts.schemas import OtpProfile, OtpRequest, OtpVerify

router = APIRouter(tags=["phone sign-in"])


@router.post("/auth/login")
@router.post("/api/v1/auth/otp/request")
async def request_code(body: OtpRequest, runtime: RuntimeDep, client: Client) -> dict[str, Any]:
    """Send a sign-in code to the phone; answers the session token for the next step. The
    code itself is in the answer only in development."""
    challenge = await runtime.otp.request(body.mobile_no, body, client)
    return {**challenge.answer(), "timestamp": now_iso()}


@router.post("/auth/verify-otp")
@router.post("/api/v1/auth/otp/verify")
async def verify_code(body: OtpVerify, runtime: RuntimeDep, client: Client) -> dict[str, Any]:
    """Sign in with the code: `{user, tokens}` as a password login gives, plus `token` (the
    access token) and `is_new_user` for the seed's clients."""
    signed_in = await runtime.otp.verify(body.mobile_no, body.session_token, body.otp, client)
    return {**signed_in.answer(body.session_token), "timestamp": now_iso()}


@router.post("/auth/set-profile")
@router.post("/api/v1/auth/otp/profile")
async def set_profile(body: OtpProfile, runtime: RuntimeDep) -> dict[str, Any]:
    """After verifying: name, state, email and language of the phone's account."""
    user = await runtime.otp.set_profile(body)
    return {**profile_answer(user), "timestamp": now_iso()}
