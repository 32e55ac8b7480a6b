"""The exercise library: built-in entries shipped as data, plus each therapist's own."""

import json
import threading
import uuid
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.accounts.models import Role, User
from tandem.core.db import utcnow, write_session
from tandem.core.errors import Forbidden, Invalid, NotFound
from tandem.couples.models import Membership
from tandem.exercises import hooks
from tandem.exercises.models import STAGES, Exercise, ExerciseCreate, ExerciseUpdate

LIBRARY_PATH = Path(__file__).with_name("library.json")
# Fixed forever: built-in ids are uuid5(namespace, key), the same in every database.
LIBRARY_NAMESPACE = uuid.UUID("6f1c2d0e-4b1a-5c7e-9a39-7d8e2b6f0a11")
_FIELDS = (
    "title",
    "category",
    "stage",
    "rationale",
    "instructions",
    "boundaries",
    "default_minutes",
    "default_mode",
    "default_times_per_week",
)


def builtin_id(key: str) -> uuid.UUID:
    return uuid.uuid5(LIBRARY_NAMESPACE, key)


@lru_cache(maxsize=1)
def library_entries() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(LIBRARY_PATH.read_text(encoding="utf-8")))


# --- loading the built-in library -----------------------------------------------------------

_synced: set[str] = set()
_ready: "weakref.WeakSet[Engine]" = weakref.WeakSet()
_sync_lock = threading.Lock()


def sync_library(engine: Engine) -> int:
    """Insert missing built-in entries and update changed ones in place; returns how many
    rows were written. Safe to run from several processes at once (upsert on the id)."""
    entries = library_entries()
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    written = 0
    with write_session(engine) as session:
        stored = {
            e.key: e
            for e in session.exec(
                select(Exercise).where(col(Exercise.key).in_([e["key"] for e in entries]))
            )
        }
        for entry in entries:
            values = {name: entry[name] for name in _FIELDS}
            current = stored.get(entry["key"])
            if current is not None and all(getattr(current, k) == v for k, v in values.items()):
                continue
            now = utcnow()
            statement = (
                insert(Exercise)
                .values(
                    id=builtin_id(entry["key"]),
                    key=entry["key"],
                    custom=False,
                    owner_id=None,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
                .on_conflict_do_update(index_elements=["id"], set_={**values, "updated_at": now})
            )
            session.execute(statement)
            written += 1
        session.commit()
    return written


def ensure_library(engine: Engine) -> None:
    """Load the built-in library once per process and database."""
    marker = engine.url.render_as_string(hide_password=True)
    if marker in _synced:
        return
    with _sync_lock:
        if marker not in _synced:
            sync_library(engine)
            _synced.add(marker)


async def library_ready(request: Request) -> None:
    """A router dependency: runs before the request's session reads anything, so the
    request sees the library (a snapshot taken earlier would not, on SQLite). Once loaded,
    it costs a set lookup on the event loop, not a threadpool hop."""
    await library_loaded(request.app.state.engine)


async def library_loaded(engine: Engine) -> None:
    """library_ready, for a caller without a Request (api/fast_paths.py)."""
    if engine not in _ready:
        await run_in_threadpool(ensure_library, engine)
        _ready.add(engine)


# --- who sees which custom exercise ---------------------------------------------------------


def _visible(user: User) -> Any:
    """A condition on Exercise: built-in, or custom and visible to this user."""
    my_couples = select(Membership.couple_id).where(
        Membership.user_id == user.id, col(Membership.left_at).is_(None)
    )
    their_therapists = select(Membership.user_id).where(
        col(Membership.couple_id).in_(my_couples),
        Membership.role == Role.therapist,
        col(Membership.left_at).is_(None),
    )
    planned = hooks.exercise_use().planned_for(my_couples, published_only=user.role == Role.partner)
    return or_(
        col(Exercise.custom).is_(False),
        col(Exercise.owner_id) == user.id,
        col(Exercise.owner_id).in_(their_therapists),
        col(Exercise.id).in_(planned),
    )


def list_exercises(session: Session, *, user: User, category: str | None = None) -> list[Exercise]:
    query = select(Exercise).where(_visible(user))
    if category is not None:
        query = query.where(Exercise.category == category)
    return list(
        session.exec(
            query.order_by(
                col(Exercise.custom),
                col(Exercise.category),
                col(Exercise.stage),
                col(Exercise.title),
            )
        )
    )


def get_exercise(session: Session, *, user: User, exercise_id: uuid.UUID) -> Exercise:
    exercise = session.exec(
        select(Exercise).where(Exercise.id == exercise_id, _visible(user))
    ).first()
    if exercise is None:
        raise NotFound()
    return exercise


def usable_exercises(
    session: Session, *, user: User, exercise_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Exercise]:
    """The exercises among these ids that this therapist may assign."""
    if not exercise_ids:
        return {}
    rows = session.exec(select(Exercise).where(col(Exercise.id).in_(exercise_ids), _visible(user)))
    return {e.id: e for e in rows}


# --- custom exercises -----------------------------------------------------------------------


def create_exercise(session: Session, *, user: User, data: ExerciseCreate) -> Exercise:
    exercise = Exercise(**data.model_dump(), custom=True, owner_id=user.id)
    session.add(exercise)
    session.commit()
    return exercise


def update_exercise(
    session: Session, *, user: User, exercise_id: uuid.UUID, data: ExerciseUpdate
) -> Exercise:
    exercise = session.exec(
        select(Exercise).where(Exercise.id == exercise_id).with_for_update()
    ).first()
    if exercise is None or (exercise.custom and exercise.owner_id != user.id):
        raise NotFound()
    if not exercise.custom:
        raise Forbidden("Built-in exercises cannot be edited; create your own instead")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name not in ("stage", "boundaries"):
            raise Invalid(f"{name} cannot be empty")
    for name, value in changes.items():
        setattr(exercise, name, value)
    stage = exercise.stage
    if stage is not None and not 1 <= stage <= STAGES.get(exercise.category, 0):
        raise Invalid("This stage does not exist for this category")
    exercise.updated_at = utcnow()
    session.add(exercise)
    session.commit()
    return exercise


# --- export and account deletion ------------------------------------------------------------


def export_custom(session: Session, *, user: User) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Exercise).where(Exercise.owner_id == user.id).order_by(col(Exercise.created_at))
    )
    return [{"id": str(e.id), **{name: getattr(e, name) for name in _FIELDS}} for e in rows]


def delete_custom(session: Session, *, user: User) -> None:
    """A deleted therapist's own exercises go, except those a couple's plan still uses: the
    plan belongs to the couple (the caller commits)."""
    session.execute(
        delete(Exercise).where(
            col(Exercise.owner_id) == user.id,
            col(Exercise.custom).is_(True),
            col(Exercise.id).not_in(hooks.exercise_use().in_use()),
        )
    )
