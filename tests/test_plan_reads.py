"""The fast plan read (api/plan_read.py) answers exactly what the service's plan_read does, byte
for byte: the fast read serializes the answer's fields as they are, the service validates them
into a PlanRead whose JSON pydantic writes (plans/plan_answer.Built)."""

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from tandem.api import plan_read as reads
from tandem.core import async_pg, audit, loop_db
from tandem.core.security import AccessClaims
from tandem.couples import service as couples
from tandem.plans import service
from tests.factories import make_world
from tests.plans_support import (
    INDIVIDUAL,
    JOINT,
    item,
    log,
    published_week,
    put_plan,
    this_monday,
)


def _claims(actor) -> AccessClaims:  # noqa: ANN001
    from tandem.core.security import read_access_token

    return read_access_token(actor.token, actor.client.app.state.settings)


def _slow(app: FastAPI, actor, couple_id: str, week) -> bytes:  # noqa: ANN001
    with Session(app.state.engine) as session:
        membership = couples.active_membership(
            session, user_id=uuid.UUID(actor.id), couple_id=uuid.UUID(couple_id)
        )
        plan = service.get_plan(session, membership=membership, week_start=week)
        kek = app.state.settings.key_encryption_key
        read = service.plan_read(session, plan, viewer=membership, kek=kek)
        return read.model_dump_json().encode()


def _fast(app: FastAPI, actor, couple_id: str, week: str | None) -> bytes:  # noqa: ANN001
    """The fast read's answer, once the same read in one statement (the PostgreSQL drivers')
    has been found to answer the same as in two, errors included."""
    _one_statement_answers_the_same(app, actor, couple_id, week)
    return asyncio.run(
        reads.read(
            app.state.engine,
            claims=_claims(actor),
            couple_id=couple_id,
            week_start=week,
            kek=app.state.settings.key_encryption_key,
        )
    )


def _one_statement_answers_the_same(app: FastAPI, actor, couple_id: str, week) -> None:  # noqa: ANN001
    answers = []
    for one_statement in (False, True):
        with app.state.engine.connect() as connection:
            try:
                body, opened = reads.plan_json(
                    connection,
                    claims=_claims(actor),
                    couple_id=couple_id,
                    week_start=week,
                    kek=app.state.settings.key_encryption_key,
                    one_statement=one_statement,
                )
                answers.append((body, opened))
            except Exception as error:  # noqa: BLE001 - the answer compared
                answers.append((type(error), str(error)))
    assert answers[0] == answers[1]


class TestPlanReadsMatchTheService:
    def test_items_assignees_progress_and_sessions_in_every_state(self, app: FastAPI) -> None:
        world = make_world(app)
        week = this_monday()
        plan = published_week(
            world,
            week,
            [
                item(JOINT, "joint", 3),
                item(INDIVIDUAL, "individual", 2, assignee_ids=[world.partner_b.id]),
                item(INDIVIDUAL, "individual", 1),
            ],
        )
        joint, solo_b, solo_both = (i["id"] for i in plan["items"])
        disputed = log(world.partner_a, joint).json()
        assert world.partner_b.post(f"/api/sessions/{disputed['id']}/dispute").status_code == 200
        confirmed = log(world.partner_a, joint).json()
        assert world.partner_b.post(f"/api/sessions/{confirmed['id']}/confirm").status_code == 200
        waiting = log(world.partner_a, joint).json()
        for _ in range(3):
            log(world.partner_b, solo_b)
        withdrawn = log(world.partner_a, solo_both).json()
        assert world.partner_a.delete(f"/api/sessions/{withdrawn['id']}").status_code == 204
        log(world.partner_b, solo_both)
        assert waiting["status"] == "awaiting_partner"

        for actor in (world.partner_a, world.partner_b, world.therapist):
            expected = _slow(app, actor, world.couple_id, week)
            assert _fast(app, actor, world.couple_id, None) == expected
            assert _fast(app, actor, world.couple_id, str(week)) == expected
            answer = actor.get(f"/api/couples/{world.couple_id}/plans/current")
            assert answer.status_code == 200 and answer.content == expected

    def test_dispute_reasons_and_logs_closed_by_leaving(self, app: FastAPI) -> None:
        world = make_world(app)
        week = this_monday() - timedelta(weeks=1)  # several days to log on
        plan = published_week(
            world, week, [item(JOINT, "joint", 3), item(INDIVIDUAL, "individual", 2)]
        )
        joint = plan["items"][0]["id"]
        said = log(world.partner_a, joint, done_on=str(week)).json()
        answer = world.partner_b.post(f"/api/sessions/{said['id']}/dispute", json={"reason": "No"})
        assert answer.status_code == 200
        log(world.partner_a, joint, done_on=str(week + timedelta(days=1)))
        log(world.partner_b, joint, done_on=str(week + timedelta(days=2)))
        log(world.partner_a, plan["items"][1]["id"], done_on=str(week))
        assert world.partner_b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        for actor in (world.partner_a, world.therapist):
            expected = _slow(app, actor, world.couple_id, week)
            assert _fast(app, actor, world.couple_id, str(week)) == expected
            sessions = {s["id"]: s for s in json.loads(expected)["items"][0]["sessions"]}
            assert sessions[said["id"]]["dispute_reason"] == "No"
            closed = sorted(s["withdrawn_reason"] or "" for s in sessions.values())
            assert closed == ["", "author_left", "partner_left"]

    def test_an_amended_plan_hides_archived_items_and_therapists_see_drafts(
        self, app: FastAPI
    ) -> None:
        world = make_world(app)
        week = this_monday()
        plan = published_week(world, week)
        kept = plan["items"][0]
        put_plan(world, week, [{**item(JOINT, "joint", 4), "id": kept["id"]}])
        draft_week = week + timedelta(days=7)
        # Text JSON escapes: quotes, backslashes, controls, non-ASCII, line separators.
        note = 'Next "week" \\ é ✓ 🌱 \u2028 \t tab'
        put_plan(world, draft_week, [item(INDIVIDUAL, "individual", 2)], note=note)
        expected = _slow(app, world.partner_a, world.couple_id, week)
        assert [i["id"] for i in json.loads(expected)["items"]] == [kept["id"]]
        assert _fast(app, world.partner_a, world.couple_id, None) == expected
        draft = _slow(app, world.therapist, world.couple_id, draft_week)
        assert _fast(app, world.therapist, world.couple_id, str(draft_week)) == draft
        hidden = world.partner_a.get(f"/api/couples/{world.couple_id}/plans/{draft_week}")
        assert hidden.status_code == 404

    def test_one_statement_answers_the_same_errors_included(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        world, other = make_world(app), make_world(app)
        published_week(other, this_monday())
        published_week(world, this_monday() - timedelta(weeks=1))
        published_week(world, this_monday(), [item(JOINT, "joint", 5)])
        # Last week's plan comes in the statement's rows too, as it does on a Monday in UTC
        # (one of the weeks may be this week somewhere): only this week's is answered.
        last = this_monday() - timedelta(weeks=1)
        monkeypatch.setattr(
            reads.progress, "possible_current_weeks", lambda _: (last, this_monday())
        )
        for couple in (world.couple_id, other.couple_id, "nonsense", str(uuid.uuid4())):
            for week in (None, "not-a-week", "2026-11-24", str(this_monday())):
                _one_statement_answers_the_same(app, world.partner_a, couple, week)
        world.partner_a.post("/api/auth/logout")
        _one_statement_answers_the_same(app, world.partner_a, world.couple_id, None)

    def test_errors_come_in_the_dependencies_order(self, app: FastAPI) -> None:
        world, other = make_world(app), make_world(app)
        base = f"/api/couples/{world.couple_id}/plans"
        assert world.partner_a.client.get(f"{base}/current").status_code == 401
        assert world.partner_a.client.get("/api/couples/nonsense/plans/x").status_code == 401
        assert world.partner_a.get("/api/couples/nonsense/plans/current").status_code == 404
        assert other.partner_a.get(f"{base}/not-a-week").status_code == 404
        assert world.partner_a.get(f"{base}/not-a-week").status_code == 422
        assert world.partner_a.get(f"{base}/current").status_code == 404  # no plan yet
        answer = world.partner_a.get(f"{base}/current")
        assert answer.json() == {"detail": "No plan for this week"}
        assert answer.headers["cache-control"] == "no-store"


class TestOnPostgreSQLTheReadRunsOnTheLoop:
    """core/async_pg.py: no thread for the read's statements; opening dispute reasons (the
    keyring, through an ORM session) takes one, and a therapist's read is still logged."""

    def test_a_thread_only_for_the_reasons_and_the_therapists_reads_logged(
        self, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        if not async_pg.serves(app.state.engine):
            pytest.skip("needs PostgreSQL")
        threaded: list[str] = []
        run_read = loop_db.run_read

        async def counted(engine, function, /, **kwargs):  # noqa: ANN001, ANN202
            threaded.append(function.__name__)
            return await run_read(engine, function, **kwargs)

        monkeypatch.setattr(loop_db, "run_read", counted)
        world = make_world(app)
        week = this_monday() - timedelta(weeks=1)
        plan = published_week(world, week, [item(JOINT, "joint", 3)])
        said = log(world.partner_a, plan["items"][0]["id"], done_on=str(week)).json()
        expected = _slow(app, world.partner_a, world.couple_id, week)
        assert _fast(app, world.partner_a, world.couple_id, str(week)) == expected
        assert threaded == []
        disputed = world.partner_b.post(
            f"/api/sessions/{said['id']}/dispute", json={"reason": "Not so"}
        )
        assert disputed.status_code == 200
        readers = (world.partner_a, world.therapist)
        slow = [_slow(app, actor, world.couple_id, week) for actor in readers]
        assert all(b'"dispute_reason":"Not so"' in answer for answer in slow)
        before = _reads_logged(app, world.couple_id)  # the service logs its reads too
        assert [_fast(app, actor, world.couple_id, str(week)) for actor in readers] == slow
        assert threaded == ["_open_reasons", "_open_reasons"]
        assert _reads_logged(app, world.couple_id) == before + 1  # the therapist's only


def _reads_logged(app: FastAPI, couple_id: str) -> int:
    with Session(app.state.engine) as session:
        return len(
            session.exec(
                select(audit.AuditEvent).where(
                    audit.AuditEvent.action == "dispute_reason.read_by_therapist",
                    audit.AuditEvent.couple_id == uuid.UUID(couple_id),
                )
            ).all()
        )
