"""Every use case that checks or sets a password: sign-up, sign-in, recovery, a password
change, and re-authentication before what cannot be undone.

Hashing a password (argon2id) is the slowest thing a request does. It never runs inside a
write transaction, nor in SQLite's write turn that a request holds from its first write to
its commit (db.get_session): each use case counts its attempt in a short write of its own
(throttle.attempt, committed at once, so the count holds under concurrency), checks or hashes
with no transaction open, then writes the outcome in another short write.
"""

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tandem.accounts import service
from tandem.accounts.models import RegisterBody, SignIn, User
from tandem.accounts.passwords import check_new_password
from tandem.core import throttle
from tandem.core.config import Settings
from tandem.core.db import in_write_session, utcnow
from tandem.core.errors import Conflict, Forbidden, Invalid, Unauthorized
from tandem.core.security import digest, hash_password, new_token, normalize_code, verify_password

REAUTH_WINDOW = timedelta(minutes=5)
WRONG_PASSWORD = "That password is not right."
NEED_PASSWORD = "Enter your password to confirm."
SIGN_IN_AGAIN = (
    "For your safety, sign in again first: this needs a sign-in from the last 5 minutes."
)
WRONG_CODE = "That email and recovery code do not match"
NO_PASSWORD = "This account signs in through your practice: it has no password to recover."


def _counted(session: Session, *, keys: list[throttle.Key]) -> None:
    throttle.attempt(session, keys)
    session.commit()


# --- sign-up ------------------------------------------------------------------------------


async def register(
    engine: Engine, *, settings: Settings, data: RegisterBody, address: str | None
) -> tuple[User, str]:
    service.check_signup_allowed(settings, data)
    await run_in_threadpool(
        check_new_password, data.password, email=data.email, display_name=data.display_name
    )
    # Every sign-up counts for its address, before any hashing is spent on it.
    keys = throttle.keys(settings, "register", account=None, address=address)
    await in_write_session(engine, _counted, keys=keys)
    password_hash = await run_in_threadpool(hash_password, data.password, settings)
    return await in_write_session(
        engine,
        service.create_account,
        settings=settings,
        data=data,
        password_hash=password_hash,
        address=address,
    )


# --- sign-in ------------------------------------------------------------------------------


async def login(
    engine: Engine,
    *,
    settings: Settings,
    email: str,
    password: str,
    address: str | None,
    device: str | None,
) -> service.Tokens:
    keys = throttle.keys(settings, "login", account=email, address=address)
    user = await in_write_session(engine, _count_and_find, keys=keys, email=email)
    # verify_password spends the same time on an unknown email as on a wrong password.
    right = await run_in_threadpool(
        verify_password, password, user.password_hash if user else None, settings
    )
    if not right or user is None:
        raise Unauthorized(service.WRONG_LOGIN)
    return await in_write_session(
        engine, _sign_in, settings=settings, user=user, keys=keys, device=device
    )


def _count_and_find(session: Session, *, keys: list[throttle.Key], email: str) -> User | None:
    _counted(session, keys=keys)
    return service.find_account(session, email)


def _sign_in(
    session: Session,
    *,
    settings: Settings,
    user: User,
    keys: list[throttle.Key],
    device: str | None,
) -> service.Tokens:
    throttle.succeeded(session, keys)
    return service.start_sign_in(session, settings=settings, user=user, device=device)


# --- recovery -----------------------------------------------------------------------------


@dataclass
class _Recovering:
    user_id: uuid.UUID
    email: str
    display_name: str
    code_hash: str


async def recover(
    engine: Engine,
    *,
    settings: Settings,
    email: str,
    code: str,
    new_password: str,
    address: str | None,
) -> str:
    keys = throttle.keys(settings, "recover", account=email, address=address)
    found = await in_write_session(engine, _count_and_match, keys=keys, email=email, code=code)
    if found is None:
        raise Invalid(WRONG_CODE)
    await run_in_threadpool(
        check_new_password, new_password, email=found.email, display_name=found.display_name
    )
    password_hash = await run_in_threadpool(hash_password, new_password, settings)
    return await in_write_session(
        engine, _recovered, found=found, password_hash=password_hash, keys=keys
    )


def _count_and_match(
    session: Session, *, keys: list[throttle.Key], email: str, code: str
) -> _Recovering | None:
    _counted(session, keys=keys)
    user = service.find_account(session, email)
    # A random hash for an unknown email: the comparison costs the same either way.
    expected = user.recovery_code_hash if user and user.recovery_code_hash else digest(new_token())
    if not hmac.compare_digest(expected, digest(normalize_code(code))) or user is None:
        return None
    return _Recovering(user.id, user.email, user.display_name, expected)


def _recovered(
    session: Session, *, found: _Recovering, password_hash: str, keys: list[throttle.Key]
) -> str:
    code = service.set_password(
        session,
        user_id=found.user_id,
        password_hash=password_hash,
        keep_sign_in_id=None,
        action="account.recovered",
        new_recovery_code=True,
        while_code_hash=found.code_hash,
    )
    throttle.succeeded(session, keys)
    session.commit()
    assert code is not None
    return code


# --- signed in: re-authentication and what needs it ---------------------------------------


async def reauthenticate(
    engine: Engine,
    *,
    settings: Settings,
    user: User,
    sign_in_id: uuid.UUID,
    password: str | None,
    address: str | None,
) -> list[throttle.Key]:
    """Before what cannot be undone, or what gives an account away: the password again,
    throttled like sign-in (a stolen access token must not become a free password oracle).
    An account without a password (single sign-on) needs a sign-in from the last 5 minutes.
    Returns the throttle keys, for the caller's write to mark the success."""
    if user.password_hash is None:
        started = await run_in_threadpool(_sign_in_started, engine, sign_in_id)
        if started is None or utcnow() - started > REAUTH_WINDOW:
            raise Forbidden(SIGN_IN_AGAIN)
        return []
    if not password:
        raise Invalid(NEED_PASSWORD)
    keys = throttle.keys(settings, "reauth", account=str(user.id), address=address)
    await in_write_session(engine, _counted, keys=keys)
    if not await run_in_threadpool(verify_password, password, user.password_hash, settings):
        raise Invalid(WRONG_PASSWORD)
    return keys


def _sign_in_started(engine: Engine, sign_in_id: uuid.UUID) -> datetime | None:
    with Session(engine) as session:
        sign_in = session.get(SignIn, sign_in_id)
        return sign_in.created_at if sign_in else None


async def change_password(
    engine: Engine,
    *,
    settings: Settings,
    user: User,
    current: str,
    new: str,
    sign_in_id: uuid.UUID,
    address: str | None,
) -> None:
    keys = await reauthenticate(
        engine,
        settings=settings,
        user=user,
        sign_in_id=sign_in_id,
        password=current,
        address=address,
    )
    await run_in_threadpool(
        check_new_password, new, email=user.email, display_name=user.display_name
    )
    password_hash = await run_in_threadpool(hash_password, new, settings)
    await in_write_session(
        engine,
        _password_changed,
        user_id=user.id,
        password_hash=password_hash,
        sign_in_id=sign_in_id,
        keys=keys,
    )


def _password_changed(
    session: Session,
    *,
    user_id: uuid.UUID,
    password_hash: str,
    sign_in_id: uuid.UUID,
    keys: list[throttle.Key],
) -> None:
    service.set_password(
        session,
        user_id=user_id,
        password_hash=password_hash,
        keep_sign_in_id=sign_in_id,
        action="account.password_changed",
    )
    throttle.succeeded(session, keys)
    session.commit()


async def delete_account(
    engine: Engine,
    *,
    settings: Settings,
    user: User,
    sign_in_id: uuid.UUID,
    password: str | None,
    address: str | None,
) -> None:
    keys = await reauthenticate(
        engine,
        settings=settings,
        user=user,
        sign_in_id=sign_in_id,
        password=password,
        address=address,
    )
    await in_write_session(engine, _deleted, user_id=user.id, keys=keys)


def _deleted(session: Session, *, user_id: uuid.UUID, keys: list[throttle.Key]) -> None:
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise Unauthorized("Signed out")
    throttle.succeeded(session, keys)
    service.delete_account(session, user=user)  # commits


async def renew_recovery_code(
    engine: Engine,
    *,
    settings: Settings,
    user: User,
    sign_in_id: uuid.UUID,
    password: str | None,
    address: str | None,
) -> str:
    if user.password_hash is None:
        raise Conflict(NO_PASSWORD)
    keys = await reauthenticate(
        engine,
        settings=settings,
        user=user,
        sign_in_id=sign_in_id,
        password=password,
        address=address,
    )
    return await in_write_session(engine, _renewed, user=user, keys=keys)


def _renewed(session: Session, *, user: User, keys: list[throttle.Key]) -> str:
    code = service.renew_recovery_code(session, user=user)
    throttle.succeeded(session, keys)
    session.commit()
    return code
