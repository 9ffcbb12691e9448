"""Sign-in for staff under ``/api/auth``: issue, inspect and revoke bearer tokens.

``POST /api/auth/token`` takes ``username`` and ``password`` (a form, as OAuth2's password
flow sends them, or JSON) and answers a token that expires after ``GOMRAC_TOKEN_LIFETIME_H``
hours; ``GET /api/auth/me`` names the account of a token; ``POST /api/auth/sign-out``
revokes it. See `gomrac.api.web.accounts` for hashing, lockout and what is stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from gomrac.analysis.errors import ValidationError
from gomrac.api.web import accounts
from gomrac.api.web.deps import ClientDep, CurrentStaff, SessionDep, SettingsDep, bearer
from gomrac.api.web.reports import w3c
from gomrac.api.web.schemas import AccessTokenOut, AccountOut, Detail, SignIn
from gomrac.geo import store

router = APIRouter(prefix="/api/auth", tags=["auth"])

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Detail, "description": "missing or malformed username or password"},
    401: {"model": Detail, "description": "wrong username or password, or a bad token"},
    429: {"model": Detail, "description": "locked out after failed sign-ins; see Retry-After"},
}
_FORM_SCHEMA: Final = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[^\\x00-\\x1f\\x7f]+$",
        },
        "password": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1024,
            "pattern": "^[^\\x00]+$",
            "format": "password",
        },
    },
}


async def _credentials(request: Request) -> SignIn:
    content_type = request.headers.get("content-type", "").lower()
    try:
        if content_type.startswith("application/json"):
            return SignIn.model_validate_json(await request.body())
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            async with request.form(max_files=0, max_fields=10) as form:
                values = {k: v for k, v in form.items() if isinstance(v, str)}
            return SignIn.model_validate(
                {"username": values.get("username", ""), "password": values.get("password", "")}
            )
    except PydanticValidationError:
        msg = "send a username (1-64 characters, no control characters) and a password"
        raise ValidationError(msg) from None
    msg = "send username and password as a form or as JSON"
    raise ValidationError(msg)


@router.post(
    "/token",
    response_model=AccessTokenOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA},
                "application/json": {"schema": _FORM_SCHEMA},
            },
        }
    },
)
async def token(
    request: Request, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> AccessTokenOut:
    """Sign in: check the password and answer a bearer token (shown once)."""
    given = await _credentials(request)
    issued = await run_in_threadpool(  # argon2 takes tens of milliseconds: not on the loop
        accounts.sign_in,
        session,
        username=given.username,
        password=given.password,
        client=client,
        settings=settings,
    )
    return AccessTokenOut(
        access_token=issued.token,
        expires_at=w3c(issued.expires_at) or "",
        username=issued.staff.username,
        role=issued.staff.role,  # type: ignore[arg-type]  # CHECK constraint on role
        ward_codes=list(issued.staff.ward_codes),
    )


@router.get("/me", response_model=AccountOut, responses=_ERRORS)
def me(staff: CurrentStaff, session: SessionDep) -> AccountOut:
    """Name the signed-in account, its role and wards."""
    account = store.get_user_account(session, staff.username)
    return AccountOut(
        username=staff.username,
        full_name=account.full_name if account else None,
        role=staff.role,  # type: ignore[arg-type]  # CHECK constraint on role
        ward_codes=list(staff.ward_codes),
    )


@router.post("/sign-out", status_code=204, responses=_ERRORS)
def sign_out(
    staff: CurrentStaff,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Revoke the token of this request (the account must sign in again)."""
    if credentials is not None:
        accounts.sign_out(session, credentials.credentials)
    return Response(status_code=204)
