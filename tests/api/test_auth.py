"""Staff sign-in: argon2 hashes, expiring and revocable tokens, lockout, no secret in logs."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import select, update

from gomrac.analysis.errors import ValidationError
from gomrac.api.web.accounts import add_user, create_account, token_hash
from gomrac.geo.db import make_engine, make_sessionmaker, session_scope
from gomrac.geo.models import AccessToken, UserAccount
from gomrac.geo.settings import Settings

PASSWORD = "correct horse battery staple"
LE_CHAN_WARD = "11383"


@pytest.fixture
def account(client: Any) -> str:
    """A ward-office account of Lê Chân, created directly in the app's database."""
    with session_scope(client.app.state.engine) as session:
        create_account(
            session,
            username="lan.nguyen",
            password=PASSWORD,
            role="ward_office",
            ward_codes=[LE_CHAN_WARD],
        )
    return "lan.nguyen"


def _sign_in(client: Any, username: str, password: str, **kwargs: Any) -> Any:
    return client.post(
        "/api/auth/token", data={"username": username, "password": password}, **kwargs
    )


def test_sign_in__token_names_the_account(client: Any, account: str) -> None:
    """A right password answers a bearer token; /me names the account, its role and wards."""
    response = _sign_in(client, account, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["role"], body["ward_codes"]) == (
        "lan.nguyen",
        "ward_office",
        [LE_CHAN_WARD],
    )
    assert body["token_type"] == "bearer"
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(hours=11.9) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=12)
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "username": "lan.nguyen",
        "full_name": None,
        "role": "ward_office",
        "ward_codes": [LE_CHAN_WARD],
    }


def test_sign_in__json_body_accepted(client: Any, account: str) -> None:
    """The credentials may also come as JSON."""
    response = client.post("/api/auth/token", json={"username": account, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["username"] == account


def test_sign_in__only_hashes_stored(client: Any, account: str) -> None:
    """The database holds an argon2id hash of the password and the SHA-256 of the token."""
    token = _sign_in(client, account, PASSWORD).json()["access_token"]
    with session_scope(client.app.state.engine) as session:
        stored = session.scalar(select(UserAccount.password_hash))
        tokens = list(session.scalars(select(AccessToken.token_hash)))
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert tokens == [token_hash(token)]
    assert token not in tokens


@pytest.mark.parametrize(
    ("username", "password"),
    [("lan.nguyen", "wrong password entirely"), ("nobody.here", PASSWORD)],
)
def test_sign_in__wrong_credentials_401(
    client: Any, account: str, username: str, password: str
) -> None:
    """A wrong password and an unknown username get the same 401, and no token."""
    response = _sign_in(client, username, password)
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_sign_in__malformed_400(client: Any) -> None:
    """Missing fields are a 400 that says what to send, not a 5xx."""
    response = client.post("/api/auth/token", data={"username": ""})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "send a username (1-64 characters, no control characters) and a password"
    }
    nul = client.post("/api/auth/token", data={"username": "lan\x00", "password": "x"})
    assert nul.status_code == 400
    assert nul.json()["detail"].startswith("send a username")
    plain = client.post("/api/auth/token", content=b"x", headers={"content-type": "text/plain"})
    assert plain.status_code == 400
    assert plain.json() == {"detail": "send username and password as a form or as JSON"}


def test_sign_in__account_locked_after_failures(client: Any, account: str) -> None:
    """After 5 failures for one account, even the right password is refused (429, Retry-After)
    for the lockout window."""
    for _ in range(5):
        assert _sign_in(client, account, "not the password!").status_code == 401
    locked = _sign_in(client, account, PASSWORD)
    assert locked.status_code == 429
    assert locked.json() == {"detail": "too many failed sign-ins; try again in about 15 minute(s)"}
    assert locked.headers["retry-after"] == "900"


def test_sign_in__client_locked_after_failures(client: Any, account: str) -> None:
    """After 20 failures from one client, over many usernames, that client is locked out."""
    for i in range(20):
        assert _sign_in(client, f"guess{i:02d}", "not the password!").status_code == 401
    locked = _sign_in(client, account, PASSWORD)
    assert locked.status_code == 429
    assert "too many failed sign-ins" in locked.json()["detail"]


def test_sign_in__success_resets_the_account_count(client: Any, account: str) -> None:
    """Four failures, a success, four failures: never locked (the count restarts)."""
    for _ in range(4):
        assert _sign_in(client, account, "not the password!").status_code == 401
    assert _sign_in(client, account, PASSWORD).status_code == 200
    for _ in range(4):
        assert _sign_in(client, account, "not the password!").status_code == 401
    assert _sign_in(client, account, PASSWORD).status_code == 200


def test_token__expired_and_revoked_refused(client: Any, account: str) -> None:
    """An expired token and a signed-out token are refused with 401."""
    first = _sign_in(client, account, PASSWORD).json()["access_token"]
    second = _sign_in(client, account, PASSWORD).json()["access_token"]
    with session_scope(client.app.state.engine) as session:
        session.execute(
            update(AccessToken)
            .where(AccessToken.token_hash == token_hash(first))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    expired = client.get("/api/auth/me", headers={"Authorization": f"Bearer {first}"})
    assert expired.status_code == 401
    assert expired.json() == {"detail": "the token is unknown, expired or revoked; sign in again"}
    headers = {"Authorization": f"Bearer {second}"}
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert client.post("/api/auth/sign-out", headers=headers).status_code == 204
    revoked = client.get("/api/auth/me", headers=headers)
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "the token is unknown, expired or revoked; sign in again"


def test_sign_in__no_secret_in_logs(
    client: Any, account: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither a password (right or wrong) nor a token reaches any log record."""
    caplog.set_level(logging.DEBUG)
    _sign_in(client, account, "wrong-secret-passphrase")
    token = _sign_in(client, account, PASSWORD).json()["access_token"]
    client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sign_in: lan.nguyen (ward_office)" in text
    for secret in (PASSWORD, "wrong-secret-passphrase", token):
        assert secret not in text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "Lan Nguyen"}, "username 'Lan Nguyen' must be 3-64 characters"),
        ({"username": "citizen"}, "username 'citizen' must be 3-64 characters"),
        ({"password": "short"}, "the password must have at least 12 characters"),
        ({"role": "mayor"}, "role 'mayor' is not one of"),
        ({"ward_codes": ["99999"]}, "unknown ward code(s) ['99999']"),
        ({"ward_codes": []}, "a ward_office account needs at least one ward code"),
    ],
)
def test_add_user__bad_values_refused(
    api_settings: Settings, fields: dict[str, Any], message: str
) -> None:
    """`add_user` (behind `gomrac users add`) refuses malformed accounts with a clear message."""
    values = {
        "username": "an.tran",
        "password": PASSWORD,
        "role": "ward_office",
        "ward_codes": [LE_CHAN_WARD],
        **fields,
    }
    with pytest.raises(ValidationError) as raised:
        add_user(api_settings, **values)
    assert message in str(raised.value)


def test_add_user__creates_an_account_that_signs_in(api_settings: Settings, client: Any) -> None:
    """`add_user` stores the account (migrating the database first) and it can sign in; the
    same name twice is refused."""
    staff = add_user(
        api_settings,
        username="an.tran",
        password=PASSWORD,
        role="police",
        ward_codes=[LE_CHAN_WARD],
        full_name="Trần An",
    )
    assert (staff.username, staff.role, staff.ward_codes) == ("an.tran", "police", ("11383",))
    assert _sign_in(client, "an.tran", PASSWORD).status_code == 200
    with pytest.raises(ValidationError, match=r"username 'an\.tran' is taken"):
        add_user(api_settings, username="an.tran", password=PASSWORD, role="admin", ward_codes=[])
    engine = make_engine(api_settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            names = list(session.scalars(select(UserAccount.username)))
    finally:
        engine.dispose()
    assert names == ["an.tran"]
