"""Building blocks for request and response bodies shared by every domain."""

import re
import uuid
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

from tandem.errors import NotFound


class Body(BaseModel):
    """A request body: unknown fields are an error (422), never silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer: `{"detail": ...}`, a sentence, or for a malformed request (422) the
    fields at fault (never the values sent: they may be a password or a note)."""

    detail: str | list[FieldError]


_TIMEZONES = available_timezones()


def _known_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("unknown time zone; use an IANA name such as Europe/Berlin")
    ZoneInfo(value)
    return value


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value


TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_timezone)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def not_blank(message: str) -> AfterValidator:
    """Text that may be left out, but not sent empty: bodies strip surrounding spaces, and
    what is left must say something. `message` is a sentence a person can act on."""

    def check(value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", message)
        return value

    return AfterValidator(check)


def parse_id(value: str) -> uuid.UUID:
    """Ids in paths: a malformed one is as unknown as any other (404), not a validation error."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound() from exc
