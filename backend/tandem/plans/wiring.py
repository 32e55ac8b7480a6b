"""What plans plug into the layers below them (called from tandem/wiring.py)."""

from tandem.accounts import person_data
from tandem.couples import hooks as couples
from tandem.exercises import hooks as exercises
from tandem.plans import answers, personal, progress
from tandem.plans.exercise_use import ExercisesInPlans
from tandem.reminders import hooks as reminders


def register() -> None:
    couples.on_partner_left("plans", answers.close_on_leaving)
    couples.provide_week_progress(progress.week_done_and_target)
    exercises.provide_exercise_use(ExercisesInPlans())
    reminders.provide_unfinished_work(
        lambda session, user_id, today: progress.has_unfinished_work(
            session, user_id=user_id, today=today
        )
    )
    person_data.register(
        "plans",
        export=lambda session, user, settings: personal.export(
            session, user=user, kek=settings.key_encryption_key
        ),
        erase=lambda session, user: personal.delete_authored(session, user=user),
    )
