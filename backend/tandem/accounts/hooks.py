"""Where the couples domain plugs into sign-up, at start-up (tandem/wiring.py): an invitation
code given with a new account is checked before the account is made (so without a valid code
nobody learns which emails exist) and accepted in the same transaction. Accounts sit below
couples and never import them.
"""

from typing import Protocol

from sqlmodel import Session

from tandem.accounts.models import RegisterBody, User
from tandem.core.config import Settings


class SignupInvitations(Protocol):
    def check(
        self, session: Session, *, settings: Settings, data: RegisterBody, address: str | None
    ) -> None:
        """Refuse (a domain error) a code that is not usable for this sign-up."""

    def accept(
        self,
        session: Session,
        *,
        settings: Settings,
        user: User,
        code: str,
        address: str | None,
    ) -> None:
        """Join the new account to the couple (the caller commits)."""


_invitations: list[SignupInvitations] = []


def provide_signup_invitations(invitations: SignupInvitations) -> None:
    _invitations[:] = [invitations]


def signup_invitations() -> SignupInvitations:
    if not _invitations:
        raise RuntimeError("no domain handles invitations: call tandem.wiring.register() first")
    return _invitations[0]
