"""A couple's journal entries over a span of time, for summaries and session briefs.

The same reading rules as `service.couple_entries` (SPEC §3): a private entry is read by its
author only; a shared entry by its author and the people recorded as its readers when it was
written. These functions only read and open: a caller that shows a therapist partner content
records the read in the access log (`audit.record_reads`), as the journal's routes do.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from tandem.core import crypto
from tandem.journal.entries import EntryKind, opened
from tandem.journal.models import CheckinRead, NoteRead

# A brief or a summary is a page, not an archive: past this, the oldest entries are left out.
MAX_ENTRIES = 500


def _between(table: Any, since: datetime, until: datetime) -> list[Any]:
    return [col(table.created_at) >= since, col(table.created_at) < until]


def _newest(session: Session, table: Any, conditions: list[Any]) -> list[Any]:
    query = (
        select(table)
        .where(*conditions)
        .order_by(col(table.created_at).desc(), col(table.id).desc())
        .limit(MAX_ENTRIES)
    )
    return list(session.exec(query).all())


def shared_with(
    session: Session,
    *,
    keyring: crypto.Keyring,
    kind: EntryKind,
    couple_ids: list[uuid.UUID],
    reader_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> list[NoteRead | CheckinRead]:
    """Entries others wrote in these couples and shared with `reader_id` (as the other partner
    or as the therapist, whichever place they held at write time), written in [since, until),
    newest first. Private entries are never read: they are in another table."""
    table: Any = kind.shared
    rows = _newest(
        session,
        table,
        [
            col(table.couple_id).in_(couple_ids),
            table.author_id != reader_id,
            or_(table.partner_reader_id == reader_id, table.therapist_reader_id == reader_id),
            *_between(table, since, until),
        ],
    )
    keyring.preload({row.author_id for row in rows})
    return opened(keyring, kind, rows)


def authored(
    session: Session,
    *,
    keyring: crypto.Keyring,
    kind: EntryKind,
    couple_id: uuid.UUID,
    author_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> list[NoteRead | CheckinRead]:
    """Everything `author_id` wrote in this couple in [since, until), private entries
    included (for the author's own eyes only), newest first."""
    rows: list[Any] = []
    for table in (kind.private, kind.shared):
        rows += _newest(
            session,
            table,
            [col(table.couple_id) == couple_id, col(table.author_id) == author_id]
            + _between(table, since, until),
        )
    rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return opened(keyring, kind, rows[:MAX_ENTRIES])
