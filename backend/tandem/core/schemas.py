"""Building blocks for request and response bodies shared by every domain.

What the database cannot hold, or the calendar arithmetic cannot survive, is refused here, at
the edge, as 422, for every field of every body (`Body`) and for the query and path values
typed with `Instant` and `Day` (the middleware refuses a NUL in any query string or path):

- text with a NUL character (PostgreSQL's text cannot store it) or a lone surrogate (not
  UTF-8: neither database can store it);
- dates and times outside EARLIEST..LATEST: year 1 or 9999 with a +14:00 offset overflow the
  moment they are converted to UTC or a week is added to them;
- whole numbers beyond a 32-bit column, and floats that are not numbers (NaN, infinity).
"""

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from tandem.core.errors import Invalid, NotFound

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
DATE_RANGE = "Choose a date between 2000 and 2099."
BAD_TEXT = "This text contains a character that cannot be stored (a NUL or a broken character)."
TOO_BIG = "This number is too large."
INT_LIMIT = 2**31 - 1


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return BAD_TEXT
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from a JSON "\ud800" escape
        return BAD_TEXT
    return None


def day_in_range(value: date) -> bool:
    # The local calendar date, before any conversion: within the range, converting to UTC or
    # adding weeks cannot overflow.
    return EARLIEST <= (value.date() if isinstance(value, datetime) else value) <= LATEST


def _storable(value: Any) -> None:
    """Refuse what no column can hold, anywhere inside a body's field."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise PydanticCustomError("text", problem)
    elif isinstance(value, date):
        if not day_in_range(value):
            raise PydanticCustomError("date_range", DATE_RANGE)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > INT_LIMIT:
            raise PydanticCustomError("int_range", TOO_BIG)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, BaseModel) and not isinstance(value, Body):
        for item in value.__dict__.values():
            _storable(item)


class Body(BaseModel):
    """A request body: unknown fields are an error (422), never silently ignored; text is
    stripped of surrounding spaces (except a `Password`); nothing unstorable gets through."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_unstorable(cls, value: Any) -> Any:
        _storable(value)
        return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    # The limit broken, e.g. {"ge": 1} or {"max_length": 80}: what the app puts into words.
    ctx: dict[str, int | float] | None = None


class ErrorOut(BaseModel):
    """Every error answer: `{"detail": ...}`, a sentence, or for a malformed request (422) the
    fields at fault (never the values sent: they may be a password or a note)."""

    detail: str | list[FieldError]


_TIMEZONES = available_timezones()


def _known_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("Tandem doesn't know this time zone. Choose one such as Europe/Berlin.")
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
# Exactly as typed (NIST SP 800-63B): spaces are part of a password, never stripped.
Password = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=1, max_length=256),
    WithJsonSchema({"type": "string", "format": "password", "minLength": 1, "maxLength": 256}),
]


def _bounded(value: date) -> date:
    if not day_in_range(value):
        raise PydanticCustomError("date_range", DATE_RANGE)
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError(
            "timezone_aware", "Give the time with its offset, e.g. 2026-11-26T10:00:00Z."
        )
    return value


# For query and path values (a body's fields are bounded by `Body` whatever their type).
Day = Annotated[date, AfterValidator(_bounded)]
Instant = Annotated[datetime, AfterValidator(_aware), AfterValidator(_bounded)]


def parse_day(value: str, *, name: str) -> date:
    """A date given as text (a path segment): an ISO date within the range, or 422."""
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{name} must be a date such as 2026-11-23") from exc
    if not day_in_range(day):
        raise Invalid(DATE_RANGE)
    return day


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
