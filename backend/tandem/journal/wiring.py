"""What the journal plugs into the layers below it (called from tandem/wiring.py)."""

from tandem.accounts import person_data
from tandem.journal import service


def register() -> None:
    person_data.register(
        "journal",
        export=lambda session, user, settings: service.export_authored(
            session, settings=settings, user=user
        ),
        erase=lambda session, user: service.delete_authored(session, user_id=user.id),
    )
