"""Small functions that make people and couples through the real API."""

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
_addresses = itertools.count(1)


def new_client(app: FastAPI) -> TestClient:
    """A separate device: its own cookie jar and its own client address (so rate limits
    counted for one test never touch another)."""
    n = next(_addresses)
    address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
    return TestClient(app, base_url="https://testserver", client=(address, 50000))


@dataclass
class Actor:
    client: TestClient
    id: str
    email: str
    role: str
    token: str
    password: str = PASSWORD
    recovery_code: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)

    def delete_account(self) -> Any:
        """`DELETE /api/me`, confirmed with the password as a person would."""
        return self.request("DELETE", "/api/me", json={"password": self.password})


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


def register(
    app: FastAPI,
    *,
    role: str = "partner",
    timezone: str = "Europe/Berlin",
    invitation_code: str | None = None,
    name: str | None = None,
    email: str | None = None,
) -> Actor:
    client = new_client(app)
    email = email or unique_email(role)
    body: dict[str, Any] = {
        "email": email,
        "password": PASSWORD,
        "display_name": name or role.title(),
        "role": role,
        "timezone": timezone,
    }
    if invitation_code:
        body["invitation_code"] = invitation_code
    answer = client.post("/api/auth/register", json=body)
    assert answer.status_code == 201, answer.text
    user = answer.json()
    actor = Actor(client, user["id"], email, role, "", recovery_code=user["recovery_code"])
    login(actor)
    return actor


def login(actor: Actor) -> None:
    answer = actor.client.post(
        "/api/auth/login", json={"email": actor.email, "password": actor.password}
    )
    assert answer.status_code == 200, answer.text
    actor.token = answer.json()["access_token"]


def create_couple(owner: Actor, *, label: str = "The Couple", timezone: str = "Europe/Berlin"):
    answer = owner.post("/api/couples", json={"label": label, "timezone": timezone})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def invite(member: Actor, couple_id: str, role: str = "partner") -> str:
    answer = member.post(f"/api/couples/{couple_id}/invitations", json={"role": role})
    assert answer.status_code == 201, answer.text
    return answer.json()["code"]


@dataclass
class World:
    """One couple with its therapist and two partners."""

    couple_id: str
    therapist: Actor
    partner_a: Actor
    partner_b: Actor
    context: dict[str, Any] = field(default_factory=dict)


def make_world(app: FastAPI, *, timezone: str = "Europe/Berlin") -> World:
    therapist = register(app, role="therapist", name="Dr Rivera")
    couple_id = create_couple(therapist, timezone=timezone)
    partner_a = register(
        app, invitation_code=invite(therapist, couple_id), name="Alex", timezone=timezone
    )
    partner_b = register(
        app, invitation_code=invite(therapist, couple_id), name="Sam", timezone=timezone
    )
    return World(couple_id, therapist, partner_a, partner_b)


def publish_plan(app: FastAPI, world: World) -> str:
    """This week's plan for the world's couple, published, with one joint exercise; returns the
    item id. The week is computed as the server does, in the couple's time zone (Europe/Berlin)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    therapist = world.therapist
    exercise = therapist.get("/api/exercises").json()[0]
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    week = today - timedelta(days=today.weekday())
    base = f"/api/couples/{world.couple_id}/plans/{week.isoformat()}"
    body = {
        "note": "",
        "items": [{"exercise_id": exercise["id"], "mode": "joint", "times_per_week": 3}],
    }
    assert therapist.put(base, json=body).status_code in (200, 201)
    assert therapist.post(f"{base}/publish").status_code == 200
    plan = therapist.get(f"/api/couples/{world.couple_id}/plans/current").json()
    return plan["items"][0]["id"]


def terminate_other_backends(url: Any) -> int:
    """Kill every other PostgreSQL backend of `url`'s database (a restarted server, for the
    app's connections): how many were killed."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    admin.dispose()
    return len(killed)
