"""What the exercise library plugs into the layers below it (called from tandem/wiring.py)."""

from tandem.accounts import person_data
from tandem.exercises import service


def register() -> None:
    person_data.register(
        "exercises",
        export=lambda session, user, _settings: {
            "custom_exercises": service.export_custom(session, user=user)
        },
        erase=lambda session, user: service.delete_custom(session, user=user),
    )
