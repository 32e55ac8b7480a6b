"""`tandem demo`: a therapist, a couple and this week's plan with some sessions, so that a
newcomer sees a living app at once: a session confirmed, one waiting, one the other partner
says didn't happen (and why), an agreed practice time, a questionnaire answered and one due, a
goal rated, and the next appointment with some preparation shared. Running it again changes
nothing and prints the logins."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem import migrations, wiring
from tandem.accounts import service as accounts
from tandem.accounts.models import Role, User
from tandem.appointments import prep
from tandem.appointments import service as appointments
from tandem.appointments.models import AppointmentSet, PrepBody, PrepKey, PrepSectionBody
from tandem.core.config import Settings
from tandem.core.db import make_engine, utcnow, write_session
from tandem.couples import service as couples
from tandem.couples.models import Couple, CoupleCreate, Membership
from tandem.exercises import service as exercises
from tandem.exercises.models import Mode
from tandem.journal.models import Visibility
from tandem.measures import goals
from tandem.measures import service as measures
from tandem.measures.models import AssignmentBody, Cadence, GoalBody, RatingBody, ResponseBody
from tandem.plans import answers, practice_logs, progress
from tandem.plans import service as plans
from tandem.plans.models import PlanItemIn, PlanPut, PracticeLogCreate, PracticeLogRead
from tandem.practice_times import service as practice_times
from tandem.practice_times.models import SlotCreate

PASSWORD = "tandem-demo-2026"
TIMEZONE = "Europe/Berlin"
THERAPIST = ("therapist@demo.tandem", "Dr. Morgan Lee")
PARTNERS = (("alex@demo.tandem", "Alex"), ("sam@demo.tandem", "Sam"))
# (library key, mode, times per week)
WEEK = (
    ("sensate-focus-1", Mode.joint, 2),
    ("speaker-listener", Mode.joint, 2),
    ("body-scan", Mode.individual, 3),
    ("daily-appreciation", Mode.individual, 5),
    ("six-second-kiss", Mode.joint, 7),
)
# Fixed client ids, so the demo's own sessions are never logged twice.
DEMO_NAMESPACE = uuid.UUID("0b7d8c52-7f0e-4f43-9d2b-1d6f3f3f7a10")


@dataclass
class DemoLogins:
    created: bool
    emails: list[str]
    password: str = PASSWORD

    def text(self) -> str:
        lines = ["Demo accounts (password for each: " + self.password + "):"]
        lines += [f"  {email}" for email in self.emails]
        return "\n".join(lines)


def _user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def seed(settings: Settings) -> DemoLogins:
    settings.ensure_keys()
    wiring.register()
    engine = make_engine(settings.database)
    try:
        migrations.upgrade(engine)
        exercises.ensure_library(engine)
        created = _seed(engine, settings)
    finally:
        engine.dispose()
    return DemoLogins(created, [THERAPIST[0], *(email for email, _ in PARTNERS)])


def _seed(engine: Engine, settings: Settings) -> bool:
    with write_session(engine) as session:
        if _user(session, THERAPIST[0]) is not None:
            return False
        therapist, _ = accounts.create_user(
            session,
            settings=settings,
            email=THERAPIST[0],
            password=PASSWORD,
            display_name=THERAPIST[1],
            role=Role.therapist,
            timezone=TIMEZONE,
        )
        couple = couples.create_couple(
            session, user=therapist, data=CoupleCreate(label="Alex & Sam", timezone=TIMEZONE)
        )
        membership = couples.active_membership(session, user_id=therapist.id, couple_id=couple.id)
        assert membership is not None  # the therapist who just made the couple is in it
        partners = []
        for email, name in PARTNERS:
            user, _ = accounts.create_user(
                session,
                settings=settings,
                email=email,
                password=PASSWORD,
                display_name=name,
                role=Role.partner,
                timezone=TIMEZONE,
            )
            invitation = couples.create_invitation(
                session, settings=settings, membership=membership, user=therapist, role=Role.partner
            )
            couples.accept_invitation(
                session, settings=settings, user=user, code=invitation.code, address=None
            )
            partners.append(user)

        week = plans.current_week(couple)
        plans.put_plan(
            session,
            user=therapist,
            couple_id=couple.id,
            week_start=week,
            data=PlanPut(
                note="A gentle start: no pressure, and stop whenever either of you wants to.",
                items=[
                    PlanItemIn(
                        exercise_id=exercises.builtin_id(key), mode=mode, times_per_week=times
                    )
                    for key, mode, times in WEEK
                ],
            ),
        )
        plan = plans.publish(session, couple_id=couple.id, week_start=week)
        _log_some(session, settings=settings, plan_id=plan.id, partners=partners, week=week)
        _agree_a_time(session, therapist=therapist, couple=couple, partners=partners)
        _questionnaire(session, settings=settings, membership=membership, partners=partners)
        _goals(session, membership=membership, therapist=therapist, partners=partners)
        _appointment(
            session, settings=settings, membership=membership, couple=couple, alex=partners[0]
        )
    return True


def _log_some(
    session: Session,
    *,
    settings: Settings,
    plan_id: uuid.UUID,
    partners: list[User],
    week: date,
) -> None:
    alex, sam = partners
    items = {e.key: i for i, e in progress.load_items(session, [plan_id])}
    today = progress.local_today(TIMEZONE)
    yesterday = max(week, today - timedelta(days=1))

    def log(user: User, key: str, n: int, day: date) -> PracticeLogRead:
        client_id = uuid.uuid5(DEMO_NAMESPACE, f"{user.email}/{key}/{n}")
        data = PracticeLogCreate(client_id=client_id, done_on=day)
        return practice_logs.log_practice(session, user=user, item_id=items[key].id, data=data).log

    # A joint session both agreed on, one still waiting for Sam, one Alex says didn't really
    # happen (and says why), some solo practice.
    done = log(alex, "speaker-listener", 1, yesterday)
    answers.answer(session, user=sam, log_id=done.id, confirm=True)
    log(alex, "sensate-focus-1", 1, today)
    rushed = log(sam, "six-second-kiss", 1, yesterday)
    answers.answer(
        session,
        user=alex,
        log_id=rushed.id,
        confirm=False,
        reason=DISPUTE_REASON,
        kek=settings.key_encryption_key,
    )
    log(alex, "body-scan", 1, yesterday)
    log(sam, "body-scan", 1, today)
    log(sam, "daily-appreciation", 1, today)


DISPUTE_REASON = (
    "We started, but I was still answering work messages and we stopped after a minute. "
    "Can we try again tonight, phones in the other room?"
)


def _evening(zone: ZoneInfo, now: datetime) -> datetime:
    """The next 19:30 at least two hours away, in the couple's time zone."""
    local = now.astimezone(zone)
    day: date = local.date()
    at = datetime.combine(day, time(19, 30), zone)
    if at < local + timedelta(hours=2):
        at = datetime.combine(day + timedelta(days=1), time(19, 30), zone)
    return at


def _agree_a_time(
    session: Session, *, therapist: User, couple: Couple, partners: list[User]
) -> None:
    """Alex suggests an evening for the first sensate focus session, and Sam says yes. Late on
    a Sunday, when no evening of this week is left, next week's plan is published for it."""
    alex, sam = partners
    starts = _evening(ZoneInfo(TIMEZONE), utcnow())
    week = plans.current_week(couple)
    if progress.week_of(starts.date()) != week:
        plans.copy_forward(session, user=therapist, couple_id=couple.id, week_start=week)
        week += timedelta(days=7)
        plans.publish(session, couple_id=couple.id, week_start=week)
    plan = plans.get_plan(session, membership=_membership(session, alex, couple), week_start=week)
    items = {e.key: i for i, e in progress.load_items(session, [plan.id])}
    slot = practice_times.propose(
        session,
        user=alex,
        item_id=items["sensate-focus-1"].id,
        data=SlotCreate(starts_at=starts),
        now=None,
    )
    practice_times.answer(session, user=sam, slot_id=slot.id, accept=True)


def _membership(session: Session, user: User, couple: Couple) -> Membership:
    found = couples.active_membership(session, user_id=user.id, couple_id=couple.id)
    assert found is not None  # made above
    return found


def _questionnaire(
    session: Session, *, settings: Settings, membership: Membership, partners: list[User]
) -> None:
    """PHQ-4 every two weeks for both; Alex has answered (a mild score, no risk answer), Sam's
    is due on their week."""
    alex, _sam = partners
    assignment = measures.assign(
        session,
        membership=membership,
        data=AssignmentBody(
            measure_key="phq4",
            respondent_ids=[p.id for p in partners],
            cadence=Cadence.biweekly,
        ),
    )
    measures.submit(
        session,
        settings=settings,
        user=alex,
        data=ResponseBody(assignment_id=assignment.id, answers={"1": 1, "2": 1, "3": 0, "4": 1}),
    )


COUPLE_GOAL = (
    "An evening a week just for the two of us",
    {
        "-2": "No evening together in the last month",
        "-1": "One evening together in the last month",
        "0": "Two or three evenings together in the last month",
        "1": "An evening together most weeks",
        "2": "An evening together every week, phones away",
    },
)
SAMS_GOAL = (
    "Say when I'd like to stop, without apologising",
    {
        "-2": "I go on when I'd rather stop, and say nothing",
        "-1": "I stop, but apologise and explain at length",
        "0": "I say I'd like to stop, with a short sorry",
        "1": "I say I'd like to stop, plainly",
        "2": "I say what I'd like instead, plainly and warmly",
    },
)


def _goals(
    session: Session, *, membership: Membership, therapist: User, partners: list[User]
) -> None:
    """A goal for the couple, rated at the last session; one of Sam's own, rated by Sam."""
    _alex, sam = partners
    ours = goals.create(
        session,
        membership=membership,
        data=GoalBody(title=COUPLE_GOAL[0], levels=COUPLE_GOAL[1], owner_id=None),
    )
    goals.rate(session, user=therapist, goal_id=ours.id, data=RatingBody(level=-1))
    own = goals.create(
        session,
        membership=membership,
        data=GoalBody(title=SAMS_GOAL[0], levels=SAMS_GOAL[1], owner_id=sam.id),
    )
    goals.rate(session, user=sam, goal_id=own.id, data=RatingBody(level=0))


def _appointment(
    session: Session, *, settings: Settings, membership: Membership, couple: Couple, alex: User
) -> None:
    """The next session in three days, late afternoon; Alex shares a question for it."""
    day = progress.local_today(TIMEZONE) + timedelta(days=3)
    appointments.set_next_appointment(
        session,
        membership=membership,
        data=AppointmentSet(
            starts_at=datetime.combine(day, time(17, 0), ZoneInfo(TIMEZONE)),
            note="At the practice, room 2 (or by video if one of you is away)",
        ),
    )
    prep.put_my_prep(
        session,
        settings=settings,
        membership=_membership(session, alex, couple),
        data=PrepBody(
            sections=[
                PrepSectionBody(
                    key=PrepKey.questions,
                    text="How do we keep going on the weeks when one of us is exhausted?",
                    visibility=Visibility.care_team,
                )
            ]
        ),
    )
