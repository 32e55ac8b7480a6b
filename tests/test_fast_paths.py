"""The routes answered before the router (api/fast_paths.py) answer exactly what the ordinary
stack answers: the same status, headers (but the request id) and body, and the same log lines,
for every case: valid, no token, another scheme, a tampered token, another couple, a malformed
id; for the write: joint, individual, confirmation, replay, and every refusal."""

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from tandem.core.config import Settings
from tandem.main import create_app
from tandem.reminders.models import Notification
from tests.factories import Actor, make_world, terminate_other_backends
from tests.plans_support import INDIVIDUAL, JOINT, item, log, published_week, this_monday, today


@pytest.fixture(scope="module")
def ordinary(settings: Settings) -> Iterator[FastAPI]:
    """The same app on the same database, without the fast paths."""
    application = create_app(settings, fast_paths=False)
    yield application
    application.state.engine.dispose()


def _answer(
    app: FastAPI, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    with TestClient(app, base_url="https://testserver") as client:
        response = client.request(method, path, headers=headers, **kwargs)
    kept = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, kept, response.content


def _same(
    app: FastAPI, ordinary: FastAPI, method: str, path: str, headers: dict[str, str], **kw: Any
) -> tuple[int, dict[str, str], bytes]:
    fast = _answer(app, method, path, headers, **kw)
    slow = _answer(ordinary, method, path, headers, **kw)
    assert fast == slow, (method, path)
    return fast


def _tampered(actor: Actor) -> dict[str, str]:
    head, claims, signature = actor.token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return {"Authorization": f"Bearer {head}.{claims}.{flipped}"}


def _refusals(actor: Actor) -> list[dict[str, str]]:
    return [
        {},
        {"Authorization": f"Basic {actor.token}"},
        {"Authorization": "Bearer"},
        _tampered(actor),
        {"Authorization": "Bearer not-a-token"},
    ]


class TestThePlanRead:
    def test_every_case_answers_as_the_ordinary_stack(
        self, app: FastAPI, ordinary: FastAPI
    ) -> None:
        world, other = make_world(app), make_world(app)
        published_week(world, this_monday())
        path = f"/api/couples/{world.couple_id}/plans/current"
        for actor in (world.partner_a, world.partner_b, world.therapist):
            status, headers, body = _same(app, ordinary, "GET", path, actor.headers)
            assert status == 200 and headers["cache-control"] == "no-store"
        for headers in _refusals(world.partner_a):
            assert _same(app, ordinary, "GET", path, headers)[0] == 401
        assert _same(app, ordinary, "GET", path, other.partner_a.headers)[0] == 404
        for couple in ("nonsense", str(uuid.uuid4()), other.couple_id):
            malformed = f"/api/couples/{couple}/plans/current"
            assert _same(app, ordinary, "GET", malformed, world.partner_a.headers)[0] == 404
        # No plan this week yet: its own 404; a query string changes nothing.
        empty = f"/api/couples/{other.couple_id}/plans/current"
        assert _same(app, ordinary, "GET", empty + "?x=1", other.partner_a.headers)[0] == 404
        # Left to the ordinary stack: percent-encoding, a NUL, a trailing slash, HEAD.
        for odd in (path.replace("plans", "%70lans"), path + "?x=%00", path + "/"):
            _same(app, ordinary, "GET", odd, world.partner_a.headers)
        _same(app, ordinary, "HEAD", path, world.partner_a.headers)

    def test_signed_out_and_left_are_checked_on_every_request(
        self, app: FastAPI, ordinary: FastAPI
    ) -> None:
        world = make_world(app)
        published_week(world, this_monday())
        path = f"/api/couples/{world.couple_id}/plans/current"
        assert _same(app, ordinary, "GET", path, world.partner_b.headers)[0] == 200
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        assert _same(app, ordinary, "GET", path, world.partner_b.headers)[0] == 404
        assert world.partner_a.post("/api/auth/logout").status_code in (200, 204)
        assert _same(app, ordinary, "GET", path, world.partner_a.headers)[0] == 401

    def test_the_log_lines_name_the_route(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        world = make_world(app)
        path = f"/api/couples/{world.couple_id}/plans/current"
        with (
            caplog.at_level(logging.INFO),
            TestClient(app, base_url="https://testserver") as client,
        ):
            assert client.get(path).status_code == 401
            assert client.get("/healthz").status_code == 200
        routes = [getattr(r, "route", None) for r in caplog.records if r.name == "tandem.access"]
        assert routes[-2:] == ["/api/couples/{couple_id}/plans/current", "/healthz"]
        refused = [r.getMessage() for r in caplog.records if r.name == "tandem"]
        assert "refused 401 on GET /api/couples/{couple_id}/plans/current" in refused

    def test_still_described_in_openapi(self, app: FastAPI) -> None:
        paths = app.openapi()["paths"]
        assert "get" in paths["/api/couples/{couple_id}/plans/current"]
        assert "post" in paths["/api/plan-items/{item_id}/sessions"]


class TestTheHealthCheck:
    def test_answers_as_the_ordinary_stack(self, app: FastAPI, ordinary: FastAPI) -> None:
        assert _same(app, ordinary, "GET", "/healthz", {})[0] == 200
        assert _same(app, ordinary, "GET", "/healthz?probe=1", {})[0] == 200
        assert _same(app, ordinary, "POST", "/healthz", {})[0] == 405


def _normalized(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("id", "client_id", "created_at")}


class TestThePracticeLogWrite:
    def test_individual_joint_confirmation_and_replays(
        self, app: FastAPI, ordinary: FastAPI
    ) -> None:
        world = make_world(app)
        plan = published_week(world, this_monday())
        joint, solo = (i["id"] for i in plan["items"])
        for item_id, actor in ((solo, world.partner_a), (joint, world.partner_a)):
            path = f"/api/plan-items/{item_id}/sessions"
            fast_id, slow_id = str(uuid.uuid4()), str(uuid.uuid4())
            fast = _answer(app, "POST", path, actor.headers, json={"client_id": fast_id})
            slow = _answer(ordinary, "POST", path, actor.headers, json={"client_id": slow_id})
            assert fast[0] == slow[0] == 201
            drop = ("content-length",)
            assert {k: v for k, v in fast[1].items() if k not in drop} == {
                k: v for k, v in slow[1].items() if k not in drop
            }
            assert _normalized(_json(fast[2])) == _normalized(_json(slow[2]))
            for client_id in (fast_id, slow_id):  # replays, both ways
                replay = _same(
                    app, ordinary, "POST", path, actor.headers, json={"client_id": client_id}
                )
                assert replay[0] == 200
            # The same client_id on another item: 409.
            other = solo if item_id == joint else joint
            where = f"/api/plan-items/{other}/sessions"
            conflict = _same(
                app, ordinary, "POST", where, actor.headers, json={"client_id": fast_id}
            )
            assert conflict[0] == 409
        # Partner B confirms A's two waiting joint logs, one through each stack.
        path = f"/api/plan-items/{joint}/sessions"
        for application in (app, ordinary):
            status, _, body = _answer(
                application,
                "POST",
                path,
                world.partner_b.headers,
                json={"client_id": str(uuid.uuid4())},
            )
            assert status == 200 and _json(body)["status"] == "done"

    def test_refusals_answer_as_the_ordinary_stack(self, app: FastAPI, ordinary: FastAPI) -> None:
        world, other = make_world(app), make_world(app)
        plan = published_week(
            world,
            this_monday(),
            [
                item(JOINT, "joint", 3),
                item(INDIVIDUAL, "individual", 2, assignee_ids=[world.partner_b.id]),
            ],
        )
        joint, for_b = (i["id"] for i in plan["items"])
        path = f"/api/plan-items/{joint}/sessions"
        body = {"client_id": str(uuid.uuid4())}
        for headers in _refusals(world.partner_a):
            assert _same(app, ordinary, "POST", path, headers, json=body)[0] == 401
        assert _same(app, ordinary, "POST", path, other.partner_a.headers, json=body)[0] == 404
        assert _same(app, ordinary, "POST", path, world.therapist.headers, json=body)[0] == 403
        mine = f"/api/plan-items/{for_b}/sessions"
        assert _same(app, ordinary, "POST", mine, world.partner_a.headers, json=body)[0] == 403
        for malformed in ("nonsense", str(uuid.uuid4())):
            where = f"/api/plan-items/{malformed}/sessions"
            assert _same(app, ordinary, "POST", where, world.partner_a.headers, json=body)[0] == 404
        future = {**body, "done_on": str(today() + timedelta(days=8))}
        assert _same(app, ordinary, "POST", path, world.partner_a.headers, json=future)[0] == 422
        before = {**body, "done_on": str(this_monday() - timedelta(days=1))}
        assert _same(app, ordinary, "POST", path, world.partner_a.headers, json=before)[0] == 422
        # Bodies left to the ordinary stack: invalid, not JSON, too big, another media type.
        headers = world.partner_a.headers
        for invalid in ({"client_id": "x"}, {}, [], {"client_id": body["client_id"], "extra": 1}):
            assert _same(app, ordinary, "POST", path, headers, json=invalid)[0] == 422
        assert _same(app, ordinary, "POST", path, headers, content=b"{")[0] == 422
        assert _same(app, ordinary, "POST", path, {}, content=b"{")[0] == 401
        big = b'{"client_id": "' + b"x" * 2_000_000 + b'"}'
        assert _same(app, ordinary, "POST", path, headers, content=big)[0] == 413
        text = {**headers, "Content-Type": "text/plain"}
        _same(
            app,
            ordinary,
            "POST",
            path,
            text,
            content=b'{"client_id": "%s"}' % body["client_id"].encode(),
        )
        # Nothing above wrote a log.
        plan_now = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current").json()
        assert [i["sessions"] for i in plan_now["items"]] == [[], []]


def _json(body: bytes) -> Any:
    import json

    return json.loads(body)


class TestAReplayedLogCarriesItsDisputeReason:
    def test_as_the_plan_read_shows_it_to_the_same_reader(
        self, app: FastAPI, ordinary: FastAPI
    ) -> None:
        world = make_world(app)
        joint = published_week(world, this_monday())["items"][0]["id"]
        client_id = str(uuid.uuid4())
        said = log(world.partner_a, joint, client_id).json()
        disputed = world.partner_b.post(
            f"/api/sessions/{said['id']}/dispute", json={"reason": "Not this day"}
        )
        assert disputed.status_code == 200
        path = f"/api/plan-items/{joint}/sessions"
        status, _, body = _same(
            app, ordinary, "POST", path, world.partner_a.headers, json={"client_id": client_id}
        )
        replayed = _json(body)
        assert status == 200 and replayed["dispute_reason"] == "Not this day"
        plan = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current").json()
        assert replayed in plan["items"][0]["sessions"]


class TestBackendsTerminatedUnderTheHotPaths:
    def test_no_500_from_the_plan_read_or_the_write(self, app: FastAPI) -> None:
        """The hot statements run on the driver's cursor (core/prepared.py): a connection
        killed under them is still a 503, as from SQLAlchemy, never a 500."""
        if app.state.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL")
        world = make_world(app)
        solo = published_week(world, this_monday())["items"][1]["id"]
        admin = create_engine(app.state.settings.database_url, isolation_level="AUTOCOMMIT")
        stop = threading.Event()
        statuses: list[int] = []

        def load() -> None:
            while not stop.is_set():
                read = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current")
                wrote = log(world.partner_a, solo)
                statuses.extend((read.status_code, wrote.status_code))

        workers = [threading.Thread(target=load) for _ in range(4)]
        for thread in workers:
            thread.start()
        terminated = 0
        with admin.connect() as connection:
            for _ in range(8):
                time.sleep(0.25)
                terminated += len(
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).all()
                )
        stop.set()
        for thread in workers:
            thread.join()
        admin.dispose()
        assert terminated > 0
        assert set(statuses) <= {200, 201, 503}, sorted(set(statuses))
        assert statuses.count(200) > 0

    def test_a_read_on_a_connection_killed_while_idle_is_answered(self, app: FastAPI) -> None:
        """The hot reads' pool does not ping (core/loop_db.py): a dead connection is retried
        once on the ordinary engine, which does, so the reader sees no error."""
        if app.state.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL")
        world = make_world(app)
        published_week(world, this_monday())
        path = f"/api/couples/{world.couple_id}/plans/current"
        assert world.partner_a.get(path).status_code == 200  # the hot pool has a connection
        assert terminate_other_backends(app.state.settings.database_url)
        assert world.partner_a.get(path).status_code == 200


def outbox_kinds(app: FastAPI, actor: Actor) -> list[str]:
    with Session(app.state.engine) as session:
        rows = session.exec(
            select(Notification.kind).where(Notification.user_id == uuid.UUID(actor.id))
        )
        return list(rows)


class TestTheWriteOnTheLoopOnPostgreSQL:
    def test_on_the_loop_but_a_replay_whose_reason_is_opened(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """core/async_pg.py writes a new log outside a transaction (an individual one, or a
        joint one nobody waits on, with its notice), a confirmation of the partner's log in a
        transaction of its own, and answers a replay, all on the loop; only a replay whose
        dispute reason is opened with the keyring goes to log_practice_json in a thread (the
        answers themselves are held to the ordinary stack's above)."""
        if app.state.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL")
        from tandem.core import loop_db

        in_transaction: list[str] = []
        real = loop_db.run_write

        async def counted(engine: Any, function: Any, /, **kwargs: Any) -> Any:
            in_transaction.append(function.__name__)
            return await real(engine, function, **kwargs)

        monkeypatch.setattr(loop_db, "run_write", counted)
        world = make_world(app)
        joint, solo = (i["id"] for i in published_week(world, this_monday())["items"][:2])
        client_id = str(uuid.uuid4())
        new = log(world.partner_a, solo, client_id=client_id)
        assert new.status_code == 201
        replay = log(world.partner_a, solo, client_id=client_id)
        assert replay.status_code == 200 and replay.json() == new.json()
        waiting = log(world.partner_a, joint)
        assert waiting.status_code == 201 and waiting.json()["status"] == "awaiting_partner"
        confirming = str(uuid.uuid4())
        confirmed = log(world.partner_b, joint, client_id=confirming)
        assert confirmed.status_code == 200 and confirmed.json()["id"] == waiting.json()["id"]
        assert confirmed.json()["status"] == "done"
        # Each wrote its notice with it; the confirmation's claim holds its replay.
        asked, told = outbox_kinds(app, world.partner_b), outbox_kinds(app, world.partner_a)
        assert asked.count("joint_session_logged") == 1 and told.count("session_confirmed") == 1
        assert log(world.partner_b, joint, client_id=confirming).json() == confirmed.json()
        # Refused by the checks: on the loop, nothing written, the same answer.
        assert log(world.therapist, solo).status_code == 403
        assert in_transaction == []
        plan = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/current").json()
        assert [s["id"] for s in plan["items"][1]["sessions"]] == [new.json()["id"]]
        assert [s["status"] for s in plan["items"][0]["sessions"]] == ["done"]
        # A reason said in a dispute is opened with the keyring: that replay takes the hop.
        disputed_id = str(uuid.uuid4())
        said = log(world.partner_a, joint, client_id=disputed_id).json()
        reason = {"reason": "Not this day"}
        assert world.partner_b.post(f"/api/sessions/{said['id']}/dispute", json=reason).is_success
        again = log(world.partner_a, joint, client_id=disputed_id)
        assert again.json()["dispute_reason"] == "Not this day"
        assert in_transaction == ["log_practice_json"]
