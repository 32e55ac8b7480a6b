from fastapi import APIRouter, status

from tandem.api.access import (
    ClientAddress,
    CoupleMember,
    CurrentUser,
    OneHop,
    SettingsDep,
    short_read,
)
from tandem.api.openapi import errors
from tandem.core.db import SessionDep
from tandem.core.schemas import parse_id
from tandem.couples import service
from tandem.couples.models import (
    CoupleCreate,
    CoupleRead,
    InvitationCode,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    MembershipRead,
)

router = APIRouter(prefix="/api", tags=["couples"], route_class=OneHop)


@router.post(
    "/couples",
    status_code=status.HTTP_201_CREATED,
    response_model=CoupleRead,
    responses=errors(409),
)
def create_couple(data: CoupleCreate, user: CurrentUser, session: SessionDep) -> CoupleRead:
    couple = service.create_couple(session, user=user, data=data)
    return service.couple_read(session, couple, viewer_id=user.id)


@router.get("/couples", response_model=list[CoupleRead])
@short_read
def list_my_couples(user: CurrentUser, session: SessionDep) -> list[CoupleRead]:
    return service.couples_read(session, service.my_couples(session, user), viewer_id=user.id)


@router.get("/couples/{couple_id}", response_model=CoupleRead)
@short_read
def read_couple(membership: CoupleMember, session: SessionDep) -> CoupleRead:
    couple = service.get_couple(session, membership.couple_id)
    return service.couple_read(session, couple, viewer_id=membership.user_id)


@router.post(
    "/couples/{couple_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationCreated,
    responses=errors(403, 409),
)
def invite(
    data: InvitationCreate,
    membership: CoupleMember,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> InvitationCreated:
    return service.create_invitation(
        session, settings=settings, membership=membership, user=user, role=data.role
    )


@router.get("/couples/{couple_id}/invitations", response_model=list[InvitationRead])
@short_read
def list_invitations(membership: CoupleMember, session: SessionDep) -> list[InvitationRead]:
    return [
        InvitationRead.model_validate(i)
        for i in service.open_invitations(session, membership.couple_id)
    ]


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(403, 409),
)
def revoke_invitation(invitation_id: str, user: CurrentUser, session: SessionDep) -> None:
    service.revoke_invitation(session, user=user, invitation_id=parse_id(invitation_id))


@router.post("/invitations/accept", response_model=MembershipRead, responses=errors(403, 404, 409))
def accept_invitation(
    data: InvitationCode,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> MembershipRead:
    membership = service.accept_invitation(
        session, settings=settings, user=user, code=data.code, address=address
    )
    return MembershipRead.model_validate(membership)


@router.post("/couples/{couple_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
def leave(membership: CoupleMember, user: CurrentUser, session: SessionDep) -> None:
    service.leave(session, membership=membership, user=user)


@router.delete(
    "/couples/{couple_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(403),
)
def remove_member(
    user_id: str, membership: CoupleMember, user: CurrentUser, session: SessionDep
) -> None:
    service.remove_member(session, membership=membership, user=user, member_id=parse_id(user_id))
