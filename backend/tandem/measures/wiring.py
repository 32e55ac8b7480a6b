"""What measures plug into the layers below them (called from tandem/wiring.py)."""

from tandem.accounts import person_data
from tandem.measures import reminders, results
from tandem.reminders import hooks


def register() -> None:
    hooks.register_planner("measures", reminders.plan)
    person_data.register(
        "measures",
        export=lambda session, user, settings: results.export_authored(
            session, settings=settings, user=user
        ),
        erase=lambda session, user: results.delete_authored(session, user_id=user.id),
    )
