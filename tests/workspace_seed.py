"""A practice of many couples written straight into the database: the overview's scale tests
and its benchmark need 200 couples in a second, not 200 sign-ups through the API.

Every row is what the app itself would write (sealed texts through `tandem.crypto`, readers
recorded on shared entries), and the couples differ, so every flag of the overview is raised
somewhere: waiting logs, disputes, quiet couples, a partner who left, high anxiety, preparation.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tandem.accounts.models import Role, User
from tandem.appointments.models import Appointment, PrepSection
from tandem.core import crypto
from tandem.core.config import Settings
from tandem.core.security import hash_password
from tandem.couples.models import Couple, Membership
from tandem.exercises.service import builtin_id, ensure_library
from tandem.journal.models import SharedCheckin, SharedNote
from tandem.plans.models import LogStatus, PlanItem, PlanStatus, PracticeLog, WeeklyPlan
from tests.plans_support import this_monday

PASSWORD = "correct horse battery"
ZONE = "Europe/Berlin"


@dataclass
class Practice:
    therapist_id: uuid.UUID
    therapist_email: str
    couple_ids: list[uuid.UUID] = field(default_factory=list)


def _user(email: str, name: str, role: Role, password_hash: str) -> User:
    return User(
        email=email, display_name=name, role=role, timezone=ZONE, password_hash=password_hash
    )


def seed_practice(engine: Engine, settings: Settings, *, couples: int) -> Practice:
    ensure_library(engine)
    now = datetime.now(UTC)
    monday = this_monday(ZONE)
    tag = uuid.uuid4().hex[:8]
    password_hash = hash_password(PASSWORD, settings)
    therapist = _user(f"practice-{tag}@example.test", "Dr Practice", Role.therapist, password_hash)
    practice = Practice(therapist.id, therapist.email)
    joint, individual = builtin_id("speaker-listener"), builtin_id("body-scan")
    with Session(engine) as session:
        keyring = crypto.Keyring(session, settings.key_encryption_key)
        session.add(therapist)
        for n in range(couples):
            couple = Couple(
                label=f"Couple {n:03d}", timezone=ZONE, created_at=now - timedelta(days=40)
            )
            a = _user(f"a{n}-{tag}@example.test", f"Ana {n}", Role.partner, password_hash)
            b = _user(f"b{n}-{tag}@example.test", f"Ben {n}", Role.partner, password_hash)
            session.add_all([couple, a, b])
            session.flush()
            joined = now - timedelta(days=39)
            session.add_all(
                [
                    Membership(couple_id=couple.id, user_id=therapist.id, role=Role.therapist),
                    Membership(
                        couple_id=couple.id, user_id=a.id, role=Role.partner, joined_at=joined
                    ),
                    Membership(
                        couple_id=couple.id,
                        user_id=b.id,
                        role=Role.partner,
                        joined_at=joined,
                        left_at=now - timedelta(days=1) if n % 17 == 5 else None,
                    ),
                ]
            )
            plan = WeeklyPlan(
                couple_id=couple.id,
                week_start=monday,
                status=PlanStatus.published,
                published_at=now - timedelta(days=3),
                created_by=therapist.id,
            )
            session.add(plan)
            session.flush()
            items = [
                PlanItem(
                    plan_id=plan.id, exercise_id=joint, mode="joint", times_per_week=3, minutes=20
                ),
                PlanItem(
                    plan_id=plan.id,
                    exercise_id=individual,
                    mode="individual",
                    times_per_week=2,
                    minutes=10,
                    position=1,
                ),
            ]
            session.add_all(items)
            session.flush()
            if n % 4 != 3:  # a quarter of the couples did nothing at all
                _logs(session, n, items, a, b, monday, now)
            if n % 3 == 0:
                _shared(session, keyring, couple, a, therapist, n, now)
            if n % 2 == 0:
                _appointment(session, keyring, couple, a, therapist, n, now)
            practice.couple_ids.append(couple.id)
        session.commit()
    return practice


def _logs(session: Session, n: int, items: list[PlanItem], a: User, b: User, monday, now) -> None:  # noqa: ANN001
    old = now - timedelta(days=3)
    rows = [
        PracticeLog(
            plan_item_id=items[1].id,
            logged_by=a.id,
            done_on=monday,
            status=LogStatus.done,
            client_id=uuid.uuid4(),
            created_at=old,
            updated_at=old,
        ),
        PracticeLog(
            plan_item_id=items[0].id,
            logged_by=a.id,
            done_on=monday,
            status=LogStatus.done if n % 5 else LogStatus.awaiting_partner,
            confirmed_by=b.id if n % 5 else None,
            client_id=uuid.uuid4(),
            created_at=old,
            updated_at=old,
        ),
    ]
    if n % 7 == 1:
        rows.append(
            PracticeLog(
                plan_item_id=items[0].id,
                logged_by=b.id,
                done_on=monday,
                status=LogStatus.disputed,
                disputed_by=a.id,
                client_id=uuid.uuid4(),
                created_at=old,
                updated_at=now - timedelta(days=1),
            )
        )
    session.add_all(rows)


def _shared(session, keyring, couple, author, therapist, n, now) -> None:  # noqa: ANN001
    checkin = SharedCheckin(
        couple_id=couple.id,
        author_id=author.id,
        visibility="therapist",
        therapist_reader_id=therapist.id,
        created_at=now - timedelta(days=1),
        updated_at=now - timedelta(days=1),
    )
    ratings = {"closeness": 6, "anxiety": 9 if n % 6 == 0 else 3}
    checkin.sealed_ratings = keyring.seal(
        json.dumps(ratings, sort_keys=True),
        table="shared_checkin",
        row_id=checkin.id,
        author_id=author.id,
        field="ratings",
    )
    note = SharedNote(
        couple_id=couple.id,
        author_id=author.id,
        visibility="care_team",
        therapist_reader_id=therapist.id,
        created_at=now - timedelta(hours=5),
        updated_at=now - timedelta(hours=5),
        sealed_body=b"",
    )
    note.sealed_body = keyring.seal(
        f"Shared note {n}",
        table="shared_note",
        row_id=note.id,
        author_id=author.id,
        field="body",
    )
    session.add_all([checkin, note])


def _appointment(session, keyring, couple, author, therapist, n, now) -> None:  # noqa: ANN001
    appointment = Appointment(
        couple_id=couple.id, starts_at=now + timedelta(days=2 + n % 5), set_by=therapist.id
    )
    session.add(appointment)
    session.flush()
    if n % 4 == 0:
        section = PrepSection(
            couple_id=couple.id,
            appointment_id=appointment.id,
            author_id=author.id,
            key="questions",
            visibility="therapist",
            therapist_reader_id=therapist.id,
            sealed_text=b"",
        )
        section.sealed_text = keyring.seal(
            f"Question {n}",
            table="prep_section",
            row_id=section.id,
            author_id=author.id,
            field="text",
        )
        session.add(section)
