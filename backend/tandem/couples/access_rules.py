"""Who is asking and their membership: each rule once, as a SQL fragment the statements embed
and one Python function over the rows they return.

api/access.py applies these rules to every route: through its dependencies (CurrentUser,
CoupleMember, on the ORM: accounts.service.user_for_access, couples.service.active_membership,
which use the same fragments) and on a plain connection for the hot paths (couple_access: the
plan read); the practice-log write (plans/practice_log_sql.py) embeds the same fragments in its
one query and checks its rows with the same functions. A change to who may do what is made here
(the sign-in's in accounts/sign_in_rules.py: this module passes them on);
tests/test_authz_matrix.py runs through the hot paths too (api/fast_paths.py serves them in the
app it uses).
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import col

from tandem.accounts.models import Role
from tandem.accounts.sign_in_rules import LIVE_USER, SIGN_IN_COLUMNS, require_signed_in, sign_in_of
from tandem.couples.models import Membership

# The sign-in rules are passed on: the hot statements import who-is-asking from one place.
__all__ = [
    "LIVE_USER",
    "SIGN_IN_COLUMNS",
    "active_members",
    "own_membership",
    "partner_ids",
    "require_signed_in",
    "sign_in_of",
]


def active_members(couple_id: Any) -> ColumnElement[bool]:
    """Join condition: the couple's members who have not left."""
    return and_(col(Membership.couple_id) == couple_id, col(Membership.left_at).is_(None))


def own_membership(rows: Sequence[Any], user_id: uuid.UUID, key: str) -> Any | None:
    """The caller's row among a couple's active members' (`key`: the member id's column)."""
    return next((r for r in rows if getattr(r, key) == user_id), None)


def partner_ids(rows: Sequence[Any], key: str) -> list[uuid.UUID]:
    """The couple's active partners, once each, in the rows' order (by the time they joined)."""
    return list(dict.fromkeys(getattr(r, key) for r in rows if r.role == Role.partner))
