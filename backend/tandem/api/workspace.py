from typing import Annotated

from fastapi import APIRouter, Query, Response

from tandem.api.access import CouplePartner, CoupleTherapist, OneHop, SettingsDep, Therapist
from tandem.api.openapi import errors
from tandem.core import audit
from tandem.core.db import SessionDep
from tandem.core.schemas import Day
from tandem.couples import service as couples
from tandem.workspace import brief, overview, service
from tandem.workspace.history import history
from tandem.workspace.models import (
    MAX_INACTIVE_DAYS,
    BriefRead,
    EventKind,
    OverviewRead,
    RatingKey,
    TimelineRead,
    WeekSummaryRead,
    WorkspaceSettingsBody,
    WorkspaceSettingsRead,
)

router = APIRouter(prefix="/api", tags=["workspace"], route_class=OneHop)

Since = Annotated[
    Day | None, Query(alias="from", description="First day (the couple's local date)")
]
Until = Annotated[Day | None, Query(alias="to", description="Last day, included")]
Rating = Annotated[int | None, Query(ge=0, le=10)]
RATING_PATTERN = "^(none|" + "|".join(RatingKey) + ")$"


@router.get("/me/workspace-settings", response_model=WorkspaceSettingsRead)
def read_workspace_settings(user: Therapist, session: SessionDep) -> WorkspaceSettingsRead:
    return service.my_settings(session, user_id=user.id)


@router.put("/me/workspace-settings", response_model=WorkspaceSettingsRead)
def put_workspace_settings(
    data: WorkspaceSettingsBody, user: Therapist, session: SessionDep
) -> WorkspaceSettingsRead:
    return service.put_my_settings(session, user_id=user.id, data=data)


@router.get(
    "/therapist/overview",
    response_model=OverviewRead,
    description=(
        "Every couple of the signed-in therapist in one answer. The query overrides the saved "
        "settings for this answer only: `inactive_days` (1–90), and `rating` (closeness, "
        "enjoyment, comfort, anxiety, or none) with `rating_at_least` or `rating_at_most`."
    ),
)
def read_overview(
    user: Therapist,
    session: SessionDep,
    settings: SettingsDep,
    inactive_days: Annotated[int | None, Query(ge=1, le=MAX_INACTIVE_DAYS)] = None,
    rating: Annotated[str | None, Query(pattern=RATING_PATTERN)] = None,
    rating_at_least: Rating = None,
    rating_at_most: Rating = None,
) -> Response:
    rules = service.with_overrides(
        service.my_settings(session, user_id=user.id),
        inactive_days=inactive_days,
        rating=rating,
        at_least=rating_at_least,
        at_most=rating_at_most,
    )
    answer = overview.overview(session, settings=settings, therapist=user, rules=rules)
    # Serialized once: 200 rows validated again against the response model cost as much as
    # building them (the model still documents the answer).
    return Response(answer.model_dump_json(), media_type="application/json")


@router.get(
    "/couples/{couple_id}/timeline",
    response_model=TimelineRead,
    responses=errors(403, 422),
    description=(
        "What happened between `from` and `to` (the couple's local dates; by default the "
        "weeks the couple has existed, up to a year): adherence per week, exercise and "
        "partner, the check-in ratings shared with the therapist, and the events, newest "
        "first (`kind` narrows them). Shared entries read here are in the access log."
    ),
)
def read_timeline(
    membership: CoupleTherapist,
    session: SessionDep,
    settings: SettingsDep,
    since: Since = None,
    until: Until = None,
    kind: Annotated[list[EventKind] | None, Query()] = None,
) -> TimelineRead:
    couple = couples.get_couple(session, membership.couple_id)
    since, until = service.history_span(couple, since, until)
    found = history(
        session,
        settings=settings,
        couple=couple,
        reader_id=membership.user_id,
        since=since,
        until=until,
    )
    events = [e for e in found.events if kind is None or e.kind in kind]
    answer = TimelineRead(
        couple_id=couple.id,
        label=couple.label,
        timezone=couple.timezone,
        since=since,
        until=until,
        partners=found.partners,
        weeks=found.weeks,
        ratings=found.ratings,
        events=events,
    )
    audit.record_reads(
        session,
        action="journal.read_by_therapist",
        reader_id=membership.user_id,
        couple_id=couple.id,
        author_ids=found.authors_read,
        detail="timeline",
    )
    audit.record_reads(
        session,
        action="dispute_reason.read_by_therapist",
        reader_id=membership.user_id,
        couple_id=couple.id,
        author_ids=found.reasons_read,
        detail="timeline",
    )
    return answer


@router.get(
    "/couples/{couple_id}/brief",
    response_model=BriefRead,
    responses=errors(403, 422),
    description=(
        "The session brief: by default from the last appointment (or the last four weeks) "
        "to today, and the preparation shared for the next appointment."
    ),
)
def read_brief(
    membership: CoupleTherapist,
    session: SessionDep,
    settings: SettingsDep,
    since: Since = None,
    until: Until = None,
) -> BriefRead:
    couple = couples.get_couple(session, membership.couple_id)
    return brief.brief(
        session,
        settings=settings,
        couple=couple,
        therapist_id=membership.user_id,
        since=since,
        until=until,
    )


@router.get(
    "/couples/{couple_id}/summary",
    response_model=WeekSummaryRead,
    responses=errors(403),
    description="A partner's printable week: what they wrote, and what was shared with them.",
)
def read_week_summary(
    membership: CouplePartner,
    session: SessionDep,
    settings: SettingsDep,
    week_start: Day,
) -> WeekSummaryRead:
    couple = couples.get_couple(session, membership.couple_id)
    return brief.week_summary(
        session, settings=settings, couple=couple, me=membership.user_id, week_start=week_start
    )
