"""Agreed practice times, the calendar feed, actions from a notification, nudges."""

from typing import Any

from fastapi import APIRouter, Query, Response, status

from tandem.api.access import (
    ClientAddress,
    CoupleMember,
    CouplePartner,
    CurrentUser,
    OneHop,
    SettingsDep,
)
from tandem.api.openapi import errors
from tandem.core.db import SessionDep
from tandem.core.schemas import parse_id
from tandem.practice_times import actions, feed, nudges, service
from tandem.practice_times.models import (
    FeedCreate,
    FeedCreated,
    FeedStatus,
    FeedUpdate,
    NudgeBody,
    ReminderActionBody,
    SlotCreate,
    SlotMove,
    SlotRead,
)

router = APIRouter(prefix="/api", tags=["practice times"], route_class=OneHop)

CALENDAR: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)"}
}
ICS = "text/calendar; charset=utf-8"


# --- slots --------------------------------------------------------------------------------


@router.post(
    "/plan-items/{item_id}/slots",
    status_code=status.HTTP_201_CREATED,
    responses=errors(403, 409),
)
def propose_slot(
    item_id: str, data: SlotCreate, user: CurrentUser, session: SessionDep
) -> SlotRead:
    slot = service.propose(session, user=user, item_id=parse_id(item_id), data=data, now=None)
    return service.read(slot)


@router.get("/couples/{couple_id}/slots")
def list_slots(
    membership: CoupleMember,
    session: SessionDep,
    week_start: str | None = Query(default=None, max_length=10),
) -> list[SlotRead]:
    week = service.parse_week(week_start)
    return [
        service.read(s) for s in service.week_slots(session, membership=membership, week_start=week)
    ]


@router.post("/slots/{slot_id}/accept", responses=errors(403, 409))
def accept_slot(slot_id: str, user: CurrentUser, session: SessionDep) -> SlotRead:
    return service.read(service.answer(session, user=user, slot_id=parse_id(slot_id), accept=True))


@router.post("/slots/{slot_id}/decline", responses=errors(403, 409))
def decline_slot(slot_id: str, user: CurrentUser, session: SessionDep) -> SlotRead:
    return service.read(service.answer(session, user=user, slot_id=parse_id(slot_id), accept=False))


@router.patch("/slots/{slot_id}", responses=errors(403, 409))
def move_slot(slot_id: str, data: SlotMove, user: CurrentUser, session: SessionDep) -> SlotRead:
    return service.read(service.move(session, user=user, slot_id=parse_id(slot_id), data=data))


@router.delete(
    "/slots/{slot_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 409)
)
def cancel_slot(slot_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.cancel(session, user=user, slot_id=parse_id(slot_id))


# --- calendar feed ------------------------------------------------------------------------


@router.post("/me/calendar-feed", status_code=status.HTTP_201_CREATED, responses=errors(403, 409))
def create_calendar_feed(
    user: CurrentUser, session: SessionDep, settings: SettingsDep, data: FeedCreate | None = None
) -> FeedCreated:
    """A new secret feed URL, shown this once; the previous URL stops working."""
    return feed.create(session, settings=settings, user=user, data=data)


@router.get("/me/calendar-feed")
def read_calendar_feed(user: CurrentUser, session: SessionDep) -> FeedStatus:
    return feed.status(session, user=user)


@router.patch("/me/calendar-feed", responses=errors(404))
def update_calendar_feed(data: FeedUpdate, user: CurrentUser, session: SessionDep) -> FeedStatus:
    return feed.update(session, user=user, data=data)


@router.delete("/me/calendar-feed", status_code=status.HTTP_204_NO_CONTENT)
def delete_calendar_feed(user: CurrentUser, session: SessionDep) -> None:
    feed.remove(session, user=user)


# The secret is a path segment (calendar apps drop query strings and headers). Request logs and
# metrics name the route template, never the path (middleware.Observe), so it is never written.
@router.get(
    "/calendar/{secret}.ics",
    response_class=Response,
    responses={**CALENDAR, **errors(404, 429)},
)
def read_calendar(
    secret: str, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> Response:
    body = feed.serve(session, settings=settings, secret=secret[:100], address=address)
    # Private: a shared cache must never hold someone's calendar.
    return Response(body, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


@router.get(
    "/couples/{couple_id}/next-appointment.ics",
    response_class=Response,
    responses={**CALENDAR, **errors(404)},
)
def download_next_appointment(
    membership: CoupleMember, session: SessionDep, settings: SettingsDep
) -> Response:
    body = feed.appointment_file(session, settings=settings, membership=membership)
    return Response(
        body,
        media_type=ICS,
        headers={"Content-Disposition": 'attachment; filename="tandem-appointment.ics"'},
    )


# --- actions from a notification, nudges -------------------------------------------------


@router.post(
    "/reminder-actions", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409, 410)
)
def act_on_reminder(data: ReminderActionBody, session: SessionDep, settings: SettingsDep) -> None:
    """For the service worker, which has no access token: the notification's own token."""
    actions.act(session, settings=settings, data=data)


@router.post(
    "/couples/{couple_id}/nudges",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={202: {"description": "Accepted"}, **errors(409, 429)},
)
def send_nudge(
    data: NudgeBody, membership: CouplePartner, user: CurrentUser, session: SessionDep
) -> Response:
    nudges.nudge(session, membership=membership, user=user, data=data)
    return Response(status_code=status.HTTP_202_ACCEPTED)
