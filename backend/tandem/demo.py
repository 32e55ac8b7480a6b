"""`tandem demo`: a therapist, a couple and this week's plan with some sessions, so that a
newcomer sees a living app at once. Running it again changes nothing and prints the logins."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from tandem import migrations, wiring
from tandem.accounts import service as accounts
from tandem.accounts.models import Role, User
from tandem.core.config import Settings
from tandem.core.db import make_engine, write_session
from tandem.couples import service as couples
from tandem.couples.models import CoupleCreate
from tandem.exercises import service as exercises
from tandem.exercises.models import Mode
from tandem.plans import answers, practice_logs, progress
from tandem.plans import service as plans
from tandem.plans.models import PlanItemIn, PlanPut, PracticeLogCreate

PASSWORD = "tandem-demo-2026"
TIMEZONE = "Europe/Berlin"
THERAPIST = ("therapist@demo.tandem", "Dr. Morgan Demo")
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


def _user(session, email: str) -> User | None:
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
        _log_some(session, plan_id=plan.id, partners=partners, week=week)
    return True


def _log_some(session, *, plan_id, partners: list[User], week) -> None:
    alex, sam = partners
    items = {e.key: i for i, e in progress.load_items(session, [plan_id])}
    today = progress.local_today(TIMEZONE)
    yesterday = max(week, today - timedelta(days=1))

    def log(user: User, key: str, n: int, day):
        client_id = uuid.uuid5(DEMO_NAMESPACE, f"{user.email}/{key}/{n}")
        data = PracticeLogCreate(client_id=client_id, done_on=day)
        return practice_logs.log_practice(session, user=user, item_id=items[key].id, data=data).log

    # A joint session both agreed on, one still waiting for Sam, some solo practice.
    done = log(alex, "speaker-listener", 1, yesterday)
    answers.answer(session, user=sam, log_id=done.id, confirm=True)
    log(alex, "sensate-focus-1", 1, today)
    log(alex, "body-scan", 1, yesterday)
    log(sam, "body-scan", 1, today)
    log(sam, "daily-appreciation", 1, today)
