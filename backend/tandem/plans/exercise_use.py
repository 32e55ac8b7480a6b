"""Which exercises the plans use, as the library asks (exercises/hooks.py)."""

from typing import Any

from sqlmodel import col, select

from tandem.plans.models import PlanItem, PlanStatus, WeeklyPlan


class ExercisesInPlans:
    def planned_for(self, couple_ids: Any, *, published_only: bool) -> Any:
        planned = (
            select(PlanItem.exercise_id)
            .join(WeeklyPlan, col(WeeklyPlan.id) == PlanItem.plan_id)
            .where(col(WeeklyPlan.couple_id).in_(couple_ids))
        )
        if published_only:
            planned = planned.where(WeeklyPlan.status == PlanStatus.published)
        return planned

    def in_use(self) -> Any:
        return select(PlanItem.exercise_id)
