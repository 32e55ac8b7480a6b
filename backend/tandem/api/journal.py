from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from tandem.api.access import CoupleMember, CouplePartner, CurrentUser, OneHop, SettingsDep
from tandem.core.db import SessionDep
from tandem.core.schemas import Instant, parse_id
from tandem.journal import service
from tandem.journal.entries import CHECKIN, NOTE, Page
from tandem.journal.models import (
    CheckinCreate,
    CheckinRead,
    CheckinUpdate,
    NoteCreate,
    NoteRead,
    NoteUpdate,
    Visibility,
)

router = APIRouter(prefix="/api", tags=["journal"], route_class=OneHop)

LISTS = (
    "Newest first. Paginate with `limit` (1–200, default 50) and `before`: the `created_at` of "
    "the last entry already shown (ISO 8601 with its offset, as the API gives it); only "
    "strictly older entries come back. `visibility` narrows the list to one visibility."
)


async def _page(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Instant | None = None,
    visibility: Visibility | None = None,
) -> Page:
    return Page(limit=limit, before=before, visibility=visibility)


Paging = Annotated[Page, Depends(_page)]


# --- check-ins ----------------------------------------------------------------------------


@router.post(
    "/couples/{couple_id}/checkins",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckinRead,
)
def create_checkin(
    data: CheckinCreate, membership: CouplePartner, session: SessionDep, settings: SettingsDep
) -> CheckinRead:
    return service.create_checkin(session, settings=settings, membership=membership, data=data)


@router.get("/couples/{couple_id}/checkins", response_model=list[CheckinRead], description=LISTS)
def list_couple_checkins(
    membership: CoupleMember,
    session: SessionDep,
    settings: SettingsDep,
    page: Paging,
) -> list[NoteRead | CheckinRead]:
    return service.couple_entries(
        session,
        settings=settings,
        kind=CHECKIN,
        membership=membership,
        page=page,
    )


@router.patch("/checkins/{checkin_id}", response_model=CheckinRead)
def update_checkin(
    checkin_id: str,
    data: CheckinUpdate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> CheckinRead:
    return service.update_checkin(
        session, settings=settings, user=user, checkin_id=parse_id(checkin_id), data=data
    )


@router.delete("/checkins/{checkin_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_checkin(checkin_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.delete_entry(session, kind=CHECKIN, user=user, entry_id=parse_id(checkin_id))


@router.get(
    "/me/checkins",
    response_model=list[CheckinRead],
    description="Every check-in I wrote, in every couple, also after leaving. " + LISTS,
)
def list_my_checkins(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    page: Paging,
) -> list[NoteRead | CheckinRead]:
    return service.my_entries(
        session,
        settings=settings,
        kind=CHECKIN,
        user=user,
        page=page,
    )


# --- notes --------------------------------------------------------------------------------


@router.post(
    "/couples/{couple_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NoteRead
)
def create_note(
    data: NoteCreate, membership: CouplePartner, session: SessionDep, settings: SettingsDep
) -> NoteRead:
    return service.create_note(session, settings=settings, membership=membership, data=data)


@router.get("/couples/{couple_id}/notes", response_model=list[NoteRead], description=LISTS)
def list_couple_notes(
    membership: CoupleMember,
    session: SessionDep,
    settings: SettingsDep,
    page: Paging,
) -> list[NoteRead | CheckinRead]:
    return service.couple_entries(
        session,
        settings=settings,
        kind=NOTE,
        membership=membership,
        page=page,
    )


@router.patch("/notes/{note_id}", response_model=NoteRead)
def update_note(
    note_id: str, data: NoteUpdate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> NoteRead:
    return service.update_note(
        session, settings=settings, user=user, note_id=parse_id(note_id), data=data
    )


@router.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_note(note_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.delete_entry(session, kind=NOTE, user=user, entry_id=parse_id(note_id))


@router.get(
    "/me/notes",
    response_model=list[NoteRead],
    description="Every note I wrote, in every couple, also after leaving. " + LISTS,
)
def list_my_notes(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    page: Paging,
) -> list[NoteRead | CheckinRead]:
    return service.my_entries(
        session,
        settings=settings,
        kind=NOTE,
        user=user,
        page=page,
    )
