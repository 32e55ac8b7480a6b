"""Schemathesis against the app's own OpenAPI description, as each kind of caller.

Every operation the description lists (so every domain's routes, as they are merged) gets a
bounded number of generated requests, valid and invalid, with a fixed seed. Each answer must
not be a server error, must use a status code the description documents, and must match the
documented schema for that code. A finding is fixed in the app or in the description, never by
dropping a check.

Besides what Schemathesis generates from the description, a drawn share of the cases carries
one hostile value, from explicit strategies, in one body field, query parameter or path
parameter: datetimes at the ends of the calendar (year 1 or 9999 at ±14:00), text with a NUL or
a lone surrogate, integers beyond 32 and 64 bits. Those must be refused (4xx), so a new field
that lets them through to the database fails here, on either database.

Marked `fuzz`, it runs in both passes of `scripts/test`: PostgreSQL refuses what SQLite stores
(a NUL in text), so a leak shows as a 500 there.

The callers: anonymous, a partner and a therapist of one couple. Generated requests can end the
caller's session (`DELETE /api/me`, sign out everywhere): a dead session is replaced by a fresh
one before the next case, so every case runs signed in as its role.
"""

from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import Actor, create_couple, invite, register

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 15

# --- hostile values ---------------------------------------------------------------------------

EXTREME_YEARS = st.sampled_from([1, 2, 1899, 1999, 2100, 9998, 9999])
OFFSETS = st.sampled_from(["+14:00", "-14:00", "Z", "+00:00", "-12:00"])
EXTREME_DATES = st.builds(
    lambda year, month, day: f"{year:04d}-{month:02d}-{day:02d}",
    EXTREME_YEARS,
    st.sampled_from([1, 12]),
    st.sampled_from([1, 27, 31]),
)
EXTREME_DATETIMES = st.builds(
    lambda day, time, offset: f"{day}T{time}{offset}",
    EXTREME_DATES,
    st.sampled_from(["00:00:00", "23:59:59", "12:00:00.999999"]),
    OFFSETS,
)
NUL_TEXT = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=5), st.text(max_size=5))
LONE_SURROGATES = st.builds(
    lambda a, s: f"{a}{s}", st.text(max_size=5), st.characters(categories=["Cs"])
)
HUGE_INTEGERS = st.one_of(
    st.integers(min_value=2**31, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**31) - 1),
)


def hostile_for(value: Any) -> st.SearchStrategy | None:
    """A hostile replacement of the same kind as a generated value, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return HUGE_INTEGERS
    if isinstance(value, str):
        if len(value) >= 10 and value[:4].isdigit() and value[4:5] == "-":
            return EXTREME_DATETIMES if "T" in value else EXTREME_DATES
        return st.one_of(NUL_TEXT, LONE_SURROGATES)
    return None


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _slots(container: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value that a hostile value could replace."""
    found: list[tuple[Any, Any]] = []
    items = container.items() if isinstance(container, dict) else enumerate(container or [])
    for key, value in items:
        if isinstance(value, dict | list):
            found += _slots(value)
        elif hostile_for(value) is not None:
            found.append((container, key))
    return found


def plant_hostile_value(case: Any, draw: Any) -> bool:
    """Maybe replace one generated value of the case with a hostile one; True if it did."""
    # Declared parameters only: an unknown one (negative cases make them) is rightly ignored.
    declared = {parameter.name for parameter in case.operation.query}
    slots = [
        (case.query, name)
        for name, value in (case.query or {}).items()
        if name in declared and hostile_for(value) is not None
    ]
    slots += _slots(case.path_parameters)
    if isinstance(case.body, dict | list):
        slots += _slots(case.body)
    if not slots or not draw(st.booleans(), label="plant a hostile value"):
        return False
    container, key = draw(st.sampled_from(slots), label="where")
    strategy = hostile_for(container[key])
    if container is case.query or container is case.path_parameters:
        # A URL carries bytes, not a lone surrogate (tests/test_input_bounds.py sends the
        # undecodable bytes themselves).
        strategy = strategy.filter(lambda v: not (isinstance(v, str) and _has_surrogate(v)))
    value = draw(strategy, label="hostile value")
    if container is case.path_parameters:
        # Schemathesis encoded its own path values when it made them; this one is ours.
        value = quote(str(value).encode("utf-8", "surrogatepass"), safe="")
    container[key] = value
    return True


class Callers:
    """One live signed-in actor per role, replaced when a generated request may have ended it."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.actors: dict[str, Actor] = {}
        self.suspect: set[str] = set()

    def _make(self, role: str) -> Actor:
        if role == "therapist":
            return register(self.app, role="therapist")
        therapist = register(self.app, role="therapist")
        couple_id = create_couple(therapist)
        return register(self.app, invitation_code=invite(therapist, couple_id))

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        actor = self.actors.get(role)
        if actor is None or (role in self.suspect and actor.get("/api/me").status_code != 200):
            actor = self.actors[role] = self._make(role)
        self.suspect.discard(role)
        return actor.headers

    def called(self, role: str, case: Any) -> None:
        # Only a write about "me" or my sign-in (delete account, sign out, change password)
        # can end the caller's session; check it before the next case.
        path = case.operation.path
        if case.method.upper() != "GET" and path.startswith(("/api/me", "/api/auth/")):
            self.suspect.add(role)


@pytest.fixture(scope="module")
def callers(app: FastAPI) -> Callers:
    return Callers(app)


@pytest.fixture(scope="module")
def operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 20, "the description lists the app's operations"
    return found


def _fuzz_operation(operation: Any, mode: GenerationMode, callers: Callers, role: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed per operation: the same cases on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def run(case: Any, data: Any) -> None:
        planted = plant_hostile_value(case, data.draw)
        headers = callers.headers(role)
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
        finally:
            callers.called(role, case)
        if planted:
            assert 400 <= response.status_code < 500, (
                f"a hostile value was not refused: {response.status_code} for {case.body!r} "
                f"{case.query!r} {case.path_parameters!r}"
            )

    run()


def _has_input(operation: Any) -> bool:
    """Invalid requests can only be made where there is something to get wrong."""
    return bool(len(operation.body) or len(operation.query) or len(operation.path_parameters))


@pytest.mark.fuzz
@pytest.mark.parametrize("role", ["anonymous", "partner", "therapist"])
def test_every_operation_answers_as_documented(
    role: str, operations: list[Any], callers: Callers
) -> None:
    failures = []
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if _has_input(operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            try:
                _fuzz_operation(operation, mode, callers, role)
            except Unsatisfiable:
                # No invalid request can be built for it (e.g. only an optional cookie).
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # collect every operation's finding, then fail once
                detail = "\n".join(str(e) for e in getattr(exc, "exceptions", [exc]))
                failures.append(f"{operation.label} ({mode.value}): {detail}")
    assert not failures, "\n\n".join(failures)
