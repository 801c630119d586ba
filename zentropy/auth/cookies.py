"""The session and sign-in-state cookies: HttpOnly, SameSite=Lax, Secure unless the public URL is
plain HTTP (local development); the session cookie takes the `__Host-` prefix when Secure."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar.datastructures import Cookie

from zentropy.auth.redirects import is_secure

SESSION = "zentropy_session"
STATE = "zentropy_signin_state"
STATE_PATH = "/api/v1/auth/"


def session_cookie_name(public_url: str) -> str:
    return f"__Host-{SESSION}" if is_secure(public_url) else SESSION


def session_cookie(public_url: str, token: str, expires_at: datetime) -> Cookie:
    max_age = max(int((expires_at - datetime.now(UTC)).total_seconds()), 0)
    return Cookie(key=session_cookie_name(public_url), value=token, max_age=max_age, path="/", httponly=True,
                  secure=is_secure(public_url), samesite="lax")


def cleared_session_cookie(public_url: str) -> Cookie:
    return Cookie(key=session_cookie_name(public_url), value="", max_age=0, path="/", httponly=True,
                  secure=is_secure(public_url), samesite="lax")


def state_cookie(public_url: str, state: str, minutes: int) -> Cookie:
    return Cookie(key=STATE, value=state, max_age=minutes * 60, path=STATE_PATH, httponly=True,
                  secure=is_secure(public_url), samesite="lax")


def cleared_state_cookie(public_url: str) -> Cookie:
    return Cookie(key=STATE, value="", max_age=0, path=STATE_PATH, httponly=True,
                  secure=is_secure(public_url), samesite="lax")
