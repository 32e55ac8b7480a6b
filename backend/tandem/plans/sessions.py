"""Session logs: a partner says an item was done; a joint one waits for the other partner.

Every state change is a conditional UPDATE (`... WHERE status = 'awaiting_partner'`) whose
row count says who won, and every client_id is claimed by a unique key (`INSERT ... ON
CONFLICT DO NOTHING`, then read back): two requests racing (confirm against withdraw, two
confirms, a replay arriving twice) end in one state on both databases, without reading and
then writing.

Logging is the busiest write (docs/BENCHMARKS.md, "Load"), so it follows plans/reads.py:
statements built once, run as Core on one connection in one threadpool hop. One query reads the
sign-in session, the item, its plan, the couple's active members, the item's explicit assignees
and an earlier request with this client_id; the common case then writes the log and its claim
(one statement on PostgreSQL, two on SQLite) and commits. Answers to a log (confirm,
dispute, withdraw) live in plans/answers.py.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from tandem.accounts import service as accounts
from tandem.accounts.models import AuthSession, Role, User
from tandem.core.db import utcnow
from tandem.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from tandem.core.security import AccessClaims
from tandem.couples.models import Membership
from tandem.exercises.models import Mode
from tandem.plans import progress
from tandem.plans.models import (
    LogStatus,
    PlanItem,
    PlanItemAssignee,
    PlanStatus,
    SessionLog,
    SessionLogCreate,
    SessionLogRead,
    SessionLogRequest,
    WeeklyPlan,
)
from tandem.reminders import notices


@dataclass
class Logged:
    log: SessionLogRead
    created: bool


LOGS = SessionLog.__table__  # type: ignore[attr-defined]
REQUESTS = SessionLogRequest.__table__  # type: ignore[attr-defined]
_LOG_COLUMNS = (
    SessionLog.id,
    SessionLog.plan_item_id,
    SessionLog.logged_by,
    SessionLog.done_on,
    SessionLog.status,
    SessionLog.confirmed_by,
    SessionLog.disputed_by,
    SessionLog.client_id,
    SessionLog.created_at,
    SessionLog.withdrawn_reason,
)

# Built once: constructing a statement costs more CPU than SQLite takes to run it.
# 1. Everything the checks need, in one query: the sign-in session (as deps.current_user; absent
#    when no session_id is given), the item and its plan, the plan's couple's active members
#    (the caller's role, the partners), the item's explicit assignees, and the log an earlier
#    request of this user with this client_id produced (a replay). One row per member and
#    explicit assignee; no row means the user is unknown or deleted.
_CONTEXT = (
    core_select(
        AuthSession.revoked_at,
        AuthSession.last_used_at,
        AuthSession.idle_seconds,
        AuthSession.expires_at,
        User.timezone,
        PlanItem.mode,
        PlanItem.archived_at,
        WeeklyPlan.couple_id,
        WeeklyPlan.status.label("plan_status"),
        WeeklyPlan.week_start,
        Membership.user_id.label("member_id"),
        Membership.role,
        PlanItemAssignee.user_id.label("assignee_id"),
        *(c.label(f"replay_{c.key}") for c in _LOG_COLUMNS),
    )
    .select_from(User)
    .outerjoin(
        AuthSession,
        and_(
            AuthSession.id == bindparam("session_id"),
            col(AuthSession.user_id) == User.id,
        ),
    )
    .outerjoin(PlanItem, PlanItem.id == bindparam("item_id"))
    .outerjoin(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
    .outerjoin(
        Membership,
        and_(
            col(Membership.couple_id) == WeeklyPlan.couple_id,
            col(Membership.left_at).is_(None),
        ),
    )
    .outerjoin(PlanItemAssignee, col(PlanItemAssignee.plan_item_id) == PlanItem.id)
    .outerjoin(
        SessionLogRequest,
        and_(
            col(SessionLogRequest.user_id) == User.id,
            SessionLogRequest.client_id == bindparam("client_id"),
        ),
    )
    .outerjoin(SessionLog, col(SessionLog.id) == SessionLogRequest.session_log_id)
    .where(User.id == bindparam("user_id"), col(User.deleted_at).is_(None))
    .order_by(col(Membership.joined_at))
)
# 2. A replay found after a lost race (the winner has committed by then).
_REPLAYED = (
    core_select(*_LOG_COLUMNS)
    .join(SessionLogRequest, col(SessionLogRequest.session_log_id) == SessionLog.id)
    .where(
        SessionLogRequest.user_id == bindparam("user_id"),
        SessionLogRequest.client_id == bindparam("client_id"),
    )
)
# 3. The joint case: the other partner's logs of this item and day that wait for this one.
_WAITING = (
    core_select(SessionLog.id)
    .where(
        SessionLog.plan_item_id == bindparam("item_id"),
        SessionLog.done_on == bindparam("done_on"),
        SessionLog.status == LogStatus.awaiting_partner,
        SessionLog.logged_by != bindparam("user_id"),
    )
    .order_by(col(SessionLog.created_at), col(SessionLog.id))
)
_CONFIRM = (
    update(SessionLog)
    .where(
        col(SessionLog.id) == bindparam("log_id"),
        SessionLog.status == LogStatus.awaiting_partner,
    )
    .values(
        status=LogStatus.done,
        confirmed_by=bindparam("confirmed_by"),
        updated_at=bindparam("now"),
    )
)
_LOG_BY_ID = core_select(*_LOG_COLUMNS).where(SessionLog.id == bindparam("log_id"))
# 4. The claims: a client_id already taken leaves the row as it is and returns no row (the
#    row count of an ignored insert is not reliable across drivers).
_INSERT_REQUEST = {
    name: dialect.insert(REQUESTS)
    .values(
        user_id=bindparam("user_id"),
        client_id=bindparam("client_id"),
        session_log_id=bindparam("id"),
        created_at=bindparam("created_at"),
    )
    .on_conflict_do_nothing(index_elements=["user_id", "client_id"])
    .returning(REQUESTS.c.user_id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_NEW_LOG = {c.key: bindparam(c.key) for c in _LOG_COLUMNS} | {"updated_at": bindparam("created_at")}
_INSERT_LOG = (
    sqlite.insert(LOGS)
    .values(_NEW_LOG)
    .on_conflict_do_nothing(index_elements=["logged_by", "client_id"])
    .returning(LOGS.c.id)
)
# PostgreSQL writes the log and claims its client_id in one statement (one round trip):
# the request row is inserted only when the log was, and returns nothing when either the
# log's (logged_by, client_id) or the request's (user_id, client_id) was taken.
_NEW_LOG_CTE = (
    postgresql.insert(LOGS)
    .values(_NEW_LOG)
    .on_conflict_do_nothing(index_elements=["logged_by", "client_id"])
    .returning(LOGS.c.id, LOGS.c.logged_by, LOGS.c.client_id, LOGS.c.created_at)
    .cte("new_log")
)
_INSERT_LOG_AND_REQUEST = (
    postgresql.insert(REQUESTS)
    .from_select(
        ["user_id", "client_id", "session_log_id", "created_at"],
        core_select(
            _NEW_LOG_CTE.c.logged_by,
            _NEW_LOG_CTE.c.client_id,
            _NEW_LOG_CTE.c.id,
            _NEW_LOG_CTE.c.created_at,
        ),
    )
    .on_conflict_do_nothing(index_elements=["user_id", "client_id"])
    .returning(REQUESTS.c.user_id)
)


def _read(row: Any, prefix: str = "") -> SessionLogRead:
    """A log row (columns as in _LOG_COLUMNS, maybe prefixed) as the API answers it."""
    return SessionLogRead(
        id=getattr(row, prefix + "id"),
        plan_item_id=getattr(row, prefix + "plan_item_id"),
        logged_by=getattr(row, prefix + "logged_by"),
        done_on=getattr(row, prefix + "done_on"),
        status=getattr(row, prefix + "status"),
        confirmed_by=getattr(row, prefix + "confirmed_by"),
        disputed_by=getattr(row, prefix + "disputed_by"),
        client_id=getattr(row, prefix + "client_id"),
        created_at=getattr(row, prefix + "created_at"),
        withdrawn_reason=getattr(row, prefix + "withdrawn_reason"),
    )


class _Tx:
    """The transaction a log is written in: a plain connection's (the route: no ORM session
    to pay for), or the caller's ORM session's (the demo's seeding)."""

    def __init__(self, connection: Connection, caller: Session | None = None) -> None:
        self.connection = connection
        self.caller = caller
        self.joined: Session | None = None

    def session(self) -> Session:
        """For tandem.events, which write through a session: the caller's, or one joined to
        this connection's transaction (it commits nothing itself)."""
        if self.caller is not None:
            return self.caller
        if self.joined is None:
            self.joined = Session(bind=self.connection)
        return self.joined

    def commit(self) -> None:
        if self.caller is not None:
            self.caller.commit()
            return
        if self.joined is not None:
            self.joined.flush()
        self.connection.commit()
        self._close_joined()

    def rollback(self) -> None:
        if self.caller is not None:
            self.caller.rollback()
            return
        self.connection.rollback()
        self._close_joined()

    def _close_joined(self) -> None:
        if self.joined is not None:
            self.joined.close()
            self.joined = None


def _replay_answer(log: SessionLogRead, item_id: uuid.UUID) -> Logged:
    if log.plan_item_id != item_id:
        raise Conflict("This client_id was already used for another session")
    return Logged(log, created=False)


def log_session_json(
    connection: Connection, *, claims: AccessClaims, item_id: str, data: SessionLogCreate
) -> tuple[int, bytes]:
    """The route's whole use case, authentication included: (status code, JSON body).
    201: a new log; 200: a replay of this client_id, or a confirmation of the partner's
    waiting log."""
    try:
        item: uuid.UUID | None = uuid.UUID(item_id)
    except ValueError:
        item = None  # 404, once the caller is known to be signed in
    logged = _log(
        _Tx(connection),
        user_id=claims.user_id,
        session_id=claims.session_id,
        item_id=item,
        data=data,
    )
    return (201 if logged.created else 200), logged.log.model_dump_json().encode()


def log_session(
    session: Session, *, user: User, item_id: uuid.UUID, data: SessionLogCreate
) -> Logged:
    """Log a session as `user` (already authenticated: the demo's seeding)."""
    session.flush()  # Core statements below do not autoflush
    return _log(
        _Tx(session.connection(), session),
        user_id=user.id,
        session_id=None,
        item_id=item_id,
        data=data,
    )


def _log(
    tx: _Tx,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None,
    item_id: uuid.UUID | None,
    data: SessionLogCreate,
) -> Logged:
    connection = tx.connection
    rows = connection.execute(
        _CONTEXT,
        {
            "user_id": user_id,
            "session_id": session_id,
            "item_id": item_id,
            "client_id": data.client_id,
        },
    ).all()
    if session_id is not None and (
        not rows or rows[0].expires_at is None or not accounts.session_alive(rows[0])
    ):
        raise Unauthorized("Signed out")
    if not rows or item_id is None or rows[0].mode is None:
        raise NotFound()
    first = rows[0]
    role = next((r.role for r in rows if r.member_id == user_id), None)
    if role is None:
        raise NotFound()
    if role != Role.partner:
        raise Forbidden("Only the couple's partners log sessions")
    if first.plan_status != PlanStatus.published or first.archived_at is not None:
        raise NotFound()
    partners = list(dict.fromkeys(r.member_id for r in rows if r.role == Role.partner))
    mode = Mode(first.mode)
    if mode == Mode.joint:
        assignees = partners
    else:
        explicit = {r.assignee_id for r in rows if r.assignee_id is not None}
        assignees = list(explicit) or partners
    if user_id not in assignees:
        raise Forbidden("This exercise is assigned to your partner")

    # Replays first: a queued request may arrive after its week is over.
    if first.replay_id is not None:
        return _replay_answer(_read(first, "replay_"), item_id)

    today = progress.local_today(first.timezone)
    done_on = data.done_on or today
    if done_on > today:
        raise Invalid("done_on is in the future")
    week_end = first.week_start + timedelta(days=6)
    if not first.week_start <= done_on <= week_end:
        raise Invalid(
            f"done_on must fall within the plan's week ({first.week_start} to {week_end})"
        )

    if mode == Mode.joint and len(partners) < 2:
        # Nobody could ever confirm it: it would wait forever.
        raise Conflict(
            "This exercise is for the two of you, and you are the only partner in your couple now"
        )

    now = utcnow()
    if mode == Mode.joint:
        confirmed = _confirm_waiting(
            connection, user_id=user_id, item_id=item_id, done_on=done_on, now=now
        )
        if confirmed is not None:
            claimed = _claim_request(
                connection, user_id=user_id, client_id=data.client_id, log_id=confirmed.id, now=now
            )
            if not claimed:
                return _lost_race(tx, user_id=user_id, client_id=data.client_id, item_id=item_id)
            return _finish(
                tx,
                user_id=user_id,
                log=confirmed,
                couple_id=first.couple_id,
                partners=partners,
                confirmed=True,
            )

    log = SessionLogRead(
        id=uuid.uuid4(),
        plan_item_id=item_id,
        logged_by=user_id,
        done_on=done_on,
        status=LogStatus.awaiting_partner if mode == Mode.joint else LogStatus.done,
        confirmed_by=None,
        disputed_by=None,
        client_id=data.client_id,
        created_at=now,
        withdrawn_reason=None,
    )
    if not _insert_new(connection, log):  # this client_id won a race a moment ago
        return _lost_race(tx, user_id=user_id, client_id=data.client_id, item_id=item_id)
    return _finish(
        tx,
        user_id=user_id,
        log=log,
        couple_id=first.couple_id,
        partners=partners,
        confirmed=False,
    )


def _confirm_waiting(
    connection: Connection, *, user_id: uuid.UUID, item_id: uuid.UUID, done_on: date, now: Any
) -> SessionLogRead | None:
    """The other partner logged this joint item for this day and waits: logging it too
    confirms their log. Returns the log confirmed, if any."""
    waiting = connection.execute(
        _WAITING, {"item_id": item_id, "done_on": done_on, "user_id": user_id}
    ).scalars()
    for log_id in list(waiting):
        result = connection.execute(
            _CONFIRM, {"log_id": log_id, "confirmed_by": user_id, "now": now}
        )
        if result.rowcount == 1:
            return _read(connection.execute(_LOG_BY_ID, {"log_id": log_id}).one())
    return None


def _lost_race(tx: _Tx, *, user_id: uuid.UUID, client_id: uuid.UUID, item_id: uuid.UUID) -> Logged:
    """The same client_id was claimed by a request committed a moment ago: undo everything
    and answer what that request did."""
    tx.rollback()
    row = tx.connection.execute(_REPLAYED, {"user_id": user_id, "client_id": client_id}).first()
    if row is None:  # pragma: no cover - the conflicting row was committed
        raise Conflict("This session changed at the same moment; try again")
    return _replay_answer(_read(row), item_id)


def _insert_new(connection: Connection, log: SessionLogRead) -> bool:
    """Write a new log and claim its client_id for its author: False when the client_id was
    taken a moment ago (nothing is written then)."""
    params = dict(log)
    if connection.dialect.name == "postgresql":
        return connection.execute(_INSERT_LOG_AND_REQUEST, params).first() is not None
    if connection.execute(_INSERT_LOG, params).first() is None:
        return False
    return (
        connection.execute(_INSERT_REQUEST["sqlite"], params | {"user_id": log.logged_by}).first()
        is not None
    )


def _claim_request(
    connection: Connection, *, user_id: uuid.UUID, client_id: uuid.UUID, log_id: uuid.UUID, now: Any
) -> bool:
    """Claim the client_id for a log confirmed by this request: False when it was taken."""
    claimed = connection.execute(
        _INSERT_REQUEST[connection.dialect.name],
        {"user_id": user_id, "client_id": client_id, "id": log_id, "created_at": now},
    )
    return claimed.first() is not None


def _finish(
    tx: _Tx,
    *,
    user_id: uuid.UUID,
    log: SessionLogRead,
    couple_id: uuid.UUID,
    partners: list[uuid.UUID],
    confirmed: bool,
) -> Logged:
    """The log is written and its client_id claimed: the events, then the commit."""
    if confirmed:
        notices.session_confirmed(
            tx.session(),
            couple_id=couple_id,
            session_log_id=log.id,
            confirmed_by=user_id,
            notify_user_id=log.logged_by,
        )
    elif log.status == LogStatus.awaiting_partner:
        for other in partners:
            if other != user_id:
                notices.joint_session_logged(
                    tx.session(),
                    couple_id=couple_id,
                    session_log_id=log.id,
                    logged_by=user_id,
                    notify_user_id=other,
                )
    tx.commit()
    return Logged(log, created=not confirmed)
