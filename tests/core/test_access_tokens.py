"""Access tokens are verified once per process and kept (app.core.security): a kept token
still ends with its lifetime, and only the very token verified is kept."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from app.core import security
from app.core.config import Settings
from app.core.security import decode_access_token, issue_access_token

KEY = "k" * 64


def _token(settings: Settings, now: datetime) -> str:
    token, _ = issue_access_token(
        user_id=7, session_id=uuid4(), role="officer", agency="SYT", key=KEY,
        settings=settings, now=now,
    )  # fmt: skip
    return token


def test_a_kept_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(access_token_minutes=15)
    now = datetime.now(UTC)
    token = _token(settings, now)
    assert decode_access_token(token, key=KEY, settings=settings)["sub"] == "7"
    # Verified and kept; 14 minutes on it still stands, 16 minutes on (past the leeway) not.
    monkeypatch.setattr(security, "_clock", lambda: (now + timedelta(minutes=14)).timestamp())
    assert decode_access_token(token, key=KEY, settings=settings)["sub"] == "7"
    monkeypatch.setattr(security, "_clock", lambda: (now + timedelta(minutes=16)).timestamp())
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_access_token(token, key=KEY, settings=settings)


def test_only_the_token_verified_is_kept() -> None:
    settings = Settings()
    token = _token(settings, datetime.now(UTC))
    claims = decode_access_token(token, key=KEY, settings=settings)
    claims["sub"] = "8"  # a caller changing its copy changes nothing kept
    assert decode_access_token(token, key=KEY, settings=settings)["sub"] == "7"
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(jwt.InvalidSignatureError):
        decode_access_token(forged, key=KEY, settings=settings)
    with pytest.raises(jwt.InvalidSignatureError):  # the same token under another key
        decode_access_token(token, key="x" * 64, settings=settings)
    with pytest.raises(jwt.InvalidAudienceError):  # or for another audience
        decode_access_token(token, key=KEY, settings=Settings(jwt_audience="other"))
