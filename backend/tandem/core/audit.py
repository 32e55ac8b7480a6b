"""Audit events: who did what to which couple's data, and when; never the content itself."""

import uuid
from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from tandem.core.db import timestamp, uuid_pk, write_session


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: uuid.UUID = uuid_pk()
    at: datetime = timestamp(index=True)
    # Plain ids, no foreign keys: deleting a user or a couple must not erase its audit trail.
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=64)
    couple_id: uuid.UUID | None = Field(default=None, index=True)
    subject_user_id: uuid.UUID | None = Field(default=None, index=True)
    detail: str | None = Field(default=None, max_length=200)


def record(
    session: Session,
    *,
    action: str,
    actor_id: uuid.UUID | None,
    couple_id: uuid.UUID | None = None,
    subject_user_id: uuid.UUID | None = None,
    detail: str | None = None,
) -> None:
    """Add an event to the caller's transaction, so it is kept exactly when the change is."""
    session.add(
        AuditEvent(
            action=action,
            actor_id=actor_id,
            couple_id=couple_id,
            subject_user_id=subject_user_id,
            detail=detail,
        )
    )


def record_reads(
    session: Session,
    *,
    action: str,
    reader_id: uuid.UUID,
    couple_id: uuid.UUID,
    author_ids: set[uuid.UUID],
    detail: str | None = None,
) -> None:
    """One event per person whose entries a reader was shown, committed before anything is
    served. The caller's (read) session is ended first and the events go through a write
    session of their own: on SQLite a read transaction that turns into a write can fail at once
    under concurrent writers."""
    record_reads_in_couples(
        session, action=action, reader_id=reader_id, reads={couple_id: author_ids}, detail=detail
    )


def record_reads_in_couples(
    session: Session,
    *,
    action: str,
    reader_id: uuid.UUID,
    reads: dict[uuid.UUID, set[uuid.UUID]],
    detail: str | None = None,
) -> None:
    """`record_reads` for a read across couples (couple id -> authors shown), in one write:
    an overview of many couples must not cost a transaction per couple."""
    if not any(reads.values()):
        return
    session.commit()
    with write_session(session.get_bind()) as log_writer:
        for couple_id in sorted(reads):
            for author_id in sorted(reads[couple_id]):
                record(
                    log_writer,
                    action=action,
                    actor_id=reader_id,
                    couple_id=couple_id,
                    subject_user_id=author_id,
                    detail=detail,
                )
        log_writer.commit()


def events_about(session: Session, user_id: uuid.UUID, limit: int = 200) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.subject_user_id == user_id)
            .order_by(col(AuditEvent.at).desc())
            .limit(limit)
        )
    )
