"""Dependencies of the web routers: settings, engine, session, client, the signed-in account.

Use them as annotated parameters (the FastAPI template's ``deps.py``)::

    @router.patch("/{report_id}")
    def change(report_id: int, session: SessionDep, staff: WardStaff) -> ...: ...

`CurrentStaff` answers 401 without a valid ``Authorization: Bearer <token>`` (from
``POST /api/auth/token``); `require_roles` adds 403 for an account of another role. Whether the
account works for the ward of the thing it changes is checked by the endpoint, with
`ensure_ward`, once it has read that thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from gomrac.api.web.accounts import Staff, staff_for_token
from gomrac.geo.db import make_sessionmaker
from gomrac.geo.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def get_settings(request: Request) -> Settings:
    """Return the app's settings (``app.state.settings``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """Return the app's engine (``app.state.engine``)."""
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """
    Yield a session for one request; the endpoint commits, anything left is rolled back.

    The endpoint commits explicitly before it answers, so the answer never reports a change
    that is not yet durable.
    """
    session = make_sessionmaker(get_engine(request))()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def client_address(request: Request) -> str:
    """Return the client's address as the server sees it (``unknown`` when there is none)."""
    return request.client.host if request.client is not None else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ClientDep = Annotated[str, Depends(client_address)]

bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /api/auth/token, as `Authorization: Bearer <token>`.",
)


def current_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Staff:
    """
    Return the signed-in account of the request.

    Raises
    ------
    HTTPException
        401 (with ``WWW-Authenticate: Bearer``) without a token, or with an unknown, expired
        or revoked one.
    """
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or not credentials.credentials:
        msg = "sign in first: POST /api/auth/token, then send Authorization: Bearer <token>"
        raise HTTPException(status_code=401, detail=msg, headers=challenge)
    with make_sessionmaker(get_engine(request))() as session:
        staff = staff_for_token(session, credentials.credentials)
    if staff is None:
        msg = "the token is unknown, expired or revoked; sign in again"
        raise HTTPException(status_code=401, detail=msg, headers=challenge)
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]


def require_roles(*roles: str) -> Callable[[Staff], Staff]:
    """Dependency allowing only accounts of `roles` (403 for the others)."""

    def check(staff: CurrentStaff) -> Staff:
        if staff.role not in roles:
            msg = f"a {staff.role} account may not do this; it needs one of {', '.join(roles)}"
            raise HTTPException(status_code=403, detail=msg)
        return staff

    return check


def ensure_ward(staff: Staff, ward_code: str | None, *, what: str) -> None:
    """Refuse (403) when the account does not work for the ward of `what`."""
    if not staff.may_act_in(ward_code):
        wards = ", ".join(staff.ward_codes) or "none"
        msg = (
            f"{what} is in ward {ward_code or 'unknown'}; account {staff.username!r} works "
            f"for ward(s) {wards}"
        )
        raise HTTPException(status_code=403, detail=msg)


#: may change a report's workflow status
StatusStaff = Annotated[Staff, Depends(require_roles("ward_office", "waste_company", "admin"))]
#: may publish, hold back or hide a report
ModeratorStaff = Annotated[Staff, Depends(require_roles("ward_office", "admin"))]
#: may read reports with their reporters' contact data and audit trails
ReaderStaff = Annotated[
    Staff, Depends(require_roles("ward_office", "police", "waste_company", "admin"))
]
