"""An invitation code given at sign-up, as the accounts domain asks for it (accounts/hooks.py):
checked before the account is made, accepted in the same transaction."""

from sqlmodel import Session

from tandem.accounts.models import RegisterBody, User
from tandem.core import throttle
from tandem.core.config import Settings
from tandem.core.errors import Invalid
from tandem.couples import service


class SignupInvitations:
    def check(
        self, session: Session, *, settings: Settings, data: RegisterBody, address: str | None
    ) -> None:
        assert data.invitation_code is not None
        invite_keys = service.invitation_throttle_keys(settings, user=None, address=address)
        throttle.attempt(session, invite_keys)
        invitation = service.find_usable_invitation(session, data.invitation_code)
        if invitation is None:
            session.commit()  # the guess counts
            raise Invalid("This invitation code is not valid, was already used or has expired")
        if invitation.role != data.role:
            raise Invalid(f"This invitation is for a {invitation.role} account")
        throttle.succeeded(session, invite_keys)

    def accept(
        self,
        session: Session,
        *,
        settings: Settings,
        user: User,
        code: str,
        address: str | None,
    ) -> None:
        service.accept_invitation(
            session, settings=settings, user=user, code=code, address=address, commit=False
        )
