"""Accounts: registration, sign-ins with rotating refresh tokens, recovery, deletion."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem.accounts import devices, hooks, person_data, sign_in_rules
from tandem.accounts.models import (
    RefreshToken,
    RegisterBody,
    Role,
    SignIn,
    User,
    UserUpdate,
)
from tandem.accounts.passwords import check_new_password
from tandem.core import audit, crypto
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, Invalid, Unauthorized
from tandem.core.security import (
    b64url,
    digest,
    hash_password,
    issue_access_token,
    new_code,
    new_token,
)

WRONG_LOGIN = "Incorrect email or password"
MAX_SUCCESSOR_HOPS = 5


@dataclass
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str
    sign_in_id: uuid.UUID


# --- registration -------------------------------------------------------------------------


def check_signup_allowed(settings: Settings, data: RegisterBody) -> None:
    if not data.invitation_code and not settings.open_signup:
        raise Forbidden("Registration needs an invitation code on this server")
    if (
        data.role == Role.therapist
        and not settings.allow_therapist_signup
        and not data.invitation_code
    ):
        raise Forbidden("Therapist registration is closed on this server")


def create_account(
    session: Session,
    *,
    settings: Settings,
    data: RegisterBody,
    password_hash: str,
    address: str | None,
) -> tuple[User, str]:
    """The account itself, its password already hashed (never inside this transaction)."""
    if data.invitation_code:
        # Checked before the email, so without a valid code nobody learns which emails exist.
        hooks.signup_invitations().check(session, settings=settings, data=data, address=address)
    if session.exec(select(User.id).where(User.email == data.email)).first():
        raise Conflict("An account with this email already exists")
    recovery_code = new_code()
    user = User(
        email=data.email,
        password_hash=password_hash,
        display_name=data.display_name,
        role=data.role,
        timezone=data.timezone,
        recovery_code_hash=digest(recovery_code),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("An account with this email already exists") from exc
    audit.record(session, action="account.created", actor_id=user.id, subject_user_id=user.id)
    if data.invitation_code:
        hooks.signup_invitations().accept(
            session, settings=settings, user=user, code=data.invitation_code, address=address
        )
    session.commit()
    return user, recovery_code


def create_user(
    session: Session,
    *,
    settings: Settings,
    email: str,
    password: str,
    display_name: str,
    role: Role,
    timezone: str,
) -> tuple[User, str]:
    """For the operator's CLI: no sign-up settings apply."""
    data = RegisterBody(
        email=email, password=password, display_name=display_name, role=role, timezone=timezone
    )
    check_new_password(data.password, email=data.email, display_name=data.display_name)
    return create_account(
        session,
        settings=settings,
        data=data,
        password_hash=hash_password(data.password, settings),
        address=None,
    )


# --- signing in ---------------------------------------------------------------------------


def find_account(session: Session, email: str) -> User | None:
    return session.exec(
        select(User).where(User.email == email.strip().lower(), col(User.deleted_at).is_(None))
    ).first()


def start_sign_in(
    session: Session, *, settings: Settings, user: User, device: str | None
) -> Tokens:
    now = utcnow()
    if user.role == Role.therapist:
        idle = timedelta(hours=settings.therapist_session_idle_hours)
        absolute = timedelta(days=settings.therapist_session_absolute_days)
    else:
        idle = timedelta(days=settings.session_idle_days)
        absolute = timedelta(days=settings.session_absolute_days)
    sign_in = SignIn(
        user_id=user.id,
        expires_at=now + absolute,
        idle_seconds=int(idle.total_seconds()),
        device=devices.describe(device),
    )
    session.add(sign_in)
    session.flush()
    refresh = _new_refresh_token(session, sign_in.id)
    session.commit()
    access, expires_in = issue_access_token(
        user_id=user.id, sign_in_id=sign_in.id, settings=settings
    )
    return Tokens(access, expires_in, refresh, sign_in.id)


def _new_refresh_token(session: Session, sign_in_id: uuid.UUID) -> str:
    token = new_token()
    session.add(RefreshToken(session_id=sign_in_id, token_hash=digest(token)))
    return token


# The rule lives in accounts/sign_in_rules.py, with the hot statements' SQL fragments.
sign_in_alive = sign_in_rules.sign_in_alive
_sign_in_alive = sign_in_rules.sign_in_alive


def refresh(session: Session, *, settings: Settings, token: str | None) -> Tokens:
    if not token or len(token) > 200:
        raise Unauthorized("Not signed in")
    row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == digest(token))).first()
    if row is None:
        raise Unauthorized("Not signed in")
    sign_in = session.get(SignIn, row.session_id)
    if not _sign_in_alive(sign_in):
        raise Unauthorized("Signed out")
    assert sign_in is not None
    now = utcnow()
    # Conditional update: of several tabs refreshing at once, one rotates the token...
    rotated = session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.id) == row.id, col(RefreshToken.rotated_at).is_(None))
        .values(rotated_at=now)
    )
    if rotated.rowcount != 1:
        session.refresh(row)
        grace = timedelta(seconds=settings.refresh_grace_seconds)
        if row.rotated_at is None or now - row.rotated_at > grace:
            # ...and a rotated token seen again later means it was stolen: end the family.
            end_sign_in(session, sign_in_id=sign_in.id)
            audit.record(
                session,
                action="session.reuse_detected",
                actor_id=sign_in.user_id,
                subject_user_id=sign_in.user_id,
            )
            session.commit()
            raise Unauthorized("Signed out")
        # Within the grace: the same successor as the first rotation gave (idempotent), never
        # a new branch of the family.
        new_refresh = _live_successor(session, token, settings)
        if new_refresh is None:
            raise Unauthorized("Signed out")
    else:
        new_refresh = successor(token, settings)
        session.add(RefreshToken(session_id=sign_in.id, token_hash=digest(new_refresh)))
    sign_in.last_used_at = now
    session.add(sign_in)
    session.commit()
    access, expires_in = issue_access_token(
        user_id=sign_in.user_id, sign_in_id=sign_in.id, settings=settings
    )
    return Tokens(access, expires_in, new_refresh, sign_in.id)


def successor(token: str, settings: Settings) -> str:
    """The token that replaces `token` on rotation: derived from it under the server's key, so
    a replay within the grace gets the very same successor, and only its hash is stored."""
    mac = hmac.new(settings.signing_key, b"refresh-successor:" + token.encode(), hashlib.sha256)
    return b64url(mac.digest())


def _live_successor(session: Session, token: str, settings: Settings) -> str | None:
    """Follow the chain of successors (a tab may have rotated twice meanwhile) to the one not
    yet rotated."""
    for _ in range(MAX_SUCCESSOR_HOPS):
        token = successor(token, settings)
        row = session.exec(
            select(RefreshToken).where(RefreshToken.token_hash == digest(token))
        ).first()
        if row is None:
            return None
        if row.rotated_at is None:
            return token
    return None


def logout(session: Session, *, user: User, sign_in_id: uuid.UUID, endpoint: str | None) -> None:
    end_sign_in(session, sign_in_id=sign_in_id)
    if endpoint:
        person_data.device_signed_out(session, user=user, endpoint=endpoint)
    session.commit()


def display_names(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(col(User.id).in_(user_ids)))
    return dict(rows.all())


def end_sign_in(session: Session, *, sign_in_id: uuid.UUID) -> None:
    session.execute(
        update(SignIn)
        .where(col(SignIn.id) == sign_in_id, col(SignIn.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def end_all_sign_ins(
    session: Session, *, user_id: uuid.UUID, except_id: uuid.UUID | None = None
) -> None:
    statement = update(SignIn).where(
        col(SignIn.user_id) == user_id, col(SignIn.revoked_at).is_(None)
    )
    if except_id is not None:
        statement = statement.where(col(SignIn.id) != except_id)
    session.execute(statement.values(revoked_at=utcnow()))


def user_for_access(session: Session, *, user_id: uuid.UUID, sign_in_id: uuid.UUID) -> User | None:
    """The user behind an access token, only while its sign-in is alive."""
    found = session.exec(
        select(User, SignIn)
        .join(SignIn, sign_in_rules.sign_in_of(User.id, sign_in_id))
        .where(User.id == user_id, sign_in_rules.LIVE_USER)
    ).first()
    if found is None or not _sign_in_alive(found[1]):
        return None
    return found[0]


def active_sign_ins(session: Session, user: User) -> list[SignIn]:
    rows = session.exec(
        select(SignIn)
        .where(SignIn.user_id == user.id, col(SignIn.revoked_at).is_(None))
        .order_by(col(SignIn.last_used_at).desc())
    )
    return [row for row in rows if _sign_in_alive(row)]


def sign_out_device(session: Session, *, user: User, sign_in_id: uuid.UUID) -> bool:
    result = session.exec(
        update(SignIn)
        .where(
            col(SignIn.id) == sign_in_id,
            col(SignIn.user_id) == user.id,
            col(SignIn.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


# --- passwords ----------------------------------------------------------------------------


def set_password(
    session: Session,
    *,
    user_id: uuid.UUID,
    password_hash: str,
    keep_sign_in_id: uuid.UUID | None,
    action: str,
    new_recovery_code: bool = False,
    while_code_hash: str | None = None,
) -> str | None:
    """Store a new password hash (made outside this transaction) and sign out every other
    device; with `new_recovery_code`, also replace the recovery code and return it. With
    `while_code_hash`, only while that is still the account's recovery code (two recoveries
    racing with one code: one wins); False when the race was lost. The caller commits."""
    code = new_code() if new_recovery_code else None
    statement = update(User).where(col(User.id) == user_id, col(User.deleted_at).is_(None))
    if while_code_hash is not None:
        statement = statement.where(col(User.recovery_code_hash) == while_code_hash)
    values: dict[str, Any] = {"password_hash": password_hash}
    if code is not None:
        values["recovery_code_hash"] = digest(code)
    if session.exec(statement.values(**values)).rowcount != 1:
        raise Invalid("That email and recovery code do not match")
    end_all_sign_ins(session, user_id=user_id, except_id=keep_sign_in_id)
    audit.record(session, action=action, actor_id=user_id, subject_user_id=user_id)
    return code


def renew_recovery_code(session: Session, *, user: User) -> str:
    code = new_code()
    session.execute(
        update(User).where(col(User.id) == user.id).values(recovery_code_hash=digest(code))
    )
    audit.record(
        session, action="account.recovery_code_renewed", actor_id=user.id, subject_user_id=user.id
    )
    return code


def reset_password(session: Session, *, settings: Settings, email: str, password: str) -> str:
    """The operator's reset from the CLI (the password exactly as given). Returns a new
    recovery code."""
    user = find_account(session, email)
    if user is None:
        raise Invalid("No account with that email")
    check_new_password(password, email=user.email, display_name=user.display_name)
    password_hash = hash_password(password, settings)
    code = set_password(
        session,
        user_id=user.id,
        password_hash=password_hash,
        keep_sign_in_id=None,
        action="account.password_reset_by_operator",
        new_recovery_code=True,
    )
    session.commit()
    assert code is not None
    return code


# --- profile, export, deletion ------------------------------------------------------------


def update_me(session: Session, *, user: User, data: UserUpdate) -> User:
    for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(user, field, value)
    session.add(user)
    session.commit()
    return user


def delete_account(session: Session, *, user: User) -> None:
    """Remove what the person wrote and who they were; keep a nameless tombstone row so the
    couple's plans and the other partner's history keep their shape."""
    # Every domain's part, the couples first (leaving closes what waited on the person)...
    person_data.erase(session, user=user)
    # ...then the data key, last: every domain's sealed texts were sealed under it.
    crypto.destroy_data_key(session, user_id=user.id)
    session.execute(
        update(SignIn).where(col(SignIn.user_id) == user.id).values(revoked_at=utcnow())
    )
    user.email = f"deleted-{user.id}@invalid"
    user.display_name = "Former member"
    user.password_hash = None
    user.recovery_code_hash = None
    user.sso_subject = None
    user.deleted_at = utcnow()
    session.add(user)
    audit.record(session, action="account.deleted", actor_id=user.id, subject_user_id=user.id)
    session.commit()
