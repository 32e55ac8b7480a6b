import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from tandem.accounts.models import Role, User
from tandem.api.access import (
    CoupleMember,
    CoupleTherapist,
    CurrentUser,
    OneHop,
    SettingsDep,
    Therapist,
)
from tandem.api.openapi import errors
from tandem.core.db import SessionDep
from tandem.core.errors import Forbidden
from tandem.core.schemas import parse_id
from tandem.measures import catalogue, goals, results, service
from tandem.measures.models import (
    AssignmentBody,
    AssignmentRead,
    CustomMeasureBody,
    DueRead,
    FlagCountRead,
    GoalAttainmentRead,
    GoalBody,
    GoalRead,
    MeasureRead,
    RatingBody,
    ResponseBody,
    ResponseCreated,
    ResultRead,
    RiskFlagRead,
    TherapistResultRead,
)

router = APIRouter(prefix="/api", tags=["measures"], route_class=OneHop)


async def partner(user: CurrentUser) -> User:
    if user.role != Role.partner:
        raise Forbidden("Only a partner answers questionnaires")
    return user


Partner = Annotated[User, Depends(partner)]


# --- catalogue ----------------------------------------------------------------------------


@router.get("/measures", response_model=list[MeasureRead])
def list_measures(user: CurrentUser, session: SessionDep) -> list[MeasureRead]:
    """Built-in questionnaires and the custom ones of my therapist(s), or my own."""
    return catalogue.visible(session, user=user)


@router.post("/measures", status_code=status.HTTP_201_CREATED, response_model=MeasureRead)
def create_measure(data: CustomMeasureBody, user: Therapist, session: SessionDep) -> MeasureRead:
    return catalogue.create_custom(session, user=user, data=data)


# --- assignments --------------------------------------------------------------------------


@router.post(
    "/couples/{couple_id}/measure-assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=AssignmentRead,
    responses=errors(409),
)
def assign(
    data: AssignmentBody, membership: CoupleTherapist, session: SessionDep
) -> AssignmentRead:
    return service.assign(session, membership=membership, data=data)


@router.get("/couples/{couple_id}/measure-assignments", response_model=list[AssignmentRead])
def list_assignments(membership: CoupleTherapist, session: SessionDep) -> list[AssignmentRead]:
    return service.list_assignments(session, membership=membership)


@router.delete("/measure-assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_assignment(assignment_id: str, user: Therapist, session: SessionDep) -> None:
    """Ends the assignment; answers already given stay in the couple's history."""
    service.end_assignment(session, user=user, assignment_id=parse_id(assignment_id))


# --- answering ----------------------------------------------------------------------------


@router.get("/me/measures/due", response_model=list[DueRead], responses=errors(403))
def my_due(user: Partner, session: SessionDep) -> list[DueRead]:
    return service.my_due(session, user=user)


@router.post(
    "/measure-responses",
    status_code=status.HTTP_201_CREATED,
    response_model=ResponseCreated,
    responses=errors(403, 404, 409),
)
def submit(
    data: ResponseBody, user: Partner, session: SessionDep, settings: SettingsDep
) -> ResponseCreated:
    return service.submit(session, settings=settings, user=user, data=data)


# --- results ------------------------------------------------------------------------------


@router.get(
    "/couples/{couple_id}/measure-results",
    response_model=list[TherapistResultRead] | list[ResultRead],
    description="Oldest first. The therapist reads both partners' answers item by item; a "
    "partner reads only their own results (another person's id is a 404).",
)
def list_results(
    membership: CoupleMember,
    session: SessionDep,
    settings: SettingsDep,
    respondent_id: uuid.UUID | None = None,
    measure_key: Annotated[str | None, Query(max_length=64)] = None,
) -> list[TherapistResultRead] | list[ResultRead]:
    return results.results(
        session,
        settings=settings,
        membership=membership,
        respondent_id=respondent_id,
        measure_key=measure_key,
    )


@router.get("/couples/{couple_id}/measure-results/shared", response_model=list[ResultRead])
def shared_results(
    membership: CoupleMember, session: SessionDep, settings: SettingsDep
) -> list[ResultRead]:
    """Results the other partner chose to show me: score and band, never the answers."""
    return results.shared_with_me(session, settings=settings, membership=membership)


@router.post(
    "/measure-responses/{response_id}/share", response_model=ResultRead, responses=errors(409)
)
def share(
    response_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ResultRead:
    return results.share(
        session, settings=settings, user=user, response_id=parse_id(response_id), on=True
    )


@router.delete("/measure-responses/{response_id}/share", response_model=ResultRead)
def unshare(
    response_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ResultRead:
    return results.share(
        session, settings=settings, user=user, response_id=parse_id(response_id), on=False
    )


# --- risk flags ---------------------------------------------------------------------------


@router.get("/couples/{couple_id}/risk-flags", response_model=list[RiskFlagRead])
def list_risk_flags(membership: CoupleTherapist, session: SessionDep) -> list[RiskFlagRead]:
    return results.risk_flags(session, membership=membership)


@router.get("/me/risk-flags", response_model=list[FlagCountRead])
def my_flag_counts(user: Therapist, session: SessionDep) -> list[FlagCountRead]:
    """How many risk answers await me in each of my couples (for the overview)."""
    return results.open_flag_counts(session, user=user)


@router.post(
    "/risk-flags/{flag_id}/clear",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(409),
)
def clear_risk_flag(flag_id: str, user: Therapist, session: SessionDep) -> None:
    results.clear_flag(session, user=user, flag_id=parse_id(flag_id))


# --- goals --------------------------------------------------------------------------------


@router.post(
    "/couples/{couple_id}/goals", status_code=status.HTTP_201_CREATED, response_model=GoalRead
)
def create_goal(data: GoalBody, membership: CoupleTherapist, session: SessionDep) -> GoalRead:
    return goals.create(session, membership=membership, data=data)


@router.get("/couples/{couple_id}/goals", response_model=list[GoalRead])
def list_goals(membership: CoupleMember, session: SessionDep) -> list[GoalRead]:
    return goals.list_goals(session, membership=membership)


@router.get("/couples/{couple_id}/goal-attainment", response_model=GoalAttainmentRead)
def goal_attainment(membership: CoupleMember, session: SessionDep) -> GoalAttainmentRead:
    """The GAS T-score (Kiresuk & Sherman, ρ = 0.3) over the goals the caller may see."""
    return goals.attainment(session, membership=membership)


@router.post(
    "/goals/{goal_id}/ratings", status_code=status.HTTP_201_CREATED, response_model=GoalRead
)
def rate_goal(goal_id: str, data: RatingBody, user: CurrentUser, session: SessionDep) -> GoalRead:
    return goals.rate(session, user=user, goal_id=parse_id(goal_id), data=data)
