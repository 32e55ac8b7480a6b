"""What no column can hold and no calendar can survive is a 422, on every route, never a 500.

Two guards, so that a new field or route cannot regress:

- by construction: every request body is a `tandem.schemas.Body` (whose validator refuses NUL
  characters, lone surrogates, dates outside 2000–2099, numbers beyond 32 bits, NaN), and every
  date or datetime in a query or path carries the bounded `Day`/`Instant` types;
- by walking the OpenAPI description: every field of every body and every query parameter of
  every operation gets each hostile value in turn, sent by a member of a real couple to real
  ids (so the request reaches validation rather than a 404), and must be answered below 500.
"""

import copy
import json
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, get_args
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from tandem.core.schemas import Body
from tests.factories import Actor, World, create_couple, make_world, new_client, publish_plan

NUL = "before\x00after"
SURROGATE = "before\ud800after"
EXTREME_DATETIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-14:00",
]
EXTREME_DATES = ["0001-01-01", "9999-12-27", "9999-12-31"]
HUGE_INTEGERS = [2**31, -(2**31) - 1, 2**63, 10**30]


def hostile_values(schema: dict[str, Any]) -> list[Any]:
    """The values worth trying for a field of this JSON schema."""
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    formats = {schema.get("format")} | {s.get("format") for s in schema.get("anyOf", [])}
    values: list[Any] = []
    if "date-time" in formats:
        values += EXTREME_DATETIMES
    elif "date" in formats:
        values += EXTREME_DATES
    elif "string" in kinds and "uuid" not in formats:
        values += [NUL, SURROGATE]
    if "integer" in kinds:
        values += HUGE_INTEGERS
    if "array" in kinds and schema.get("items", {}).get("type") == "string":
        values += [[NUL], [SURROGATE]]
    if "object" in kinds and isinstance(schema.get("additionalProperties"), dict):
        values += [{NUL: 1}, {"key": NUL}]
    return values


# --- by construction ----------------------------------------------------------------------


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.router.routes):
        route, path = context.original_route, context.path or context.original_route.path
        if isinstance(route, APIRoute) and path.startswith("/api"):
            found.append((path, route))
    return found


def _models(annotation: Any) -> list[type]:
    if isinstance(annotation, type):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def test_every_request_body_is_a_body_model(app: FastAPI) -> None:
    checked = 0
    for path, route in _api_routes(app):
        for param in _all_params(route.dependant, "body_params"):
            for model in _models(param.field_info.annotation):
                if model is type(None):
                    continue
                assert issubclass(model, Body), f"{path}: {model} is not a schemas.Body"
                checked += 1
    assert checked >= 20


def _all_params(dependant: Any, *kinds: str) -> list[Any]:
    kinds = kinds or ("query_params", "path_params")
    found = [p for kind in kinds for p in getattr(dependant, kind)]
    for sub in dependant.dependencies:
        found += _all_params(sub, *kinds)
    return found


def test_every_date_in_a_query_or_path_is_bounded(app: FastAPI) -> None:
    for path, route in _api_routes(app):
        for param in _all_params(route.dependant):
            types = _models(param.field_info.annotation)
            if any(issubclass(t, date) for t in types if isinstance(t, type)):
                described = repr(param.field_info.annotation) + repr(param.field_info.metadata)
                assert "_bounded" in described, (
                    f"{path} ?{param.name}: use schemas.Day or schemas.Instant"
                )


# --- by walking the description -------------------------------------------------------------


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        concrete = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(concrete) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**_resolve(spec, concrete[0]), **merged}
    return schema


def _minimal(spec: dict[str, Any], schema: dict[str, Any], today: date) -> Any:
    """A plain valid value, for the fields that are not under test."""
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "object":
        return {
            name: _minimal(spec, sub, today)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        return [_minimal(spec, schema.get("items", {}), today)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return (datetime.now().astimezone() + timedelta(days=3)).isoformat()
    if fmt == "date":
        return today.isoformat()
    return "x" * max(schema.get("minLength", 1), 1)


def _leaves(spec: dict[str, Any], schema: dict[str, Any], path: tuple = ()) -> list[tuple]:
    """(path, schema) of every field inside a body, nested objects and lists of them too."""
    schema = _resolve(spec, schema)
    found = [(path, schema)] if path and not isinstance(path[-1], int) else []
    if schema.get("type") == "object":
        for name, sub in schema.get("properties", {}).items():
            found += _leaves(spec, sub, (*path, name))
    elif schema.get("type") == "array":
        item = _resolve(spec, schema.get("items", {}))
        if item.get("type") == "object":
            found += _leaves(spec, item, (*path, 0))
    return found


def _with(body: Any, path: tuple, value: Any, spec: dict, schema: dict, today: date) -> Any:
    body = copy.deepcopy(body)
    target = body
    walked: dict[str, Any] = _resolve(spec, schema)
    for step in path[:-1]:
        if isinstance(step, int):
            item = _resolve(spec, walked.get("items", {}))
            while len(target) <= step:
                target.append(_minimal(spec, item, today))
            walked = item
        else:
            walked = _resolve(spec, walked["properties"][step])
            if step not in target:
                target[step] = _minimal(spec, walked, today)
        target = target[step]
    target[path[-1]] = value
    return body


@pytest.fixture(scope="module")
def world(app: FastAPI) -> World:
    world = make_world(app)
    item_id = publish_plan(app, world)
    partner = world.partner_a
    logged = partner.post(
        f"/api/plan-items/{item_id}/sessions", json={"client_id": str(uuid.uuid4())}
    )
    note = partner.post(
        f"/api/couples/{world.couple_id}/notes", json={"body": "n", "visibility": "partner"}
    )
    checkin = partner.post(
        f"/api/couples/{world.couple_id}/checkins", json={"text": "c", "visibility": "partner"}
    )
    exercise = world.therapist.post(
        "/api/exercises",
        json={"title": "Walk", "category": "other", "instructions": "Walk together."},
    )
    # The couple is full: an open invitation lives in the therapist's second couple.
    second = create_couple(world.therapist, label="Second")
    invitation = world.therapist.post(
        f"/api/couples/{second}/invitations", json={"role": "partner"}
    )
    today = date.today()
    world.context = {
        "couple_id": world.couple_id,
        "item_id": item_id,
        "session_id": logged.json()["id"],
        "note_id": note.json()["id"],
        "checkin_id": checkin.json()["id"],
        "exercise_id": exercise.json()["id"],
        "invitation_id": invitation.json()["id"],
        "user_id": world.therapist.id,
        "week_start": (today - timedelta(days=today.weekday())).isoformat(),
    }
    return world


# Routes that end the caller's account or sign-in whatever the body says: never called here.
SKIPPED = {("DELETE", "/api/me/sessions")}


def _send(actor: Actor, method: str, path: str, query: dict, body: Any) -> int:
    url = path + (
        "?"
        + "&".join(
            f"{k}={quote(str(v).encode('utf-8', 'surrogatepass'), safe='')}"
            for k, v in query.items()
        )
        if query
        else ""
    )
    content = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"} if body is not None else {}
    answer = actor.request(method, url, content=content, headers=headers)
    return answer.status_code


def test_hostile_values_in_every_field_are_refused_without_a_server_error(
    app: FastAPI, world: World
) -> None:
    spec = app.openapi()
    today = date.fromisoformat(world.context["week_start"])
    anonymous = Actor(new_client(app), "", "", "anonymous", token="")
    failures, refused = [], 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api"):
            continue
        # Ids this world has none of (routes added later) get a made-up one: such a route then
        # answers 404 before validation, so its fields are covered by tests/test_fuzz_api.py.
        concrete = path.format_map(defaultdict(lambda: str(uuid.uuid4()), world.context))
        for method, operation in operations.items():
            method = method.upper()
            if (method, path) in SKIPPED:
                continue
            body_schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            base = _minimal(spec, body_schema, today) if body_schema else None
            queries = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            base_query = {
                p["name"]: _minimal(spec, p["schema"], today) for p in queries if p.get("required")
            }
            variants: list[tuple[str, dict, Any]] = []
            for leaf, schema in _leaves(spec, body_schema) if body_schema else []:
                for value in hostile_values(schema):
                    patched = _with(base, leaf, value, spec, body_schema, today)
                    variants.append((f"body {leaf}={value!r}", base_query, patched))
            for param in queries:
                for value in hostile_values(_resolve(spec, param["schema"])):
                    if isinstance(value, list | dict):
                        continue
                    query = {**base_query, param["name"]: value}
                    variants.append((f"?{param['name']}={value!r}", query, base))
            for actor in (anonymous, world.partner_a, world.therapist):
                for label, query, body in variants:
                    status = _send(actor, method, concrete, query, body)
                    refused += status == 422
                    if status >= 500:
                        failures.append(f"{method} {path} as {actor.role}: {label} → {status}")
    assert not failures, "\n".join(failures)
    assert refused > 200, "the walk reached validation"


class TestExamplesFromTheRedTeam:
    """The requests that were 500s, as plain examples."""

    def test_a_nul_in_the_login_email_is_422_without_signing_in(self, app: FastAPI) -> None:
        answer = new_client(app).post(
            "/api/auth/login", json={"email": "a\x00@example.test", "password": "whatever it is"}
        )
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == ["body", "email"]
        assert "cannot be stored" in answer.json()["detail"][0]["msg"]

    def test_extreme_paging_before_is_422(self, app: FastAPI, world: World) -> None:
        for value in EXTREME_DATETIMES:
            answer = world.partner_a.get(f"/api/me/notes?before={quote(value)}")
            assert answer.status_code == 422, (value, answer.text)
            assert answer.json()["detail"][0]["msg"] == "Choose a date between 2000 and 2099."

    def test_an_extreme_appointment_time_is_422(self, app: FastAPI, world: World) -> None:
        for value in EXTREME_DATETIMES:
            answer = world.therapist.put(
                f"/api/couples/{world.couple_id}/next-appointment",
                json={"starts_at": value, "note": ""},
            )
            assert answer.status_code == 422, (value, answer.text)

    def test_copy_forward_from_the_last_monday_of_9999_is_422(self, world: World) -> None:
        for week in ("9999-12-27", "0001-01-01"):
            answer = world.therapist.post(
                f"/api/couples/{world.couple_id}/plans/{week}/copy-forward"
            )
            assert answer.status_code == 422, (week, answer.text)

    def test_a_nul_in_a_query_string_or_path_is_422(self, app: FastAPI, world: World) -> None:
        assert new_client(app).get("/api/invitations/preview?code=AB%00CD").status_code == 422
        assert world.partner_a.get("/api/couples/%00/notes").status_code == 422

    def test_text_fields_are_still_stripped_of_surrounding_spaces(self, world: World) -> None:
        answer = world.partner_a.patch("/api/me", json={"display_name": "  Alex  "})
        assert answer.json()["display_name"] == "Alex"


def test_nested_values_are_checked_too() -> None:
    class Inner(BaseModel):
        text: str

    class Outer(Body):
        inner: Inner
        labels: dict[str, str]

    with pytest.raises(ValueError, match="cannot be stored"):
        Outer(inner={"text": "a\x00"}, labels={})
    with pytest.raises(ValueError, match="cannot be stored"):
        Outer(inner={"text": "a"}, labels={"k\x00": "v"})
