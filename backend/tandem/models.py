"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from tandem.accounts.models import AuthSession, RefreshToken, Throttle, User
from tandem.appointments.models import Appointment, PrepSection, TherapistProfile
from tandem.audit import AuditEvent
from tandem.couples.models import Couple, Invitation, Membership
from tandem.crypto import UserDataKey
from tandem.db import metadata
from tandem.journal.models import PrivateCheckin, PrivateNote, SharedCheckin, SharedNote

__all__ = [
    "Appointment",
    "AuditEvent",
    "AuthSession",
    "Couple",
    "Invitation",
    "Membership",
    "PrepSection",
    "PrivateCheckin",
    "PrivateNote",
    "RefreshToken",
    "SharedCheckin",
    "SharedNote",
    "TherapistProfile",
    "Throttle",
    "User",
    "UserDataKey",
    "metadata",
]
