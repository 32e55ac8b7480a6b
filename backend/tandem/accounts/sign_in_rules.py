"""Who is asking: the sign-in rules as SQL fragments and Python functions, written once
(couples/access_rules.py passes them on with the membership rules; see there)."""

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam
from sqlmodel import col

from tandem.accounts.models import SignIn, User
from tandem.core.db import utcnow
from tandem.core.errors import Unauthorized

# The sign-in's columns sign_in_alive reads.
SIGN_IN_COLUMNS = (
    col(SignIn.revoked_at),
    col(SignIn.last_used_at),
    col(SignIn.idle_seconds),
    col(SignIn.expires_at),
)
# A deleted account signs nobody in.
LIVE_USER: ColumnElement[bool] = col(User.deleted_at).is_(None)


def sign_in_of(user_id: Any, sign_in_id: Any = None) -> ColumnElement[bool]:
    """Join condition: the request's sign-in (by default the bind parameter `sign_in_id`), of
    this user."""
    wanted = bindparam("sign_in_id") if sign_in_id is None else sign_in_id
    return and_(col(SignIn.id) == wanted, col(SignIn.user_id) == user_id)


def sign_in_alive(sign_in: Any) -> bool:
    """Whether a sign-in (a row with its revoked_at, last_used_at, idle_seconds and expires_at)
    is still good: not revoked, not expired, not idle too long."""
    if sign_in is None or sign_in.revoked_at is not None:
        return False
    now = utcnow()
    idle_limit = sign_in.last_used_at + timedelta(seconds=sign_in.idle_seconds)
    return bool(now < sign_in.expires_at and now < idle_limit)


def require_signed_in(row: Any | None) -> None:
    """401 unless `row` (SIGN_IN_COLUMNS, None when absent) is a live sign-in."""
    if row is None or row.expires_at is None or not sign_in_alive(row):
        raise Unauthorized("Signed out")
