"""What appointments plug into the layers below them (called from tandem/wiring.py)."""

from typing import Any

from sqlmodel import Session

from tandem.accounts import person_data
from tandem.accounts.models import User
from tandem.appointments import prep, service
from tandem.core.config import Settings


def _export(session: Session, user: User, settings: Settings) -> dict[str, Any]:
    return {
        "preparations": prep.export_authored(session, settings=settings, user=user),
        **service.export_profile(session, user=user),
    }


def _erase(session: Session, user: User) -> None:
    prep.delete_authored(session, user_id=user.id)
    service.delete_profile(session, user_id=user.id)


def register() -> None:
    person_data.register("appointments", export=_export, erase=_erase)
