"""Accounts: registration, sign-in sessions with rotating refresh tokens, recovery, deletion."""

import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem import audit, throttle
from tandem.accounts import devices
from tandem.accounts.models import (
    AuthSession,
    RefreshToken,
    RegisterBody,
    Role,
    User,
    UserUpdate,
)
from tandem.accounts.passwords import check_new_password
from tandem.config import Settings
from tandem.couples import service as couples
from tandem.db import utcnow
from tandem.errors import Conflict, Forbidden, Invalid, Unauthorized
from tandem.security import (
    digest,
    hash_password,
    issue_access_token,
    new_code,
    new_token,
    normalize_code,
    verify_password,
)

WRONG_LOGIN = "Incorrect email or password"


@dataclass
class SignIn:
    access_token: str
    expires_in: int
    refresh_token: str
    session_id: uuid.UUID


# --- registration -------------------------------------------------------------------------


def register(
    session: Session, *, settings: Settings, data: RegisterBody, address: str | None
) -> tuple[User, str]:
    check_new_password(data.password, email=data.email, display_name=data.display_name)
    has_code = bool(data.invitation_code)
    if not has_code and not settings.open_signup:
        raise Forbidden("Registration needs an invitation code on this server")
    if data.role == Role.therapist and not settings.allow_therapist_signup and not has_code:
        raise Forbidden("Therapist registration is closed on this server")
    keys = throttle.keys(settings, "register", account=None, address=address)
    throttle.check(session, keys)
    if has_code:
        # Checked before the email, so without a valid code nobody learns which emails exist.
        invitation = couples.find_usable_invitation(session, data.invitation_code or "")
        if invitation is None:
            invite_keys = couples.invitation_throttle_keys(settings, user=None, address=address)
            throttle.fail(session, keys + invite_keys)
            session.commit()
            raise Invalid("This invitation code is not valid, was already used or has expired")
        if invitation.role != data.role:
            raise Invalid(f"This invitation is for a {invitation.role} account")
    if session.exec(select(User.id).where(User.email == data.email)).first():
        throttle.fail(session, keys)
        session.commit()
        raise Conflict("An account with this email already exists")
    recovery_code = new_code()
    user = User(
        email=data.email,
        password_hash=hash_password(data.password, settings),
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
    if has_code:
        couples.accept_invitation(
            session,
            settings=settings,
            user=user,
            code=data.invitation_code or "",
            address=address,
            commit=False,
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
    relaxed = settings.model_copy(update={"open_signup": True, "allow_therapist_signup": True})
    return register(session, settings=relaxed, data=data, address=None)


# --- signing in ---------------------------------------------------------------------------


def login(
    session: Session,
    *,
    settings: Settings,
    email: str,
    password: str,
    address: str | None,
    device: str | None,
) -> SignIn:
    email = email.strip().lower()
    keys = throttle.keys(settings, "login", account=email, address=address)
    throttle.check(session, keys)
    user = session.exec(
        select(User).where(User.email == email, col(User.deleted_at).is_(None))
    ).first()
    # verify_password spends the same time on an unknown email as on a wrong password.
    if not verify_password(password, user.password_hash if user else None, settings) or not user:
        throttle.fail(session, keys)
        session.commit()
        raise Unauthorized(WRONG_LOGIN)
    throttle.clear(session, keys[:1])
    return start_session(session, settings=settings, user=user, device=device)


def start_session(
    session: Session, *, settings: Settings, user: User, device: str | None
) -> SignIn:
    now = utcnow()
    if user.role == Role.therapist:
        idle = timedelta(hours=settings.therapist_session_idle_hours)
        absolute = timedelta(days=settings.therapist_session_absolute_days)
    else:
        idle = timedelta(days=settings.session_idle_days)
        absolute = timedelta(days=settings.session_absolute_days)
    auth_session = AuthSession(
        user_id=user.id,
        expires_at=now + absolute,
        idle_seconds=int(idle.total_seconds()),
        device=devices.describe(device),
    )
    session.add(auth_session)
    session.flush()
    refresh = _new_refresh_token(session, auth_session.id)
    session.commit()
    access, expires_in = issue_access_token(
        user_id=user.id, session_id=auth_session.id, settings=settings
    )
    return SignIn(access, expires_in, refresh, auth_session.id)


def _new_refresh_token(session: Session, session_id: uuid.UUID) -> str:
    token = new_token()
    session.add(RefreshToken(session_id=session_id, token_hash=digest(token)))
    return token


def session_alive(auth_session: Any) -> bool:
    """Whether a sign-in session (a row with its revoked_at, last_used_at, idle_seconds and
    expires_at) is still good; plans/reads.py checks it on rows of its own."""
    return _session_alive(auth_session)


def _session_alive(auth_session: AuthSession | None) -> bool:
    if auth_session is None or auth_session.revoked_at is not None:
        return False
    now = utcnow()
    idle_limit = auth_session.last_used_at + timedelta(seconds=auth_session.idle_seconds)
    return now < auth_session.expires_at and now < idle_limit


def refresh(session: Session, *, settings: Settings, token: str | None) -> SignIn:
    if not token or len(token) > 200:
        raise Unauthorized("Not signed in")
    row = session.exec(select(RefreshToken).where(RefreshToken.token_hash == digest(token))).first()
    if row is None:
        raise Unauthorized("Not signed in")
    auth_session = session.get(AuthSession, row.session_id)
    if not _session_alive(auth_session):
        raise Unauthorized("Signed out")
    assert auth_session is not None
    now = utcnow()
    # Conditional update: of several tabs refreshing at once, one rotates the token...
    rotated = session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.id) == row.id, col(RefreshToken.rotated_at).is_(None))
        .values(rotated_at=now)
    )
    if rotated.rowcount != 1:
        session.refresh(row)
        grace = timedelta(seconds=settings.refresh_grace_seconds)
        if row.rotated_at is None or now - row.rotated_at > grace:
            # ...and a rotated token seen again later means it was stolen: end the family.
            revoke_session(session, auth_session_id=auth_session.id)
            audit.record(
                session,
                action="session.reuse_detected",
                actor_id=auth_session.user_id,
                subject_user_id=auth_session.user_id,
            )
            session.commit()
            raise Unauthorized("Signed out")
    auth_session.last_used_at = now
    session.add(auth_session)
    new_refresh = _new_refresh_token(session, auth_session.id)
    session.commit()
    access, expires_in = issue_access_token(
        user_id=auth_session.user_id, session_id=auth_session.id, settings=settings
    )
    return SignIn(access, expires_in, new_refresh, auth_session.id)


def logout(
    session: Session, *, user: User, auth_session_id: uuid.UUID, endpoint: str | None
) -> None:
    revoke_session(session, auth_session_id=auth_session_id)
    if endpoint:
        from tandem import content

        content.forget_device(session, user=user, endpoint=endpoint)
    session.commit()


def display_names(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(col(User.id).in_(user_ids)))
    return dict(rows.all())


def revoke_session(session: Session, *, auth_session_id: uuid.UUID) -> None:
    session.execute(
        update(AuthSession)
        .where(col(AuthSession.id) == auth_session_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_all_sessions(
    session: Session, *, user_id: uuid.UUID, except_id: uuid.UUID | None = None
) -> None:
    statement = update(AuthSession).where(
        col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None)
    )
    if except_id is not None:
        statement = statement.where(col(AuthSession.id) != except_id)
    session.execute(statement.values(revoked_at=utcnow()))


def user_for_access(session: Session, *, user_id: uuid.UUID, session_id: uuid.UUID) -> User | None:
    """The user behind an access token, only while its sign-in session is alive."""
    found = session.exec(
        select(User, AuthSession)
        .join(AuthSession, col(AuthSession.user_id) == User.id)
        .where(AuthSession.id == session_id, User.id == user_id, col(User.deleted_at).is_(None))
    ).first()
    if found is None or not _session_alive(found[1]):
        return None
    return found[0]


def active_sessions(session: Session, user: User) -> list[AuthSession]:
    rows = session.exec(
        select(AuthSession)
        .where(AuthSession.user_id == user.id, col(AuthSession.revoked_at).is_(None))
        .order_by(col(AuthSession.last_used_at).desc())
    )
    return [row for row in rows if _session_alive(row)]


def sign_out_device(session: Session, *, user: User, auth_session_id: uuid.UUID) -> bool:
    result = session.execute(
        update(AuthSession)
        .where(
            col(AuthSession.id) == auth_session_id,
            col(AuthSession.user_id) == user.id,
            col(AuthSession.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


# --- passwords ----------------------------------------------------------------------------


def change_password(
    session: Session,
    *,
    settings: Settings,
    user: User,
    current: str,
    new: str,
    session_id: uuid.UUID,
) -> None:
    if not verify_password(current, user.password_hash, settings):
        raise Invalid("The current password is not right")
    check_new_password(new, email=user.email, display_name=user.display_name)
    user.password_hash = hash_password(new, settings)
    session.add(user)
    revoke_all_sessions(session, user_id=user.id, except_id=session_id)
    audit.record(
        session, action="account.password_changed", actor_id=user.id, subject_user_id=user.id
    )
    session.commit()


def recover(
    session: Session,
    *,
    settings: Settings,
    email: str,
    code: str,
    new_password: str,
    address: str | None,
) -> str:
    email = email.strip().lower()
    keys = throttle.keys(settings, "recover", account=email, address=address)
    throttle.check(session, keys)
    user = session.exec(
        select(User).where(User.email == email, col(User.deleted_at).is_(None))
    ).first()
    expected = user.recovery_code_hash if user and user.recovery_code_hash else digest(new_token())
    if not hmac.compare_digest(expected, digest(normalize_code(code))) or user is None:
        throttle.fail(session, keys)
        session.commit()
        raise Invalid("That email and recovery code do not match")
    check_new_password(new_password, email=user.email, display_name=user.display_name)
    return _set_new_password(
        session, settings=settings, user=user, password=new_password, action="account.recovered"
    )


def reset_password(session: Session, *, settings: Settings, email: str, password: str) -> str:
    """The operator's reset from the CLI. Returns a new recovery code."""
    user = session.exec(
        select(User).where(User.email == email.strip().lower(), col(User.deleted_at).is_(None))
    ).first()
    if user is None:
        raise Invalid("No account with that email")
    check_new_password(password, email=user.email, display_name=user.display_name)
    return _set_new_password(
        session,
        settings=settings,
        user=user,
        password=password,
        action="account.password_reset_by_operator",
    )


def _set_new_password(
    session: Session, *, settings: Settings, user: User, password: str, action: str
) -> str:
    recovery_code = new_code()
    user.password_hash = hash_password(password, settings)
    user.recovery_code_hash = digest(recovery_code)
    session.add(user)
    revoke_all_sessions(session, user_id=user.id)
    audit.record(session, action=action, actor_id=user.id, subject_user_id=user.id)
    session.commit()
    return recovery_code


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
    from tandem import content  # every domain's per-user clean-up

    for membership in session.exec(
        select(couples.Membership).where(
            couples.Membership.user_id == user.id, col(couples.Membership.left_at).is_(None)
        )
    ):
        couples.end_membership(
            session, membership=membership, actor=user, action="membership.account_deleted"
        )
    content.delete_authored(session, user=user)
    session.execute(
        update(AuthSession).where(col(AuthSession.user_id) == user.id).values(revoked_at=utcnow())
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
