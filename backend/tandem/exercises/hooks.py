"""Where plans tell the library which exercises they use, at start-up (tandem/wiring.py):
an exercise in a couple's plan is visible to its partners, and is kept when its author's
account goes (the plan belongs to the couple). Plans build on exercises, so the library asks
through this protocol instead of importing them.
"""

from typing import Any, Protocol


class ExerciseUse(Protocol):
    def planned_for(self, couple_ids: Any, *, published_only: bool) -> Any:
        """A SELECT of the exercise ids in the plans of the couples in `couple_ids` (a SELECT
        of couple ids), only the published plans' when `published_only`."""

    def in_use(self) -> Any:
        """A SELECT of the exercise ids any plan uses."""


_use: list[ExerciseUse] = []


def provide_exercise_use(use: ExerciseUse) -> None:
    _use[:] = [use]


def exercise_use() -> ExerciseUse:
    if not _use:
        # Deleting custom exercises without knowing which plans use them would lose plans.
        raise RuntimeError("no domain reports exercise use: call tandem.wiring.register() first")
    return _use[0]
