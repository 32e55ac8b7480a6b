from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from tandem.api.access import CurrentUser, OneHop, Therapist
from tandem.core.db import SessionDep
from tandem.core.schemas import parse_id
from tandem.exercises import service
from tandem.exercises.models import Category, ExerciseCreate, ExerciseRead, ExerciseUpdate

router = APIRouter(
    prefix="/api",
    tags=["exercises"],
    dependencies=[Depends(service.library_ready)],
    route_class=OneHop,
)


@router.get("/exercises", response_model=list[ExerciseRead])
def list_exercises(
    user: CurrentUser,
    session: SessionDep,
    category: Annotated[Category | None, Query()] = None,
) -> list[ExerciseRead]:
    return [
        ExerciseRead.model_validate(e)
        for e in service.list_exercises(session, user=user, category=category)
    ]


@router.post("/exercises", status_code=status.HTTP_201_CREATED, response_model=ExerciseRead)
def create_exercise(data: ExerciseCreate, user: Therapist, session: SessionDep) -> ExerciseRead:
    return ExerciseRead.model_validate(service.create_exercise(session, user=user, data=data))


@router.get("/exercises/{exercise_id}", response_model=ExerciseRead)
def read_exercise(exercise_id: str, user: CurrentUser, session: SessionDep) -> ExerciseRead:
    exercise = service.get_exercise(session, user=user, exercise_id=parse_id(exercise_id))
    return ExerciseRead.model_validate(exercise)


@router.patch("/exercises/{exercise_id}", response_model=ExerciseRead)
def update_exercise(
    exercise_id: str, data: ExerciseUpdate, user: Therapist, session: SessionDep
) -> ExerciseRead:
    exercise = service.update_exercise(
        session, user=user, exercise_id=parse_id(exercise_id), data=data
    )
    return ExerciseRead.model_validate(exercise)
