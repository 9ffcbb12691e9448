"""Staff accounts: argon2 password hashes, sign-in with lockout, expiring revocable tokens.

A sign-in checks the password with argon2id (argon2-cffi's `PasswordHasher` defaults) and
issues a random bearer token (32 bytes, URL-safe); only its SHA-256 is stored, with its expiry
(``GOMRAC_TOKEN_LIFETIME_H``), so a stolen database holds no usable token and a token can be
revoked by deleting or marking its row. Failed sign-ins are stored: after
``GOMRAC_SIGN_IN_MAX_FAILURES`` failures for one username, or ``GOMRAC_SIGN_IN_MAX_PER_CLIENT``
from one client address, within ``GOMRAC_SIGN_IN_LOCKOUT_MIN`` minutes, sign-ins are refused
(429 with Retry-After) until the window has passed, even with the right password. Passwords and
tokens are never logged; the log names the account and the client.

`add_user` is the function behind ``gomrac users add``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.exceptions import HTTPException

from gomrac.analysis.errors import ValidationError
from gomrac.geo import store
from gomrac.geo.db import init_db, make_engine, session_scope
from gomrac.geo.lookup import ward_index
from gomrac.geo.models import ROLES, UserAccount, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

MIN_PASSWORD_CHARS: Final = 12
USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
RESERVED_USERNAMES: Final = frozenset({"citizen", "system", "admin", "root", "anonymous"})
_HASHER: Final = PasswordHasher()
# verified against when the username is unknown, so that the answer takes as long either way
_DUMMY_HASH: Final = _HASHER.hash("not a password of any account")


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password (with its own random salt)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash` (constant-time in argon2)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a bearer token: what the database keeps."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Staff:
    """The signed-in account, as the endpoints see it."""

    id: int
    username: str
    role: str
    ward_codes: tuple[str, ...]

    def may_act_in(self, ward_code: str | None) -> bool:
        """Whether the account works for this ward (admins work for every ward)."""
        return self.role == "admin" or (ward_code is not None and ward_code in self.ward_codes)

    @classmethod
    def from_account(cls, account: UserAccount) -> Staff:
        """Copy what the endpoints need out of the database row."""
        return cls(
            id=account.id,
            username=account.username,
            role=account.role,
            ward_codes=tuple(account.ward_codes or ()),
        )


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    ward_codes: list[str],
    known_wards: set[str] | None = None,
    full_name: str | None = None,
) -> UserAccount:
    """
    Create a staff account with a hashed password.

    Parameters
    ----------
    session
        Open session; the caller commits.
    username
        3 to 64 characters of ``a-z 0-9 . _ -``, starting with a letter or digit; not a
        name the audit trail uses for itself (``citizen``, ``system``, ...).
    password
        At least `MIN_PASSWORD_CHARS` characters; only its hash is stored.
    role
        One of ``ward_office``, ``police``, ``waste_company``, ``admin``.
    ward_codes
        Official codes of the wards the account works for (admins may have none: all).
    known_wards
        Valid ward codes to check `ward_codes` against (None: not checked).
    full_name
        The person's name, for the staff pages.

    Raises
    ------
    ValidationError
        If a value is malformed, the username is taken or a ward code is unknown.
    """
    if not USERNAME.fullmatch(username) or username in RESERVED_USERNAMES:
        msg = (
            f"username {username!r} must be 3-64 characters of a-z, 0-9, '.', '_' or '-' "
            f"and not one of {sorted(RESERVED_USERNAMES)}"
        )
        raise ValidationError(msg)
    if len(password) < MIN_PASSWORD_CHARS:
        msg = f"the password must have at least {MIN_PASSWORD_CHARS} characters"
        raise ValidationError(msg)
    if role not in ROLES:
        msg = f"role {role!r} is not one of {ROLES}"
        raise ValidationError(msg)
    if known_wards is not None:
        unknown = sorted(set(ward_codes) - known_wards)
        if unknown:
            msg = f"unknown ward code(s) {unknown}; `gomrac wards` lists the codes"
            raise ValidationError(msg)
    return store.add_user_account(
        session,
        username=username,
        password_hash=hash_password(password),
        role=role,
        ward_codes=list(ward_codes),
        full_name=full_name,
    )


def add_user(
    settings: Settings,
    *,
    username: str,
    password: str,
    role: str,
    ward_codes: list[str],
    full_name: str | None = None,
) -> Staff:
    """
    Create a staff account in the database of `settings` (``gomrac users add``).

    The ward codes are checked against the official ward polygons of the data folder.

    Returns
    -------
    Staff
        The new account (no password or hash in it).

    Raises
    ------
    ValidationError
        See `create_account`.
    """
    known = {ref.code for ref in ward_index(settings=settings).refs}
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            account = create_account(
                session,
                username=username,
                password=password,
                role=role,
                ward_codes=ward_codes,
                known_wards=known,
                full_name=full_name,
            )
            staff = Staff.from_account(account)
    finally:
        engine.dispose()
    return staff


@dataclass(frozen=True)
class IssuedToken:
    """A new bearer token (shown once) and the account it signs in."""

    token: str
    expires_at: dt.datetime
    staff: Staff


def _locked_out(retry_after_s: int) -> HTTPException:
    minutes = max(1, round(retry_after_s / 60))
    msg = f"too many failed sign-ins; try again in about {minutes} minute(s)"
    return HTTPException(status_code=429, detail=msg, headers={"Retry-After": str(retry_after_s)})


def sign_in(
    session: Session, *, username: str, password: str, client: str, settings: Settings
) -> IssuedToken:
    """
    Check a username and password and issue a token; count and lock out failures.

    Raises
    ------
    HTTPException
        401 for a wrong username or password (the same message for both), 429 with
        Retry-After while the account or the client is locked out.
    """
    now = utcnow()
    window = dt.timedelta(minutes=settings.sign_in_lockout_min)
    since = now - window
    by_account = store.count_sign_in_failures(session, since=since, username=username)
    by_client = store.count_sign_in_failures(session, since=since, client=client)
    if by_account >= settings.sign_in_max_failures or by_client >= settings.sign_in_max_per_client:
        log.warning("sign_in: %r from %s refused while locked out", username, client)
        raise _locked_out(int(window.total_seconds()))
    account = store.get_user_account(session, username)
    valid = verify_password(account.password_hash if account else _DUMMY_HASH, password)
    if account is None or not valid or not account.active:
        store.record_sign_in_failure(session, username=username, client=client)
        session.commit()  # the failure counts even though the request fails
        log.warning("sign_in: failed for %r from %s", username, client)
        raise HTTPException(
            status_code=401,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    store.clear_sign_in_failures(session, username=username)
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=settings.token_lifetime_h)
    store.add_access_token(
        session, token_hash=token_hash(token), user_id=account.id, expires_at=expires
    )
    session.commit()
    log.info("sign_in: %s (%s) from %s", account.username, account.role, client)
    return IssuedToken(token=token, expires_at=expires, staff=Staff.from_account(account))


def staff_for_token(session: Session, token: str) -> Staff | None:
    """Return the account a valid token signs in, or None (unknown, expired, revoked)."""
    account = store.account_for_token(session, token_hash(token), now=utcnow())
    return Staff.from_account(account) if account is not None else None


def sign_out(session: Session, token: str) -> bool:
    """Revoke a token; whether it was valid."""
    revoked = store.revoke_access_token(session, token_hash(token))
    session.commit()
    return revoked
