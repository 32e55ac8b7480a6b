"""The session brief (the therapist's page before an appointment) and a partner's printable
summary of a week.

The brief holds partner content (preparation, notes, check-ins): every author whose content it
shows is recorded in the access log before the answer leaves, like any other therapist read.
A partner's summary holds what they wrote (private entries included: they are its author) and
what the other partner shared with them, never the other's private or therapist-only entries.
"""

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from tandem.appointments import prep
from tandem.appointments.models import Appointment
from tandem.core import audit, crypto
from tandem.core.config import Settings
from tandem.core.errors import Invalid, NotFound
from tandem.couples.models import Couple
from tandem.exercises.models import Mode
from tandem.journal import entries, ranges
from tandem.journal.models import CheckinRead, NoteRead
from tandem.measures import goals, results
from tandem.plans import progress
from tandem.practice_times import service as practice_times
from tandem.workspace import service
from tandem.workspace.history import History, history, local_bounds, partner_people
from tandem.workspace.models import (
    AppointmentBrief,
    BriefRead,
    Count,
    EventKind,
    PersonRead,
    RatingKey,
    RatingSummary,
    SummaryItem,
    WeekSummaryRead,
)


def _appointment(row: Appointment | None) -> AppointmentBrief | None:
    if row is None:
        return None
    return AppointmentBrief(id=row.id, starts_at=row.starts_at, note=row.note)


def rating_summary(found: History) -> list[RatingSummary]:
    """Per partner and rating: how many, the first and last, the lowest, highest and mean."""
    series: dict[tuple[uuid.UUID, RatingKey], list[int]] = defaultdict(list)
    for point in found.ratings:  # oldest first
        for key in RatingKey:
            value = getattr(point.ratings, key)
            if value is not None:
                series[(point.author_id, key)].append(value)
    order = {p.user_id: i for i, p in enumerate(found.partners)}
    return [
        RatingSummary(
            author_id=author,
            key=key,
            count=len(values),
            first=values[0],
            last=values[-1],
            low=min(values),
            high=max(values),
            mean=round(sum(values) / len(values), 1),
        )
        for (author, key), values in sorted(
            series.items(),
            key=lambda kv: (order.get(kv[0][0], 99), list(RatingKey).index(kv[0][1])),
        )
    ]


def brief(
    session: Session,
    *,
    settings: Settings,
    couple: Couple,
    therapist_id: uuid.UUID,
    since: date | None,
    until: date | None,
) -> BriefRead:
    since, until = service.brief_span(session, couple, since, until)
    found = history(
        session,
        settings=settings,
        couple=couple,
        reader_id=therapist_id,
        since=since,
        until=until,
    )
    appointment = service.appointment_for(session, couple, until)
    preparation = []
    if appointment is not None:
        keyring = crypto.Keyring(session, settings.key_encryption_key)
        preparation = prep.shared_for_appointment(
            session, keyring=keyring, appointment=appointment, reader_id=therapist_id
        )
    couple_goals = goals.of_couple(session, couple_id=couple.id)
    measures = results.latest(
        session,
        settings=settings,
        couple_id=couple.id,
        therapist_id=therapist_id,
        before=local_bounds(couple, until, until)[1],
    )
    answer = BriefRead(
        couple_id=couple.id,
        label=couple.label,
        timezone=couple.timezone,
        since=since,
        until=until,
        partners=found.partners,
        appointment=_appointment(appointment),
        last_appointment=_appointment(service.past_appointment(session, couple, until)),
        preparation=preparation,
        weeks=found.weeks,
        sessions=[e for e in found.events if e.kind in (EventKind.disputed, EventKind.withdrawn)],
        ratings=found.ratings,
        rating_summary=rating_summary(found),
        notes=found.notes,
        checkins=found.checkins,
        practice_times=practice_times.agreed_in_weeks(
            session,
            couple_id=couple.id,
            first=progress.week_of(since),
            last=progress.week_of(until),
        ),
        measures=measures,
        goals=couple_goals,
        goal_attainment=goals.t_score(couple_goals),
    )
    audit.record_reads(
        session,
        action="journal.read_by_therapist",
        reader_id=therapist_id,
        couple_id=couple.id,
        author_ids=found.authors_read,
        detail="session brief",
    )
    audit.record_reads(
        session,
        action="prep.read_by_therapist",
        reader_id=therapist_id,
        couple_id=couple.id,
        author_ids={p.author_id for p in preparation},
        detail="session brief",
    )
    audit.record_reads(
        session,
        action="measures.read_by_therapist",
        reader_id=therapist_id,
        couple_id=couple.id,
        author_ids={m.respondent_id for m in measures},
        detail="session brief",
    )
    audit.record_reads(
        session,
        action="dispute_reason.read_by_therapist",
        reader_id=therapist_id,
        couple_id=couple.id,
        author_ids=found.reasons_read,
        detail="session brief",
    )
    return answer


def week_summary(
    session: Session,
    *,
    settings: Settings,
    couple: Couple,
    me: uuid.UUID,
    week_start: date,
) -> WeekSummaryRead:
    """One week as a partner lived it: the plan with their own counts, the sessions, what they
    wrote (every visibility) and what the other partner shared with them."""
    if week_start.weekday() != 0:
        raise Invalid("week_start must be a Monday")
    week_end = week_start + timedelta(days=6)
    found = history(
        session, settings=settings, couple=couple, reader_id=me, since=week_start, until=week_end
    )
    people = {p.user_id: p for p in partner_people(session, couple.id)}
    if me not in people:
        raise NotFound()
    other = next((p for p in people.values() if p.user_id != me and p.left_at is None), None)
    bounds = local_bounds(couple, week_start, week_end)
    keyring = crypto.Keyring(session, settings.key_encryption_key)

    def mine(kind: entries.EntryKind) -> list[Any]:  # NoteRead or CheckinRead, by kind
        return ranges.authored(
            session,
            keyring=keyring,
            kind=kind,
            couple_id=couple.id,
            author_id=me,
            since=bounds[0],
            until=bounds[1],
        )

    shared_notes = [e for e in found.notes if isinstance(e, NoteRead)]
    shared_checkins = [e for e in found.checkins if isinstance(e, CheckinRead)]
    week = found.weeks[0] if found.weeks else None
    items = []
    for item in week.items if week else []:
        own = next((p for p in item.partners if p.user_id == me), None)
        items.append(
            SummaryItem(
                title=item.title,
                mode=item.mode,
                done=item.done,
                target=item.target,
                mine=Count(done=own.done, target=own.target)
                if own and item.mode == Mode.individual
                else None,
            )
        )
    return WeekSummaryRead(
        couple_id=couple.id,
        label=couple.label,
        week_start=week_start,
        me=people[me],
        partner=PersonRead(user_id=other.user_id, display_name=other.display_name)
        if other
        else None,
        plan_note=found.plans[0].note if found.plans else None,
        items=items,
        sessions=sorted((e for e in found.events if e.kind in _SESSION_EVENTS), key=lambda e: e.at),
        my_notes=mine(entries.NOTE),
        my_checkins=mine(entries.CHECKIN),
        shared_notes=shared_notes,
        shared_checkins=shared_checkins,
    )


_SESSION_EVENTS = (EventKind.logged, EventKind.confirmed, EventKind.disputed, EventKind.withdrawn)
