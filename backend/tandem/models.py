"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from tandem.accounts.models import AuthSession, RefreshToken, Throttle, User
from tandem.audit import AuditEvent
from tandem.couples.models import Couple, Invitation, Membership
from tandem.db import metadata
from tandem.reminders.models import Notification, PushSubscription, ReminderPreference

__all__ = [
    "AuditEvent",
    "AuthSession",
    "Couple",
    "Invitation",
    "Membership",
    "Notification",
    "PushSubscription",
    "RefreshToken",
    "ReminderPreference",
    "Throttle",
    "User",
    "metadata",
]
