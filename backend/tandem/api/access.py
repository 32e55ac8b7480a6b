"""The one place where who-is-asking and membership are checked, on every request."""

import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from tandem.accounts import service as accounts
from tandem.accounts.models import Role, User
from tandem.core.config import Settings
from tandem.core.db import SessionDep
from tandem.core.errors import Forbidden, NotFound, Unauthorized
from tandem.core.schemas import parse_id
from tandem.core.security import AccessClaims, read_access_token
from tandem.couples import service as couples
from tandem.couples.models import Membership

bearer = HTTPBearer(auto_error=False)


# `async def` where no database is touched: a sync dependency costs a threadpool hop.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def access_claims(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    return read_access_token(credentials.credentials, settings)


AccessDep = Annotated[AccessClaims, Depends(access_claims)]


def current_user(session: SessionDep, claims: AccessDep) -> User:
    # The session is looked up on every request: logout and deletion bite at once.
    user = accounts.user_for_access(session, user_id=claims.user_id, sign_in_id=claims.sign_in_id)
    if user is None:
        raise Unauthorized("Signed out")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def current_user_unlocked(request: Request, claims: AccessDep) -> User:
    """The current user, read in a session closed at once: no connection, transaction or
    SQLite write turn (which a POST's session holds) stays open, for routes that check or hash
    a password and then write in a turn of their own (db.in_write_session)."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        user = accounts.user_for_access(
            session, user_id=claims.user_id, sign_in_id=claims.sign_in_id
        )
    if user is None:
        raise Unauthorized("Signed out")
    return user


CurrentUserUnlocked = Annotated[User, Depends(current_user_unlocked)]


def therapist(user: CurrentUser) -> User:
    if user.role != Role.therapist:
        raise Forbidden("Only a therapist can do this")
    return user


Therapist = Annotated[User, Depends(therapist)]


def couple_member(couple_id: str, user: CurrentUser, session: SessionDep) -> Membership:
    membership = couples.active_membership(session, user_id=user.id, couple_id=parse_id(couple_id))
    if membership is None:
        raise NotFound()
    return membership


CoupleMember = Annotated[Membership, Depends(couple_member)]


def couple_partner(membership: CoupleMember) -> Membership:
    if membership.role != Role.partner:
        raise Forbidden("Only the couple's partners can do this")
    return membership


def couple_therapist(membership: CoupleMember) -> Membership:
    if membership.role != Role.therapist:
        raise Forbidden("Only the couple's therapist can do this")
    return membership


CouplePartner = Annotated[Membership, Depends(couple_partner)]
CoupleTherapist = Annotated[Membership, Depends(couple_therapist)]


def client_address(request: Request, settings: SettingsDep) -> str | None:
    """The client's address; `X-Forwarded-For` only counts when a trusted proxy sent it."""
    peer = request.client.host if request.client else None
    trusted = settings.trusted_proxy_list
    if peer is None or peer not in trusted:
        return peer
    forwarded = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    # Walk from the nearest hop back; the first address not one of our proxies is the client.
    for hop in reversed([h for h in forwarded if h]):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


ClientAddress = Annotated[str | None, Depends(client_address)]
