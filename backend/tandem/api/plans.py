from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status

from tandem.api import plan_read
from tandem.api.access import (
    AccessDep,
    CoupleMember,
    CoupleTherapist,
    CurrentUser,
    OneHop,
    SettingsDep,
)
from tandem.core import loop_db
from tandem.core.db import SessionDep
from tandem.core.schemas import parse_id
from tandem.couples import service as couples
from tandem.exercises.service import library_ready
from tandem.plans import answers, practice_logs, progress, service
from tandem.plans.models import (
    AdherenceRead,
    DisputeBody,
    PlanPut,
    PlanRead,
    PracticeLogCreate,
    PracticeLogRead,
)

router = APIRouter(
    prefix="/api", tags=["plans"], dependencies=[Depends(library_ready)], route_class=OneHop
)


# Declared before /plans/{week_start}, which would otherwise take "current" for a week.
# Both reads: two queries, no threadpool hop on SQLite (api/plan_read.py), and the current week's
# is also served before the router (api/fast_paths.py): the path every partner's phone takes.
@router.get("/couples/{couple_id}/plans/current", response_model=PlanRead)
async def read_current_plan(couple_id: str, request: Request, claims: AccessDep) -> Response:
    body = await plan_read.read(
        request.app.state.engine,
        claims=claims,
        couple_id=couple_id,
        week_start=None,
        kek=request.app.state.settings.key_encryption_key,
    )
    return Response(body, media_type="application/json")


@router.get("/couples/{couple_id}/plans/{week_start}", response_model=PlanRead)
async def read_plan(
    couple_id: str, week_start: str, request: Request, claims: AccessDep
) -> Response:
    body = await plan_read.read(
        request.app.state.engine,
        claims=claims,
        couple_id=couple_id,
        week_start=week_start,
        kek=request.app.state.settings.key_encryption_key,
    )
    return Response(body, media_type="application/json")


@router.put("/couples/{couple_id}/plans/{week_start}", response_model=PlanRead)
def put_plan(
    week_start: str,
    data: PlanPut,
    membership: CoupleTherapist,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> PlanRead:
    plan = service.put_plan(
        session,
        user=user,
        couple_id=membership.couple_id,
        week_start=progress.parse_week(week_start),
        data=data,
    )
    return service.plan_read(session, plan, viewer=membership, kek=settings.key_encryption_key)


@router.post("/couples/{couple_id}/plans/{week_start}/publish", response_model=PlanRead)
def publish_plan(
    week_start: str, membership: CoupleTherapist, session: SessionDep, settings: SettingsDep
) -> PlanRead:
    plan = service.publish(
        session, couple_id=membership.couple_id, week_start=progress.parse_week(week_start)
    )
    return service.plan_read(session, plan, viewer=membership, kek=settings.key_encryption_key)


@router.post(
    "/couples/{couple_id}/plans/{week_start}/copy-forward",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanRead,
)
def copy_plan_forward(
    week_start: str,
    membership: CoupleTherapist,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> PlanRead:
    plan = service.copy_forward(
        session,
        user=user,
        couple_id=membership.couple_id,
        week_start=progress.parse_week(week_start),
    )
    return service.plan_read(session, plan, viewer=membership, kek=settings.key_encryption_key)


@router.get("/couples/{couple_id}/adherence", response_model=AdherenceRead)
def read_adherence(
    membership: CoupleMember,
    session: SessionDep,
    weeks: Annotated[int, Query(ge=1, le=104)] = 12,
) -> AdherenceRead:
    couple = couples.get_couple(session, membership.couple_id)
    return progress.adherence(session, couple=couple, weeks=weeks)


@router.post(
    "/plan-items/{item_id}/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=PracticeLogRead,
)
async def log_practice(
    item_id: str, data: PracticeLogCreate, request: Request, claims: AccessDep
) -> Response:
    # The busiest write: authentication, the use case and the answer on one connection, on the
    # event loop on SQLite (core/loop_db.py), one query for every check (plans/practice_logs.py);
    # also served before the router (api/fast_paths.py).
    code, body = await loop_db.run_write(
        request.app.state.engine,
        practice_logs.log_practice_json,
        claims=claims,
        item_id=item_id,
        data=data,
        kek=request.app.state.settings.key_encryption_key,
    )
    return Response(body, status_code=code, media_type="application/json")


@router.post("/sessions/{session_id}/confirm", response_model=PracticeLogRead)
def confirm_practice(session_id: str, user: CurrentUser, session: SessionDep) -> PracticeLogRead:
    return answers.answer(session, user=user, log_id=parse_id(session_id), confirm=True)


@router.post("/sessions/{session_id}/dispute", response_model=PracticeLogRead)
def dispute_practice(
    session_id: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    data: Annotated[DisputeBody | None, Body()] = None,
) -> PracticeLogRead:
    # The body is optional: an offline queue replays a dispute made without a reason as a
    # bare POST.
    return answers.answer(
        session,
        user=user,
        log_id=parse_id(session_id),
        confirm=False,
        reason=data.reason if data else None,
        kek=settings.key_encryption_key,
    )


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_practice(session_id: str, user: CurrentUser, session: SessionDep) -> None:
    answers.withdraw(session, user=user, log_id=parse_id(session_id))
