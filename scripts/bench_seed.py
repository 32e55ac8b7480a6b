"""Seeding for scripts/bench_load.py: N couples with this week's published plan, written with
bulk inserts (not a test, not a module of the app)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

PASSWORD = "correct horse battery"
TIMEZONE = "Europe/Berlin"
COUPLES_PER_THERAPIST = 200  # the overview is measured at this size


@dataclass
class Seeded:
    url: str
    # (couple_id, partner email, joint item id, individual item id) for the actors the load uses
    actors: list[tuple[str, str, str, str]]
    therapist: str  # the email of a therapist with 200 couples (or all, when fewer)


def seed(url: str, data_dir: Path, couples: int, actors: int) -> Seeded:
    from tandem import migrations
    from tandem.accounts.models import User
    from tandem.core.config import Settings
    from tandem.core.db import make_engine
    from tandem.core.security import hash_password
    from tandem.couples.models import Couple, Membership
    from tandem.exercises.service import builtin_id, library_entries, sync_library
    from tandem.plans import progress
    from tandem.plans.models import PlanItem, PlanItemAssignee, WeeklyPlan

    settings = Settings(data_dir=data_dir, database_url=url, hash_cost="low")
    settings.ensure_keys()
    engine = make_engine(url)
    migrations.upgrade(engine)
    sync_library(engine)
    entries = library_entries()
    joint_exercise = builtin_id(next(e for e in entries if e["default_mode"] == "joint")["key"])
    solo_exercise = builtin_id(next(e for e in entries if e["default_mode"] == "individual")["key"])
    password_hash = hash_password(PASSWORD, settings)
    now = datetime.now(UTC)
    week = progress.week_of(progress.local_today(TIMEZONE))
    picked: list[tuple[str, str, str, str]] = []
    step = max(1, couples // actors)
    batch = 1000
    with engine.begin() as connection:
        therapists = []
        for t in range(max(1, couples // COUPLES_PER_THERAPIST)):
            therapists.append(
                dict(
                    id=uuid.uuid4(),
                    email=f"bench-therapist-{t}@bench.test",
                    password_hash=password_hash,
                    display_name=f"Therapist {t}",
                    role="therapist",
                    timezone=TIMEZONE,
                    created_at=now,
                )
            )
        connection.execute(insert(User.__table__), therapists)
        for start in range(0, couples, batch):
            users, couple_rows, members, plans, items, assignees = [], [], [], [], [], []
            for n in range(start, min(start + batch, couples)):
                couple_id, plan_id = uuid.uuid4(), uuid.uuid4()
                a, b = uuid.uuid4(), uuid.uuid4()
                therapist = therapists[n % len(therapists)]["id"]
                couple_rows.append(
                    dict(id=couple_id, label=f"Couple {n}", timezone=TIMEZONE, created_at=now)
                )
                for uid, who in ((a, "a"), (b, "b")):
                    users.append(
                        dict(
                            id=uid,
                            email=f"bench-{n}-{who}@bench.test",
                            password_hash=password_hash,
                            display_name=f"Partner {who}",
                            role="partner",
                            timezone=TIMEZONE,
                            created_at=now,
                        )
                    )
                for uid, role in ((a, "partner"), (b, "partner"), (therapist, "therapist")):
                    members.append(
                        dict(
                            id=uuid.uuid4(),
                            couple_id=couple_id,
                            user_id=uid,
                            role=role,
                            joined_at=now,
                        )
                    )
                plans.append(
                    dict(
                        id=plan_id,
                        couple_id=couple_id,
                        week_start=week,
                        status="published",
                        note="",
                        created_by=therapist,
                        created_at=now,
                        updated_at=now,
                        published_at=now,
                    )
                )
                joint, solo = uuid.uuid4(), uuid.uuid4()
                for position, (item_id, exercise, mode) in enumerate(
                    ((joint, joint_exercise, "joint"), (solo, solo_exercise, "individual"))
                ):
                    items.append(
                        dict(
                            id=item_id,
                            plan_id=plan_id,
                            exercise_id=exercise,
                            mode=mode,
                            times_per_week=3,
                            minutes=20,
                            instructions="",
                            position=position,
                            created_at=now,
                        )
                    )
                assignees.append(dict(plan_item_id=solo, user_id=a))
                if n % step == 0 and len(picked) < actors:
                    picked.append(
                        (str(couple_id), f"bench-{n}-a@bench.test", str(joint), str(solo))
                    )
            connection.execute(insert(User.__table__), users)
            connection.execute(insert(Couple.__table__), couple_rows)
            connection.execute(insert(Membership.__table__), members)
            connection.execute(insert(WeeklyPlan.__table__), plans)
            connection.execute(insert(PlanItem.__table__), items)
            connection.execute(insert(PlanItemAssignee.__table__), assignees)
    engine.dispose()
    return Seeded(url, picked, therapists[0]["email"])
