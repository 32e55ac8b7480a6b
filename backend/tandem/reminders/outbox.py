"""The notification outbox: rows written with their cause, claimed with a lease, marked after.

A row moves pending → sending (claimed, lease held) → sent | failed | skipped, or back to
pending with a later due_at (retry, quiet hours). A worker that dies while holding a lease
loses it when the lease expires, and another worker sends the row again with the same Topic
(the push service replaces a queued copy; the service worker replaces a shown one by tag).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tandem.core.db import table_of, utcnow, write_session
from tandem.core.prepared import Prepared
from tandem.reminders import clock
from tandem.reminders.models import (
    Notification,
    NotificationKind,
    NotificationState,
    PushSubscription,
    ReminderPreference,
)

TABLE = table_of(Notification)
SUBSCRIPTIONS = table_of(PushSubscription)


def insert_ignore(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows; a row whose dedupe key exists already is left as it is."""
    if not rows:
        return
    for row in rows:
        row.setdefault("id", uuid.uuid4())
        row.setdefault("created_at", utcnow())
        row.setdefault("state", NotificationState.pending.value)
        row.setdefault("attempts", 0)
        row.setdefault("expires_at", None)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(TABLE).on_conflict_do_nothing(index_elements=["dedupe_key"])
    session.execute(statement, rows)


def enqueue_event(
    session: Session,
    *,
    user_id: uuid.UUID,
    kind: NotificationKind,
    payload: dict[str, str],
    dedupe_key: str,
    now: datetime | None = None,
    expires_at: datetime | None = None,
) -> None:
    """An event notification: due `now` (or later, when given), or at the end of the user's
    quiet hours. Never dropped unless the caller gives an expiry, as a reminder about an
    appointment does (the caller commits)."""
    row = Event(user_id, kind, payload, dedupe_key).row(
        now or utcnow(), session.get(ReminderPreference, user_id)
    )
    insert_ignore(session, [row | {"expires_at": expires_at}])


@dataclass(frozen=True)
class Event:
    """Something a person is told about (reminders/notices.py), before it is an outbox row."""

    user_id: uuid.UUID
    kind: NotificationKind
    payload: dict[str, str]
    dedupe_key: str

    def row(self, now: datetime, quiet: clock.QuietHours | None) -> dict[str, Any]:
        """Its outbox row as enqueue_event writes it: due `now`, or at the end of the quiet
        hours `quiet` (the person's preference, if they have one) when `now` falls in them."""
        due_at = now
        if quiet is not None and clock.in_quiet_hours(quiet, now):
            due_at = clock.quiet_hours_end(quiet, now)
        return {
            "id": uuid.uuid4(),
            "user_id": self.user_id,
            "kind": self.kind.value,
            "payload": self.payload,
            "due_at": due_at,
            "dedupe_key": self.dedupe_key,
            "state": NotificationState.pending.value,
            "attempts": 0,
            "expires_at": None,
            "created_at": utcnow(),  # `now` may be a later time the event is due at
        }


# An event written by a hot write without an ORM session (the practice-log write, on the
# driver's cursor: core/prepared.py), with enqueue_event's values; a dedupe key written
# already leaves its row as it is.
EVENT_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "payload",
    "due_at",
    "dedupe_key",
    "state",
    "attempts",
    "expires_at",
    "created_at",
)
INSERT_EVENT = {
    name: Prepared(
        dialect.insert(TABLE)
        .values({c: bindparam(c) for c in EVENT_COLUMNS})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(TABLE.c.id)
    )
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def cancel_pending(session: Session, *, dedupe_prefix: str) -> None:
    """Drop notifications not yet claimed whose dedupe key starts with `dedupe_prefix`: their
    cause changed (a moved appointment). Rows being sent or sent stay (the caller commits)."""
    session.execute(
        delete(TABLE).where(
            TABLE.c.dedupe_key.startswith(dedupe_prefix, autoescape=True),
            TABLE.c.state == NotificationState.pending.value,
        )
    )


def cancel_pending_to(session: Session, *, user_id: uuid.UUID, kinds: Iterable[str]) -> None:
    """Drop this person's notifications of these kinds not yet claimed: what they were about
    is no longer theirs (a partner left the couple). Rows being sent or sent stay (the caller
    commits)."""
    session.execute(
        delete(TABLE).where(
            TABLE.c.user_id == user_id,
            TABLE.c.kind.in_(list(kinds)),
            TABLE.c.state == NotificationState.pending.value,
        )
    )


# --- the dispatcher's side ----------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempts: int
    expires_at: datetime | None


def _claimable(now: datetime, limit: int) -> Any:
    # Pending rows that are due, and rows whose worker lost its lease (it died mid-send).
    due = (TABLE.c.state == NotificationState.pending.value) & (TABLE.c.due_at <= now)
    lapsed = (TABLE.c.state == NotificationState.sending.value) & (TABLE.c.lease_expires_at < now)
    return select(TABLE.c.id).where(due | lapsed).order_by(TABLE.c.due_at).limit(limit)


def claim(
    engine: Engine, *, now: datetime, limit: int, lease_seconds: float
) -> tuple[uuid.UUID, list[Claimed]]:
    """Take up to `limit` due rows under a fresh lease token, in one short transaction."""
    token = uuid.uuid4()
    values = {
        "state": NotificationState.sending.value,
        "lease_token": token,
        "lease_expires_at": now + timedelta(seconds=lease_seconds),
        "attempts": TABLE.c.attempts + 1,
    }
    returning = (
        TABLE.c.id,
        TABLE.c.user_id,
        TABLE.c.kind,
        TABLE.c.payload,
        TABLE.c.attempts,
        TABLE.c.expires_at,
    )
    if engine.dialect.name == "postgresql":
        # MATERIALIZED keeps the planner from inlining the CTE and re-running the locking
        # SELECT per row; SKIP LOCKED lets any number of workers claim side by side.
        picked = (
            _claimable(now, limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        statement = (
            update(TABLE).where(TABLE.c.id == picked.c.id).values(**values).returning(*returning)
        )
    else:
        # SQLite has one writer at a time: the write session's BEGIN IMMEDIATE makes this
        # single UPDATE ... RETURNING atomic.
        statement = (
            update(TABLE)
            .where(TABLE.c.id.in_(_claimable(now, limit).scalar_subquery()))
            .values(**values)
            .returning(*returning)
        )
    with write_session(engine) as session:
        rows = session.execute(statement).all()
        session.commit()
    return token, [Claimed(*row) for row in rows]


@dataclass
class Outcome:
    id: uuid.UUID
    state: NotificationState
    due_at: datetime | None = None
    error: str | None = None


def finish(
    engine: Engine,
    *,
    token: uuid.UUID,
    now: datetime,
    outcomes: Iterable[Outcome],
    delivered_to: Iterable[uuid.UUID] = (),
    failed_subscriptions: Iterable[uuid.UUID] = (),
    gone_subscriptions: Iterable[uuid.UUID] = (),
    max_failures: int = 10,
) -> None:
    """Record what happened, only for rows this worker still holds the lease on."""
    sent: list[uuid.UUID] = []
    others: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.state == NotificationState.sent:
            sent.append(outcome.id)
        else:
            others.append(
                {
                    "b_id": outcome.id,
                    "b_state": outcome.state.value,
                    "b_due_at": outcome.due_at,
                    "b_error": (outcome.error or "")[:200] or None,
                    # A row put back because of quiet hours was not an attempt.
                    "b_undo": 1 if outcome.error is None else 0,
                }
            )
    mine = (TABLE.c.lease_token == token) & (TABLE.c.state == NotificationState.sending.value)
    with write_session(engine) as session:
        for chunk in _chunks(sent):
            session.execute(
                update(TABLE)
                .where(mine & TABLE.c.id.in_(chunk))
                .values(
                    state=NotificationState.sent.value,
                    sent_at=now,
                    lease_token=None,
                    lease_expires_at=None,
                    last_error=None,
                )
            )
        if others:
            session.execute(
                update(TABLE)
                .where(mine & (TABLE.c.id == bindparam("b_id")))
                .values(
                    state=bindparam("b_state"),
                    due_at=func.coalesce(
                        bindparam("b_due_at", type_=TABLE.c.due_at.type), TABLE.c.due_at
                    ),
                    last_error=func.coalesce(bindparam("b_error"), TABLE.c.last_error),
                    attempts=TABLE.c.attempts - bindparam("b_undo"),
                    lease_token=None,
                    lease_expires_at=None,
                ),
                others,
            )
        _record_subscriptions(
            session, now, list(delivered_to), list(failed_subscriptions), max_failures
        )
        for chunk in _chunks(list(gone_subscriptions)):
            session.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id.in_(chunk)))
        session.commit()


def _record_subscriptions(
    session: Session,
    now: datetime,
    delivered: list[uuid.UUID],
    failed: list[uuid.UUID],
    max_failures: int,
) -> None:
    for chunk in _chunks(delivered):
        session.execute(
            update(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.id.in_(chunk))
            .values(last_success_at=now, failure_count=0)
        )
    for chunk in _chunks(failed):
        session.execute(
            update(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.id.in_(chunk))
            .values(failure_count=SUBSCRIPTIONS.c.failure_count + 1, last_failure_at=now)
        )
        # A device that keeps failing is gone in all but name.
        session.execute(
            delete(SUBSCRIPTIONS).where(
                SUBSCRIPTIONS.c.id.in_(chunk), SUBSCRIPTIONS.c.failure_count >= max_failures
            )
        )


def release(engine: Engine, *, token: uuid.UUID) -> None:
    """Give back rows still leased under `token` (shutdown or a crash mid-batch)."""
    with write_session(engine) as session:
        session.execute(
            update(TABLE)
            .where(
                (TABLE.c.lease_token == token) & (TABLE.c.state == NotificationState.sending.value)
            )
            .values(
                state=NotificationState.pending.value,
                attempts=TABLE.c.attempts - 1,
                lease_token=None,
                lease_expires_at=None,
            )
        )
        session.commit()


def pending_count(engine: Engine, *, now: datetime) -> int:
    with Session(engine) as session:
        count: int = session.execute(
            select(func.count()).select_from(_claimable(now, 1_000_000).subquery())
        ).scalar_one()
        return count


def forget_user(session: Session, *, user_id: uuid.UUID) -> None:
    """Account deletion: nothing more is sent to this person (the caller commits)."""
    session.execute(delete(Notification).where(col(Notification.user_id) == user_id))


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
