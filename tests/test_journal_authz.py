"""The journal's routes × every actor × each of the four visibilities (SPEC §3)."""

from fastapi import FastAPI

from tests.authz import ACTORS, make_matrix_world
from tests.authz_cases.journal import VISIBILITY_CASES
from tests.test_authz_matrix import _call


def test_every_journal_route_answers_each_actor_for_each_visibility(app: FastAPI) -> None:
    shared = make_matrix_world(app)
    failures = []
    for visibility, case in VISIBILITY_CASES:
        for actor_name in ACTORS:
            expected = case.expected(actor_name)
            world = shared
            if case.fresh == "actor" and 200 <= expected < 300:
                world = make_matrix_world(app)
            got = _call(world, case, actor_name)
            if got != expected:
                failures.append(
                    f"{case.method} {case.path} [{visibility}] as {actor_name}: {got} != {expected}"
                )
    assert not failures, "\n".join(failures)
