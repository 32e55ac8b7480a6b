"""What couples plug into the layers below them (called from tandem/wiring.py)."""

from tandem.accounts import hooks as accounts
from tandem.accounts import person_data
from tandem.couples import service
from tandem.couples.signup import SignupInvitations


def register() -> None:
    accounts.provide_signup_invitations(SignupInvitations())
    person_data.register(
        "couples",
        export=lambda session, user, _settings: {
            "memberships": service.export_memberships(session, user=user)
        },
        erase=lambda session, user: service.leave_every_couple(session, user=user),
    )
