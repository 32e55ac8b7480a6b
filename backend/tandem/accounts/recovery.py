"""A new recovery code while signed in: the old one ends, the person proves it is them again."""

import uuid
from datetime import timedelta

from sqlmodel import Session

from tandem import audit, throttle
from tandem.accounts.models import AuthSession, User
from tandem.config import Settings
from tandem.db import utcnow
from tandem.errors import Forbidden, Invalid
from tandem.security import digest, new_code, verify_password

# An account without a password (single sign-on) proves itself with a sign-in this recent.
FRESH_SIGN_IN = timedelta(minutes=5)


def new_recovery_code(
    session: Session,
    *,
    settings: Settings,
    user: User,
    password: str | None,
    session_id: uuid.UUID,
) -> str:
    """A new recovery code for a signed-in person who proves it is them again; the old code
    stops working. Wrong passwords count like failed sign-ins (a stolen token can't guess)."""
    keys = throttle.keys(settings, "login", account=user.email, address=None)
    throttle.check(session, keys)
    if user.password_hash is None:
        auth_session = session.get(AuthSession, session_id)
        if auth_session is None or utcnow() - auth_session.created_at > FRESH_SIGN_IN:
            raise Forbidden("Please sign in again, then make a new recovery code within 5 minutes")
    elif not verify_password(password or "", user.password_hash, settings):
        throttle.fail(session, keys)
        session.commit()
        raise Invalid("That password is not right.")
    code = new_code()
    user.recovery_code_hash = digest(code)
    session.add(user)
    audit.record(
        session, action="account.recovery_code_renewed", actor_id=user.id, subject_user_id=user.id
    )
    session.commit()
    return code
