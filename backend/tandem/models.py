"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from tandem.accounts.models import AuthSession, RefreshToken, Throttle, User
from tandem.audit import AuditEvent
from tandem.couples.models import Couple, Invitation, Membership
from tandem.db import metadata
from tandem.exercises.models import Exercise
from tandem.plans.models import (
    PlanItem,
    PlanItemAssignee,
    SessionLog,
    SessionLogRequest,
    WeeklyPlan,
)

__all__ = [
    "AuditEvent",
    "AuthSession",
    "Couple",
    "Exercise",
    "Invitation",
    "Membership",
    "PlanItem",
    "PlanItemAssignee",
    "RefreshToken",
    "SessionLog",
    "SessionLogRequest",
    "Throttle",
    "User",
    "WeeklyPlan",
    "metadata",
]
