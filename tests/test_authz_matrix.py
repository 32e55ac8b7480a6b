"""Every route × every actor, against SPEC §3. See tests/authz.py for the vocabulary."""

import importlib
import pkgutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

import tests.authz_cases
from tests.authz import ACTORS, Case, MatrixWorld, make_matrix_world

RESULTS = Path(__file__).resolve().parents[1] / "test-results" / "authz-matrix.txt"


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for module in pkgutil.iter_modules(tests.authz_cases.__path__):
        cases += importlib.import_module(f"tests.authz_cases.{module.name}").CASES
    return cases


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, including routers FastAPI includes lazily."""
    found = set()
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None:
            continue
        found |= {(method, context.path) for method in route.methods if method != "HEAD"}
    return found


def test_every_route_has_a_case(app: FastAPI) -> None:
    described = {(c.method, c.path) for c in all_cases()}
    assert len(described) == len(all_cases()), "a route is described twice"
    missing = app_routes(app) - described
    assert not missing, f"routes missing from the authorization matrix: {sorted(missing)}"
    stale = described - app_routes(app)
    assert not stale, f"matrix cases for routes that do not exist: {sorted(stale)}"


def _call(world: MatrixWorld, case: Case, actor_name: str) -> int:
    actor = world.actor(actor_name)
    path = case.path.format(**case.params(world)) if "{" in case.path else case.path
    kwargs = {}
    if case.body is not None:
        kwargs["json"] = case.body(world)
    if case.query is not None:
        kwargs["params"] = case.query(world)
    if actor_name == "anonymous":
        answer = actor.client.request(case.method, path, **kwargs)
    else:
        answer = actor.request(case.method, path, **kwargs)
    return answer.status_code


def test_authorization_matrix(app: FastAPI) -> None:
    shared = make_matrix_world(app)
    checked = 0
    failures = []
    for case in sorted(all_cases(), key=lambda c: (c.path, c.method)):
        case_world = make_matrix_world(app) if case.fresh == "case" else shared
        for actor_name in ACTORS:
            expected = case.expected(actor_name)
            world = case_world
            if case.fresh == "actor" and 200 <= expected < 300:
                world = make_matrix_world(app)
            got = _call(world, case, actor_name)
            checked += 1
            if got != expected:
                failures.append(f"{case.method} {case.path} as {actor_name}: {got} != {expected}")
    routes = len(all_cases())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        f"authorization matrix: {routes} routes x {len(ACTORS)} actors = {checked} calls checked, "
        f"{len(failures)} wrong\n"
    )
    assert not failures, "\n".join(failures)
