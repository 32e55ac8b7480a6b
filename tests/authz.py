"""The authorization matrix: every route of the app, called as every kind of actor.

Each domain describes its routes in `tests/authz_cases/<domain>.py` as a list `CASES` of
`Case`. A route of the app with no case fails the suite, so no route ships unchecked.

Actors: `anonymous`; `stranger` (signed in, no couple); `other_partner` and `other_therapist`
(members of another couple); `former` (a partner who left this couple); `partner` and
`partner_b` (this couple's partners); `therapist` (this couple's therapist).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from tests.factories import (
    Actor,
    World,
    create_couple,
    invite,
    make_world,
    new_client,
    register,
)

OUTSIDERS = ("stranger", "other_partner", "other_therapist", "former")
INSIDERS = ("partner", "partner_b", "therapist")
ACTORS = ("anonymous", *OUTSIDERS, *INSIDERS)


@dataclass
class MatrixWorld:
    world: World
    other: World
    stranger: Actor
    former: Actor
    anonymous: Actor
    app: FastAPI
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def couple_id(self) -> str:
        return self.world.couple_id

    def actor(self, name: str) -> Actor:
        return {
            "anonymous": self.anonymous,
            "stranger": self.stranger,
            "other_partner": self.other.partner_a,
            "other_therapist": self.other.therapist,
            "former": self.former,
            "partner": self.world.partner_a,
            "partner_b": self.world.partner_b,
            "therapist": self.world.therapist,
        }[name]


def make_matrix_world(app: FastAPI) -> MatrixWorld:
    therapist = register(app, role="therapist", name="Dr Rivera")
    couple_id = create_couple(therapist)
    partner_a = register(app, invitation_code=invite(therapist, couple_id), name="Alex")
    former = register(app, invitation_code=invite(therapist, couple_id), name="Former")
    assert former.post(f"/api/couples/{couple_id}/leave").status_code == 204
    # Still open once the couple is full: what the revoke case revokes.
    spare = therapist.post(f"/api/couples/{couple_id}/invitations", json={"role": "partner"})
    partner_b = register(app, invitation_code=invite(therapist, couple_id), name="Sam")
    world = World(couple_id, therapist, partner_a, partner_b)
    anonymous = Actor(new_client(app), "", "", "anonymous", token="")
    matrix = MatrixWorld(world, make_world(app), register(app), former, anonymous, app)
    matrix.context["therapist_invitation"] = spare.json()["id"]
    return matrix


Params = Callable[[MatrixWorld], dict[str, Any]]


@dataclass
class Case:
    """One route. `expect` maps actor → status. Missing outsiders expect 404 on couple
    routes; `everyone` sets the default for all signed-in actors (routes about "me" or the
    library); `anonymous` defaults to 401 unless the route is public."""

    method: str
    path: str
    expect: dict[str, int]
    params: Params = lambda _w: {}
    body: Callable[[MatrixWorld], Any] | None = None
    query: Callable[[MatrixWorld], dict[str, Any]] | None = None
    # Successful calls change things (leave, delete): "actor" runs each successful call on a
    # world of its own; "case" gives the case one world, for calls that touch only the caller.
    fresh: str | None = None
    public: bool = False

    def expected(self, actor: str) -> int:
        if actor in self.expect:
            return self.expect[actor]
        if actor == "anonymous" and not self.public:
            return 401
        if "everyone" in self.expect:
            return self.expect["everyone"]
        if actor in OUTSIDERS:
            return 404
        raise AssertionError(f"{self.method} {self.path}: no expectation for {actor}")
