"""Start-up wiring: every domain fills the registries of the layers below it.

A lower layer never imports a higher one (pyproject.toml's import-linter contracts); where it
needs something from above, it keeps a small registry (accounts/person_data.py,
accounts/hooks.py, couples/hooks.py, exercises/hooks.py, reminders/hooks.py,
core/metrics.py) and each domain's `wiring.register()` fills it. The app (tandem.main), the
standalone worker and the demo call `register()` before anything runs; it is idempotent.

The order is the order a deleted account's data goes in (accounts/person_data.py): the couples
first (leaving a couple closes what waited on the person), then what each domain keeps.
"""

from tandem.appointments import wiring as appointments
from tandem.couples import wiring as couples
from tandem.exercises import wiring as exercises
from tandem.journal import wiring as journal
from tandem.measures import wiring as measures
from tandem.plans import wiring as plans
from tandem.practice_times import wiring as practice_times
from tandem.reminders import wiring as reminders
from tandem.workspace import wiring as workspace

DOMAINS = [
    couples,
    journal,
    plans,
    exercises,
    appointments,
    practice_times,
    measures,
    reminders,
    workspace,
]


def register() -> None:
    for domain in DOMAINS:
        domain.register()
