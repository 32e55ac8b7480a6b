"""A practice as it looks after five weeks, for the screenshots in docs/screenshots: the demo's
couple (Alex and Sam, `tandem demo`) with weeks behind them, check-ins, notes, questionnaire
trends and goals, and the therapist's other couples. Words a real couple might write; nothing
that reads like a test.

Through the API wherever the API can say it; the past is made by moving times back in the
database afterwards (the API only writes "now"), as five weeks of real use would have left it.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem import demo
from tandem.core.config import Settings
from tandem.couples.models import Couple, Membership
from tandem.exercises import service as exercises
from tandem.exercises.service import builtin_id
from tandem.journal.models import SharedCheckin, SharedNote
from tandem.plans.models import PracticeLog, WeeklyPlan
from tests.factories import Actor, create_couple, invite, login, new_client, register
from tests.measures_support import answer, answered_earlier

ZONE = ZoneInfo(demo.TIMEZONE)
PROFILE = {
    "display_name": "Dr. Morgan Lee",
    "education": "MSc Clinical Psychology, University of Amsterdam",
    "licence": "Registered psychotherapist (BIG 19054321)",
    "certifications": "Certified sexologist (NVVS); couples therapy training (EFT)",
    "experience": "Twelve years with couples, most of them in sex therapy",
    "focus": "Desire differences, pain, intimacy after children, rebuilding touch",
    "location": "Praxis am Park, Leipziger Str. 12, Berlin",
    "telehealth": True,
    "hours": "Tue–Fri 9:00–18:00",
    "session_length_minutes": 50,
    "session_frequency": "Every two weeks at first",
    "expected_course": "Often 8 to 12 sessions",
    "fees": "110 EUR per session",
    "insurance": "Receipts for private insurance",
    "payment": "Bank transfer after each session",
    "rescheduling_policy": "Free up to 48 hours before",
}


@dataclass
class Scene:
    couple_id: str
    therapist: Actor
    alex: Actor
    sam: Actor
    priya: Actor
    waiting_log_id: str  # Alex's session that waits for Sam
    sams_due_assignment: str
    invitation_code: str  # an open invitation to another couple, for the join screen
    week_start: date


def _actor(app: FastAPI, email: str, role: str) -> Actor:
    actor = Actor(new_client(app), "", email, role, "", password=demo.PASSWORD)
    login(actor)
    actor.id = actor.get("/api/me").json()["id"]
    return actor


def ok(reply: Any, status: int = 200) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json() if reply.content else None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)


# --- the weeks behind Alex and Sam -----------------------------------------------------------

# (weeks ago, the therapist's note, "exercise mode times; ...", "who exercise weekday answer; ...")
# where answer is "yes" (confirmed), "no" (disputed) or "-" (on one's own).
PAST_WEEKS = [
    (
        4,
        "Welcome. This first week is about noticing, not achieving.",
        "speaker-listener joint 2; body-scan individual 3",
        "alex speaker-listener 1 yes; alex body-scan 2 -; sam body-scan 4 -",
    ),
    (
        3,
        "Touch without a goal: no sex this week, just the exercise.",
        "sensate-focus-1 joint 2; body-scan individual 3; daily-appreciation individual 5",
        "sam sensate-focus-1 1 yes; alex body-scan 0 -; alex body-scan 3 -; sam body-scan 2 -;"
        " sam daily-appreciation 0 -; sam daily-appreciation 1 -;"
        " alex daily-appreciation 2 -; alex daily-appreciation 5 -",
    ),
    (
        2,
        "Same again, a little slower. Take turns choosing the evening.",
        "sensate-focus-1 joint 2; daily-appreciation individual 5; six-second-kiss joint 7",
        "alex sensate-focus-1 2 yes; sam sensate-focus-1 5 no; alex six-second-kiss 0 yes;"
        " sam six-second-kiss 1 yes; sam six-second-kiss 3 yes; alex daily-appreciation 1 -;"
        " sam daily-appreciation 2 -; sam daily-appreciation 4 -",
    ),
    (
        1,
        "You found your rhythm last week. Keep the evenings you agreed.",
        "sensate-focus-1 joint 2; speaker-listener joint 1; daily-appreciation individual 5",
        "alex sensate-focus-1 1 yes; sam sensate-focus-1 4 yes; sam speaker-listener 6 yes;"
        " alex daily-appreciation 0 -; alex daily-appreciation 2 -; alex daily-appreciation 3 -;"
        " sam daily-appreciation 1 -; sam daily-appreciation 4 -; sam daily-appreciation 5 -",
    ),
]

DISPUTE = "We only got as far as sitting down together before the baby woke up."


def _past_weeks(s: Scene, engine: Engine, this_monday: date) -> None:
    people = {"alex": s.alex, "sam": s.sam}
    for ago, note, items, logs in PAST_WEEKS:
        week = this_monday - timedelta(weeks=ago)
        body = {
            "note": note,
            "items": [
                {"exercise_id": str(builtin_id(key)), "mode": mode, "times_per_week": int(times)}
                for key, mode, times in (i.split() for i in items.split(";"))
            ],
        }
        base = f"/api/couples/{s.couple_id}/plans/{week}"
        plan = ok(s.therapist.put(base, json=body))
        ok(s.therapist.post(f"{base}/publish"))
        by_key = {i["exercise_id"]: i["id"] for i in plan["items"]}
        for who, key, weekday, answer_ in (line.split() for line in logs.split(";")):
            confirmed = {"yes": True, "no": False}.get(answer_)
            day = week + timedelta(days=int(weekday))
            author = people[who]
            other = s.sam if author is s.alex else s.alex
            made = ok(
                author.post(
                    f"/api/plan-items/{by_key[str(builtin_id(key))]}/sessions",
                    json={"client_id": str(uuid.uuid4()), "done_on": str(day)},
                ),
                201,
            )
            if confirmed is True:
                ok(other.post(f"/api/sessions/{made['id']}/confirm"))
            elif confirmed is False:
                ok(other.post(f"/api/sessions/{made['id']}/dispute", json={"reason": DISPUTE}))
            _logged_on(engine, made["id"], day, disputed=confirmed is False)


def _logged_on(engine: Engine, log_id: str, day: date, *, disputed: bool = False) -> None:
    """A session logged that evening, answered the next morning."""
    answered = _at(day + timedelta(days=1), 8, 10)
    values: dict[str, Any] = {"created_at": _at(day, 21, 30), "updated_at": answered}
    if disputed:
        values["disputed_at"] = answered
    with Session(engine) as session:
        session.execute(
            update(PracticeLog).where(col(PracticeLog.id) == uuid.UUID(log_id)).values(**values)
        )
        session.commit()


def _the_past_as_it_was(engine: Engine, couple_id: str, born: datetime) -> None:
    """Each plan published the Sunday evening before its week; the partners joined the day
    the couple was made."""
    couple = uuid.UUID(couple_id)
    with Session(engine) as session:
        for plan in session.exec(select(WeeklyPlan).where(WeeklyPlan.couple_id == couple)):
            plan.published_at = _at(plan.week_start - timedelta(days=1), 18, 0)
            session.add(plan)
        for n, member in enumerate(
            session.exec(select(Membership).where(Membership.couple_id == couple))
        ):
            member.joined_at = born + timedelta(hours=1 + n)
            session.add(member)
        session.commit()


# --- what they wrote -----------------------------------------------------------------------------

CHECKINS = [
    # (who, days ago, ratings, obstacles, text, visibility)
    (
        "alex",
        26,
        {"closeness": 4, "enjoyment": 5, "comfort": 5, "anxiety": 6},
        "Tired after work",
        "It felt strange to talk with a timer, but Sam listened without fixing anything.",
        "care_team",
    ),
    (
        "sam",
        24,
        {"closeness": 5, "enjoyment": 4, "comfort": 6, "anxiety": 5},
        "",
        "I noticed how rarely we touch when it isn't leading somewhere.",
        "therapist",
    ),
    (
        "alex",
        19,
        {"closeness": 6, "enjoyment": 6, "comfort": 6, "anxiety": 4},
        "The baby monitor",
        "Slower was better. I could actually feel my hands.",
        "care_team",
    ),
    (
        "sam",
        17,
        {"closeness": 6, "enjoyment": 6, "comfort": 7, "anxiety": 4},
        "",
        "Less pressure now that we know it won't go further.",
        "therapist",
    ),
    (
        "alex",
        12,
        {"closeness": 7, "enjoyment": 6, "comfort": 7, "anxiety": 3},
        "",
        "We laughed a lot. Good to remember we can.",
        "care_team",
    ),
    (
        "sam",
        9,
        {"closeness": 6, "enjoyment": 5, "comfort": 6, "anxiety": 5},
        "A hard week at work",
        "Didn't manage the second evening. Not a fight, just tired.",
        "therapist",
    ),
    (
        "alex",
        5,
        {"closeness": 8, "enjoyment": 7, "comfort": 8, "anxiety": 2},
        "",
        "The best week so far. Agreeing the evening in advance really helps.",
        "care_team",
    ),
    (
        "sam",
        3,
        {"closeness": 8, "enjoyment": 7, "comfort": 8, "anxiety": 3},
        "",
        "I asked for what I wanted and it was easy.",
        "therapist",
    ),
]

NOTES = [
    ("sam", 22, "partner", "Thank you for Sunday. I liked that we just lay there and talked."),
    (
        "alex",
        15,
        "care_team",
        "A question for our next session: how do we start when one of us is shy about it?",
    ),
    ("alex", 8, "private", "I relax more when I know the evening is planned. Tell Sam?"),
    ("sam", 4, "therapist", "My back pain is better since I started the stretching again."),
    ("alex", 2, "partner", "Saturday morning coffee in bed again? No phones."),
    ("sam", 1, "private", "Remember to say what I enjoyed, not only what I didn't."),
]


def _journal(s: Scene, engine: Engine, now: datetime) -> None:
    people = {"alex": s.alex, "sam": s.sam}
    for who, days, ratings, obstacles, text, visibility in CHECKINS:
        body = {"ratings": ratings, "text": text, "visibility": visibility}
        if obstacles:
            body["obstacles"] = obstacles
        made = ok(people[who].post(f"/api/couples/{s.couple_id}/checkins", json=body), 201)
        _written(engine, SharedCheckin, made["id"], now - timedelta(days=days, hours=3))
    for who, days, visibility, text in NOTES:
        body = {"body": text, "visibility": visibility}
        made = ok(people[who].post(f"/api/couples/{s.couple_id}/notes", json=body), 201)
        if visibility != "private":
            _written(engine, SharedNote, made["id"], now - timedelta(days=days, hours=5))


def _written(engine: Engine, table: Any, entry_id: str, at: datetime) -> None:
    with Session(engine) as session:
        session.execute(
            update(table)
            .where(col(table.id) == uuid.UUID(entry_id))
            .values(created_at=at, updated_at=at)
        )
        session.commit()


# --- questionnaires ------------------------------------------------------------------------------


def _questionnaires(s: Scene, engine: Engine) -> None:
    """Alex's PHQ-4 a fortnight ago and now (the demo's answer moved back); Sam's GAD-7 three
    times, a fortnight apart, coming down."""
    [alex_phq4] = ok(s.alex.get(f"/api/couples/{s.couple_id}/measure-results"))
    answered_earlier(engine, alex_phq4["id"], days=14)
    [assignment] = [
        a
        for a in ok(s.therapist.get(f"/api/couples/{s.couple_id}/measure-assignments"))
        if a["measure_key"] == "phq4"
    ]
    ok(answer(s.alex, assignment["id"], {"1": 1, "2": 0, "3": 0, "4": 1}), 201)
    body = {"measure_key": "gad7", "respondent_ids": [s.sam.id], "cadence": "biweekly"}
    gad7 = ok(s.therapist.post(f"/api/couples/{s.couple_id}/measure-assignments", json=body), 201)
    for days, value in ((28, 2), (14, 1)):
        given = ok(answer(s.sam, gad7["id"], {str(k): value for k in range(1, 8)}), 201)
        answered_earlier(engine, given["id"], days=days)
    ok(answer(s.sam, gad7["id"], {"1": 1, "2": 1, "3": 0, "4": 1, "5": 0, "6": 1, "7": 0}), 201)


# --- the therapist's other couples ---------------------------------------------------------------


def _couple(
    app: FastAPI, therapist: Actor, label: str, names: list[str]
) -> tuple[str, list[Actor]]:
    couple_id = create_couple(therapist, label=label, timezone=demo.TIMEZONE)
    people = [
        register(
            app, invitation_code=invite(therapist, couple_id), name=name, timezone=demo.TIMEZONE
        )
        for name in names
    ]
    return couple_id, people


def _others(app: FastAPI, therapist: Actor, this_monday: date) -> Actor:
    """Jordan and Casey keep a steady week; Priya and Tom have a risk answer waiting (Priya's,
    for the safety screen); Lea joined, her partner has not yet."""
    couple_id, (jordan, casey) = _couple(app, therapist, "Jordan & Casey", ["Jordan", "Casey"])
    week = f"/api/couples/{couple_id}/plans/{this_monday}"
    items = [
        {
            "exercise_id": str(builtin_id("stress-reducing-conversation")),
            "mode": "joint",
            "times_per_week": 2,
        },
        {
            "exercise_id": str(builtin_id("mindful-breathing")),
            "mode": "individual",
            "times_per_week": 4,
        },
    ]
    plan = ok(
        therapist.put(week, json={"note": "Two calm conversations this week.", "items": items})
    )
    ok(therapist.post(f"{week}/publish"))
    solo = plan["items"][1]["id"]
    for who in (jordan, casey):
        ok(who.post(f"/api/plan-items/{solo}/sessions", json={"client_id": str(uuid.uuid4())}), 201)

    couple_id, (priya, _tom) = _couple(app, therapist, "Priya & Tom", ["Priya", "Tom"])
    body = {"measure_key": "phq9", "respondent_ids": [priya.id], "cadence": "once"}
    ok(therapist.post(f"/api/couples/{couple_id}/measure-assignments", json=body), 201)

    _couple(app, therapist, "Lea & Mateo", ["Lea"])
    return priya


# --- all of it -----------------------------------------------------------------------------------


def seed(app: FastAPI, engine: Engine, settings: Settings) -> Scene:
    exercises.ensure_library(engine)
    demo._seed(engine, settings)  # noqa: SLF001 - the demo's own content, in the test database
    therapist = _actor(app, demo.THERAPIST[0], "therapist")
    alex = _actor(app, demo.PARTNERS[0][0], "partner")
    sam = _actor(app, demo.PARTNERS[1][0], "partner")
    ok(therapist.put("/api/me/therapist-profile", json=PROFILE))
    couple_id = ok(alex.get("/api/couples"))[0]["id"]
    now = datetime.now(UTC)
    this_monday = _monday(now.astimezone(ZONE).date())
    with Session(engine) as session:  # five weeks together
        session.execute(
            update(Couple)
            .where(col(Couple.id) == uuid.UUID(couple_id))
            .values(created_at=now - timedelta(weeks=5))
        )
        session.commit()
    plan = ok(alex.get(f"/api/couples/{couple_id}/plans/current"))
    waiting = next(
        s["id"] for i in plan["items"] for s in i["sessions"] if s["status"] == "awaiting_partner"
    )
    [due] = ok(sam.get("/api/me/measures/due"))
    scene = Scene(
        couple_id=couple_id,
        therapist=therapist,
        alex=alex,
        sam=sam,
        priya=_others(app, therapist, this_monday),
        waiting_log_id=waiting,
        sams_due_assignment=due["assignment_id"],
        invitation_code="",
        week_start=this_monday,
    )
    _past_weeks(scene, engine, this_monday)
    _the_past_as_it_was(engine, couple_id, now - timedelta(weeks=5))
    _journal(scene, engine, now)
    _questionnaires(scene, engine)
    body = {
        "sections": [
            {
                "key": "concern",
                "visibility": "therapist",
                "text": (
                    "Since the baby came we rarely touch outside of bed, and I miss it. "
                    "I'd like us to find our way back to that without it always having to "
                    "lead somewhere."
                ),
            },
            {"key": "questions", "visibility": "private", "text": "Is it normal to feel this shy?"},
        ]
    }
    ok(sam.put(f"/api/couples/{couple_id}/prep", json=body))
    lea_couple = ok(therapist.get("/api/couples"))
    lea = next(c for c in lea_couple if c["label"] == "Lea & Mateo")
    scene.invitation_code = invite(therapist, lea["id"])
    return scene
