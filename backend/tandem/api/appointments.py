from fastapi import APIRouter, Query

from tandem.api.access import (
    ClientAddress,
    CoupleMember,
    CouplePartner,
    CoupleTherapist,
    OneHop,
    SettingsDep,
    Therapist,
)
from tandem.api.openapi import errors
from tandem.appointments import prep, service
from tandem.appointments.models import (
    AppointmentRead,
    AppointmentSet,
    InvitationPreview,
    InvitationPreviewBody,
    PrepBody,
    PrepRead,
    SharedPrepRead,
    TherapistProfileBody,
    TherapistProfileRead,
)
from tandem.core.db import SessionDep

router = APIRouter(prefix="/api", tags=["appointments"], route_class=OneHop)


@router.get("/me/therapist-profile", response_model=TherapistProfileRead)
def read_my_profile(user: Therapist, session: SessionDep) -> TherapistProfileRead:
    return service.my_profile(session, user=user)


@router.put("/me/therapist-profile", response_model=TherapistProfileRead)
def put_my_profile(
    data: TherapistProfileBody, user: Therapist, session: SessionDep
) -> TherapistProfileRead:
    return service.put_my_profile(session, user=user, data=data)


# The code rides in a URL fragment, so the PWA uses POST; GET is the SPEC's form. Neither
# logs the code (uvicorn's access log is off, and nothing here writes it anywhere).
@router.get("/invitations/preview", response_model=InvitationPreview, responses=errors(404))
def preview_invitation_by_query(
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
    code: str = Query(min_length=1, max_length=64),
) -> InvitationPreview:
    return service.preview_invitation(session, settings=settings, code=code, address=address)


@router.post("/invitations/preview", response_model=InvitationPreview, responses=errors(404))
def preview_invitation(
    data: InvitationPreviewBody, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> InvitationPreview:
    return service.preview_invitation(session, settings=settings, code=data.code, address=address)


@router.get("/couples/{couple_id}/therapist-profile", response_model=TherapistProfileRead)
def read_couple_therapist_profile(
    membership: CoupleMember, session: SessionDep
) -> TherapistProfileRead:
    return service.couple_therapist_profile(session, couple_id=membership.couple_id)


@router.get("/couples/{couple_id}/next-appointment", response_model=AppointmentRead | None)
def read_next_appointment(membership: CoupleMember, session: SessionDep) -> AppointmentRead | None:
    """`null` while none is booked (the usual case, not an error: no 404 in the console)."""
    appointment = service.next_appointment(session, couple_id=membership.couple_id)
    return None if appointment is None else AppointmentRead.model_validate(appointment)


@router.put("/couples/{couple_id}/next-appointment", response_model=AppointmentRead)
def set_next_appointment(
    data: AppointmentSet, membership: CoupleTherapist, session: SessionDep
) -> AppointmentRead:
    appointment = service.set_next_appointment(session, membership=membership, data=data)
    return AppointmentRead.model_validate(appointment)


@router.get("/couples/{couple_id}/prep", response_model=PrepRead)
def read_my_prep(membership: CouplePartner, session: SessionDep, settings: SettingsDep) -> PrepRead:
    return prep.my_prep(session, settings=settings, membership=membership)


@router.put("/couples/{couple_id}/prep", response_model=PrepRead, responses=errors(409))
def put_my_prep(
    data: PrepBody, membership: CouplePartner, session: SessionDep, settings: SettingsDep
) -> PrepRead:
    return prep.put_my_prep(session, settings=settings, membership=membership, data=data)


@router.get("/couples/{couple_id}/prep/shared", response_model=list[SharedPrepRead])
def read_shared_prep(
    membership: CoupleMember, session: SessionDep, settings: SettingsDep
) -> list[SharedPrepRead]:
    return prep.shared_prep(session, settings=settings, membership=membership)
