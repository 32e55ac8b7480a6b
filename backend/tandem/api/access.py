"""The one place where who-is-asking and membership are checked, on every request: as FastAPI
dependencies (CurrentUser, CoupleMember, ...) for the routes, and on a plain connection
(`couple_access`) for the fast paths that skip the dependencies."""

import functools
import inspect
import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from tandem.accounts import service as accounts
from tandem.accounts.models import Role, SignIn, User
from tandem.core import loop_db
from tandem.core.config import Settings
from tandem.core.db import READ_SESSION, SessionDep, table_of
from tandem.core.errors import Forbidden, NotFound, Unauthorized
from tandem.core.prepared import Prepared, Steps
from tandem.core.schemas import parse_id
from tandem.core.security import AccessClaims, read_access_token
from tandem.couples import access_rules as rules
from tandem.couples import service as couples
from tandem.couples.models import Couple, Membership

bearer = HTTPBearer(auto_error=False)
F = TypeVar("F", bound=Callable[..., Any])


class OneHop(APIRoute):
    """Every router's route class: a sync route body runs in one threadpool hop, and only it;
    a `short_read` body of a GET, on a SQLite file, in none.

    FastAPI validates a sync route's answer against its response model in a second hop (it
    does so on the loop for an `async def` route); under load a hop costs more than the work
    (docs/BENCHMARKS.md). So a sync body is given to FastAPI as an `async def` that runs it in
    one hop: the same parameters (functools.wraps: FastAPI reads the signature, the return
    annotation and the globals of the wrapped function), the same answer, validated on the loop.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if inspect.isfunction(endpoint) and not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_one_hop(endpoint)
        super().__init__(path, endpoint, **kwargs)


def short_read(endpoint: F) -> F:
    """Marks a route body that only reads, in a few queries (no heavy or unbounded work: it
    would hold the event loop): on a SQLite file a GET runs it on the loop
    (core/loop_db.read_on_loop), without a hop."""
    _SHORT_READS.add(endpoint)
    return endpoint


_SHORT_READS: set[Callable[..., Any]] = set()


def _in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    short = endpoint in _SHORT_READS

    @functools.wraps(endpoint)
    async def in_one_hop(**kwargs: Any) -> Any:
        if short:
            session = next((v for v in kwargs.values() if isinstance(v, Session)), None)
            if session is not None and session.info.get(READ_SESSION):
                engine: Engine = session.info[READ_SESSION]
                return await loop_db.read_on_loop(engine, session, endpoint, **kwargs)
        return await run_in_threadpool(endpoint, **kwargs)

    return in_one_hop


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


# Who is asking and membership are `async def`: a sync dependency costs a threadpool hop each
# (0.7–1.7 ms under load, docs/BENCHMARKS.md), more than their queries. Their short reads run
# on the loop on a SQLite file, in one hop elsewhere (core/loop_db.lookup); the rules are the
# services' (accounts.user_for_access, couples.active_membership), the objects the session's.
async def current_user(request: Request, session: SessionDep, claims: AccessDep) -> User:
    # The session is looked up on every request: logout and deletion bite at once.
    engine: Engine = request.app.state.engine
    couple = None if loop_db.sqlite_file(engine) else _couple_wanted(request)
    if couple is not None:
        # Elsewhere than on the loop, the membership the route asks for next comes in the same
        # hop: a hop each cost more than both queries (couple_member takes it from the scope).
        user, membership = await run_in_threadpool(
            _user_and_membership,
            session,
            user_id=claims.user_id,
            sign_in_id=claims.sign_in_id,
            couple_id=couple,
        )
        request.scope[_MEMBERSHIP] = (couple, membership)
    else:
        user = await _signed_in_user(engine, session, claims)
    if user is None:
        raise Unauthorized("Signed out")
    return user


_MEMBERSHIP = "tandem.membership"  # (couple id, membership or None), read with the user


async def _signed_in_user(engine: Engine, session: Session, claims: AccessClaims) -> User | None:
    """The caller's user while their sign-in lives (core/loop_db.lookup: on the loop on SQLite)."""
    return await loop_db.lookup(
        engine,
        session,
        accounts.user_for_access,
        user_id=claims.user_id,
        sign_in_id=claims.sign_in_id,
    )


def _user_and_membership(
    session: Session, *, user_id: uuid.UUID, sign_in_id: uuid.UUID, couple_id: uuid.UUID
) -> tuple[User | None, Membership | None]:
    user = accounts.user_for_access(session, user_id=user_id, sign_in_id=sign_in_id)
    if user is None:
        return None, None
    return user, couples.active_membership(session, user_id=user.id, couple_id=couple_id)


def _couple_wanted(request: Request) -> uuid.UUID | None:
    """The couple whose membership the route checks next (CoupleMember), if its id is one."""
    route = request.scope.get("route")
    wanted = getattr(route, "_tandem_checks_membership", None)
    if wanted is None and isinstance(route, APIRoute):
        wanted = couple_member in _calls(route.dependant)
        route._tandem_checks_membership = wanted  # type: ignore[attr-defined]  # kept on its route
    if not wanted or "couple_id" not in request.path_params:
        return None
    try:
        return parse_id(request.path_params["couple_id"])
    except NotFound:
        return None  # couple_member answers it, once the caller is known to be signed in


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            found.add(sub.call)
        found |= _calls(sub)
    return found


CurrentUser = Annotated[User, Depends(current_user)]


def _user_unlocked(engine: Engine, claims: AccessClaims) -> User | None:
    with Session(engine, expire_on_commit=False) as session:
        return accounts.user_for_access(
            session, user_id=claims.user_id, sign_in_id=claims.sign_in_id
        )


async def current_user_unlocked(request: Request, claims: AccessDep) -> User:
    """The current user, read in a session closed at once: no connection, transaction or
    SQLite write turn (which a POST's session holds) stays open, for routes that check or hash
    a password and then write in a turn of their own (db.in_write_session)."""
    engine: Engine = request.app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        # On a SQLite file the read runs on the loop and this session never connects;
        # elsewhere the user is read in one hop in a session of its own, closed there.
        if loop_db.sqlite_file(engine) is not None:
            user = await _signed_in_user(engine, session, claims)
        else:
            user = await run_in_threadpool(_user_unlocked, engine, claims)
    if user is None:
        raise Unauthorized("Signed out")
    return user


CurrentUserUnlocked = Annotated[User, Depends(current_user_unlocked)]


async def therapist(user: CurrentUser) -> User:
    if user.role != Role.therapist:
        raise Forbidden("Only a therapist can do this")
    return user


Therapist = Annotated[User, Depends(therapist)]


async def couple_member(
    request: Request, couple_id: str, user: CurrentUser, session: SessionDep
) -> Membership:
    couple = parse_id(couple_id)
    read = request.scope.get(_MEMBERSHIP)
    membership: Membership | None
    if read is not None and read[0] == couple:
        membership = read[1]
    else:
        membership = await loop_db.lookup(
            request.app.state.engine,
            session,
            couples.active_membership,
            user_id=user.id,
            couple_id=couple,
        )
    if membership is None:
        raise NotFound()
    return membership


CoupleMember = Annotated[Membership, Depends(couple_member)]


async def couple_partner(membership: CoupleMember) -> Membership:
    if membership.role != Role.partner:
        raise Forbidden("Only the couple's partners can do this")
    return membership


async def couple_therapist(membership: CoupleMember) -> Membership:
    if membership.role != Role.therapist:
        raise Forbidden("Only the couple's therapist can do this")
    return membership


CouplePartner = Annotated[Membership, Depends(couple_partner)]
CoupleTherapist = Annotated[Membership, Depends(couple_therapist)]


async def client_address(request: Request, settings: SettingsDep) -> str | None:
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
# Its pieces: a hot read may embed them in its own statement (api/plan_read.py).
ACCESS_COLUMNS = (
    *rules.SIGN_IN_COLUMNS,
    col(Membership.user_id),
    col(Membership.role),
    col(Membership.joined_at),
    col(Couple.timezone),
)
ACCESS_FROM = (
    table_of(SignIn)
    .join(table_of(User), and_(col(User.id) == SignIn.user_id, rules.LIVE_USER))
    .outerjoin(table_of(Membership), rules.active_members(bindparam("couple_id")))
    .outerjoin(table_of(Couple), col(Couple.id) == Membership.couple_id)
)
ACCESS_WHERE = and_(rules.sign_in_of(User.id), col(User.id) == bindparam("user_id"))
ACCESS_ORDER = col(Membership.joined_at)  # partner_ids gives the partners in this order
COUPLE_ACCESS = Prepared(
    select(*ACCESS_COLUMNS).select_from(ACCESS_FROM).where(ACCESS_WHERE).order_by(ACCESS_ORDER)
)


@dataclass(frozen=True)
class CoupleAccess:
    couple_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    joined_at: datetime
    timezone: str  # the couple's
    partner_ids: list[uuid.UUID]  # the active partners, by the time they joined


def couple_of(couple_id: str) -> uuid.UUID | None:
    """The couple id of a path, None when malformed (404, once the caller is known to be
    signed in)."""
    try:
        return uuid.UUID(couple_id)
    except ValueError:
        return None


def access_params(claims: AccessClaims, couple: uuid.UUID | None) -> dict[str, Any]:
    return {"sign_in_id": claims.sign_in_id, "user_id": claims.user_id, "couple_id": couple}


def couple_access(claims: AccessClaims, couple_id: str) -> Steps[CoupleAccess]:
    """What CurrentUser and CoupleMember check (core/prepared.py's steps: one statement)."""
    couple = couple_of(couple_id)
    rows = yield COUPLE_ACCESS, access_params(claims, couple)
    return access_from_rows(rows, claims, couple)


def access_from_rows(
    rows: list[Any], claims: AccessClaims, couple: uuid.UUID | None
) -> CoupleAccess:
    """401 when signed out, then 404 when `couple` is malformed (None) or not a couple the
    caller belongs to now. `rows`: ACCESS_COLUMNS, in ACCESS_ORDER (a member's row may come
    more than once)."""
    rules.require_signed_in(rows[0] if rows else None)
    me = rules.own_membership(rows, claims.user_id, "user_id")
    if couple is None or me is None:
        raise NotFound()
    return CoupleAccess(
        couple_id=couple,
        user_id=me.user_id,
        role=me.role,
        joined_at=me.joined_at,
        timezone=me.timezone,
        partner_ids=rules.partner_ids(rows, "user_id"),
    )
