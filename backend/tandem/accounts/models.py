import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field as PydanticField
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from tandem.core.db import optional_timestamp, timestamp, uuid_pk
from tandem.core.schemas import Body, DisplayName, Email, Out, Password, TimeZoneName


class Role(StrEnum):
    partner = "partner"
    therapist = "therapist"


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: uuid.UUID = uuid_pk()
    # Stored lower-cased, so uniqueness is case-insensitive on both databases.
    email: str = Field(max_length=254, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    display_name: str = Field(max_length=80)
    role: Role = Field(sa_type=String(16))
    timezone: str = Field(max_length=64)
    recovery_code_hash: str | None = Field(default=None, max_length=64)
    sso_subject: str | None = Field(default=None, max_length=255, unique=True)
    created_at: datetime = timestamp()
    # A deleted account stays as a nameless tombstone, so the couple's plans and joint
    # session history keep their shape; everything the person wrote is gone.
    deleted_at: datetime | None = optional_timestamp()


class SignIn(SQLModel, table=True):
    """One signed-in device: the family of its rotating refresh tokens."""

    __tablename__ = "auth_session"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    created_at: datetime = timestamp()
    last_used_at: datetime = timestamp()
    expires_at: datetime = timestamp()
    idle_seconds: int
    device: str | None = Field(default=None, max_length=120)
    revoked_at: datetime | None = optional_timestamp()


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    id: uuid.UUID = uuid_pk()
    # The sign-in it belongs to (the column keeps the table's older name).
    session_id: uuid.UUID = Field(foreign_key="auth_session.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp()
    rotated_at: datetime | None = optional_timestamp()


# --- bodies -------------------------------------------------------------------------------


class RegisterBody(Body):
    email: Email
    password: Password
    display_name: DisplayName
    role: Role
    timezone: TimeZoneName
    invitation_code: str | None = PydanticField(default=None, max_length=64)


class LoginBody(Body):
    email: str = PydanticField(max_length=254)
    password: Password


class LogoutBody(Body):
    endpoint: str | None = PydanticField(default=None, max_length=2048)


class RecoverBody(Body):
    email: str = PydanticField(max_length=254)
    recovery_code: str = PydanticField(max_length=64)
    new_password: Password


class PasswordChangeBody(Body):
    current_password: Password
    new_password: Password


class PasswordConfirmBody(Body):
    """The password again, before what cannot be undone (an account without one, from single
    sign-on, sends nothing and needs a recent sign-in instead)."""

    password: Password | None = None


class UserUpdate(Body):
    display_name: DisplayName | None = None
    timezone: TimeZoneName | None = None


# --- answers ------------------------------------------------------------------------------


class UserRead(Out):
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    timezone: str


class RegisteredUser(UserRead):
    recovery_code: str


class TokenRead(Out):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class RecoveryCodeRead(Out):
    recovery_code: str


class SignInRead(Out):
    id: uuid.UUID
    device: str | None
    created_at: datetime
    last_used_at: datetime
    current: bool


class AccessLogEntry(Out):
    at: datetime
    action: str
    actor_id: uuid.UUID | None
    actor_display_name: str | None
    couple_id: uuid.UUID | None
    # Which entries, by kind ("notes", "checkins") where the event says; never their content.
    what: str | None = None
