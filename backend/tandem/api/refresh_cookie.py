"""The refresh token's cookie: set at sign-in (password or single sign-on), cleared at sign-out."""

from typing import Any

from fastapi import Response

# `__Secure-`: browsers accept it only over https with the Secure flag (ASVS 3.3.1).
REFRESH_COOKIE = "__Secure-tandem_refresh"
REFRESH_PATH = "/api/auth"


def set_refresh_cookie(response: Response, refresh_token: str, settings: Any) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=settings.session_absolute_days * 86400,
        path=REFRESH_PATH,
        httponly=True,
        secure=True,
        samesite="strict",
    )


def clear_refresh_cookie(response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_PATH, httponly=True, secure=True, samesite="strict"
    )
