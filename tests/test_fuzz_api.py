"""Schemathesis against the app's own OpenAPI description, as each kind of caller.

Every operation the description lists (so every domain's routes, as they are merged) gets a
bounded number of generated requests, valid and invalid, with a fixed seed. Each answer must
not be a server error, must use a status code the description documents, and must match the
documented schema for that code. A finding is fixed in the app or in the description, never by
dropping a check.

Marked `fuzz`, it runs once, in the SQLite pass of `scripts/test`: it exercises the routes and
their description, not the database (the rest of the suite runs on both), and on PostgreSQL it
would double the suite's longest test.

The callers: anonymous, a partner and a therapist of one couple. Generated requests can end the
caller's session (`DELETE /api/me`, sign out everywhere): a dead session is replaced by a fresh
one before the next case, so every case runs signed in as its role.
"""

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
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
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed per operation: the same cases on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def run(case: Any) -> None:
        headers = callers.headers(role)
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        finally:
            callers.called(role, case)

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
