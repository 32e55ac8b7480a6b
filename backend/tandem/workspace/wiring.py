"""What the therapist's workspace plugs into the layers below it (called from tandem/wiring.py)."""

from tandem.accounts import person_data
from tandem.workspace import service


def register() -> None:
    person_data.register(
        "workspace",
        export=lambda session, user, _settings: service.export(session, user_id=user.id),
        erase=lambda session, user: service.forget(session, user_id=user.id),
    )
