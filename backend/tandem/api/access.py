"""The one place where who-is-asking and membership are checked, on every request: as FastAPI
dependencies (CurrentUser, CoupleMember, ...) for the routes, and on a plain connection
(`couple_access`) for the fast paths that skip the dependencies."""

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from tandem.accounts import service as accounts
from tandem.accounts.models import Role, SignIn, User
from tandem.core.config import Settings
from tandem.core.db import SessionDep
from tandem.core.errors import Forbidden, NotFound, Unauthorized
from tandem.core.prepared import Prepared
from tandem.core.schemas import parse_id
from tandem.core.security import AccessClaims, read_access_token
from tandem.couples import access_rules as rules
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership

bearer = HTTPBearer(auto_error=False)


# `async def` where no database is touched: a sync dependency costs a threadpool hop.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


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


# --- the same checks on a plain connection, for the fast paths -------------------------------
# A fast path answers from one connection in one threadpool hop, without dependencies; it asks
# here, so who-is-asking and membership keep one home (tests/test_plan_reads.py holds the plan
# read's answers to the dependencies').

# Built once and run on the driver's cursor (core/prepared.py): constructing and executing a
# statement through SQLAlchemy costs more CPU than SQLite takes to run it. The sign-in (as
# current_user) and the couple's active members with its time zone (as couple_member), in one
# query: no row means signed out. SQLAlchemy's select: SQLModel's is typed for four columns.
COUPLE_ACCESS = Prepared(
    select(
        *rules.SIGN_IN_COLUMNS,
        col(Membership.user_id),
        col(Membership.role),
        col(Membership.joined_at),
        col(Couple.timezone),
    )
    .select_from(SignIn)
    .join(User, and_(col(User.id) == SignIn.user_id, rules.LIVE_USER))
    .outerjoin(Membership, rules.active_members(bindparam("couple_id")))
    .outerjoin(Couple, col(Couple.id) == Membership.couple_id)
    .where(rules.sign_in_of(User.id), col(User.id) == bindparam("user_id"))
    .order_by(col(Membership.joined_at))
)


@dataclass(frozen=True)
class CoupleAccess:
    couple_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    joined_at: datetime
    timezone: str  # the couple's
    partner_ids: list[uuid.UUID]  # the active partners, by the time they joined


def couple_access(connection: Connection, *, claims: AccessClaims, couple_id: str) -> CoupleAccess:
    """What CurrentUser and CoupleMember check: 401 when signed out, then 404 when `couple_id`
    is malformed or not a couple the caller belongs to now."""
    try:
        couple: uuid.UUID | None = uuid.UUID(couple_id)
    except ValueError:
        couple = None  # 404, once the caller is known to be signed in
    rows = COUPLE_ACCESS.rows(
        connection,
        {"sign_in_id": claims.sign_in_id, "user_id": claims.user_id, "couple_id": couple},
    )
    rules.require_signed_in(rows[0] if rows else None)
    me = rules.own_membership(rows, claims.user_id, "user_id")
    if couple is None or me is None:
        raise NotFound()
    return CoupleAccess(
        couple_id=couple,
        user_id=me.user_id,
        role=me.role,
        joined_at=me.joined_at,
        timezone=rows[0].timezone,
        partner_ids=rules.partner_ids(rows, "user_id"),
    )
