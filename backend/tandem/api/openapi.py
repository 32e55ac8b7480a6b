"""The OpenAPI description tells the truth about errors, for every route of every domain.

FastAPI documents the success answer and 422. The other answers a route can give follow from
what it depends on, so they are added here from each route's dependencies rather than by hand
on each route: a route that needs a signed-in user can answer 401, a role check 403, an id in
the path or a couple membership 404, a request body 400 (undecodable), 413 and 422, a route
that counts attempts per client address 429. What only a service knows (a 409 for a state
that does not fit, a 403 for a rule) the route declares itself: `responses=errors(403, 409)`.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from tandem.api import access
from tandem.core.db import get_session
from tandem.core.schemas import ErrorOut

DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the session has ended",
    403: "Not allowed for your role",
    404: "Not found (also what another couple's object looks like)",
    409: "Does not fit the current state",
    410: "Spent or expired (a single-use token)",
    413: "Request body too large",
    422: "Invalid input",
    429: "Too many attempts; see Retry-After",
    502: "An upstream service could not be reached",
    503: "Not ready, or the database is briefly unavailable: retry after Retry-After seconds",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error answers only its service knows about."""
    return {code: {"model": ErrorOut, "description": DESCRIPTIONS[code]} for code in codes}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _path_params(dependant: Dependant) -> bool:
    return bool(dependant.path_params) or any(_path_params(d) for d in dependant.dependencies)


def implied_errors(route: APIRoute) -> set[int]:
    calls = set(_calls(route.dependant))
    codes: set[int] = set()
    if access.access_claims in calls:
        codes.add(401)
    if calls & {access.therapist, access.couple_partner, access.couple_therapist}:
        codes.add(403)
    if access.couple_member in calls or _path_params(route.dependant):
        codes.add(404)
    if route.body_field is not None:
        # 400: a body that is not even text (FastAPI cannot decode it); 422: wrong JSON.
        codes |= {400, 413, 422}
    if access.client_address in calls:
        codes.add(429)
    if calls & {get_session, access.access_claims} or route.body_field is not None:
        codes.add(503)  # the database unreachable (errors.DATABASE_UNAVAILABLE)
    return codes


def install(app: FastAPI) -> None:
    generate = app.openapi
    done: set[int] = set()

    def openapi() -> dict[str, Any]:
        schema = generate()
        if id(schema) in done:
            return schema
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components.setdefault("ErrorOut", error_schema)
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        error_content = {"application/json": {"schema": error_ref}}
        for context in iter_route_contexts(app.router.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            path_item = schema.get("paths", {}).get(context.path or route.path, {})
            for method in route.methods or ():  # an APIRoute always has its methods
                operation = path_item.get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for code in sorted(implied_errors(route)):
                    responses.setdefault(
                        str(code), {"description": DESCRIPTIONS[code], "content": error_content}
                    )
                if "422" in responses:
                    # FastAPI documents only its own field errors; a service's 422 (a rule the
                    # input broke) carries a sentence. ErrorOut admits both.
                    responses["422"] = {"description": DESCRIPTIONS[422], "content": error_content}
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused not in json.dumps(schema.get("paths", {})):
                components.pop(unused, None)
        done.add(id(schema))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
