"""Disputing a joint session, saying (if one wishes) what happened: the reason is sealed at
rest like journal text and reaches the couple's two partners and its therapist, the people who
were there when it was said, and nobody else."""

import logging
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tandem.plans.models import PracticeLog
from tests.factories import Actor, invite, make_world, register
from tests.journal_helpers import marker
from tests.plans_support import log, published_week

DISPUTE = "/api/sessions/{id}/dispute"


@pytest.fixture
def world(app: FastAPI):  # noqa: ANN201
    return make_world(app)


@pytest.fixture
def joint(world) -> str:  # noqa: ANN001
    return published_week(world)["items"][0]["id"]  # joint ×3, then individual ×2


def waiting(world, joint: str) -> dict:  # noqa: ANN001
    answer = log(world.partner_a, joint)
    assert answer.status_code == 201, answer.text
    return answer.json()


def sessions(actor: Actor, couple_id: str) -> list[dict]:
    answer = actor.get(f"/api/couples/{couple_id}/plans/current")
    assert answer.status_code == 200, answer.text
    return [s for i in answer.json()["items"] for s in i["sessions"]]


class TestDisputing:
    def test_a_reason_reaches_both_partners_and_the_therapist(self, world, joint) -> None:  # noqa: ANN001
        entry = waiting(world, joint)
        answer = world.partner_b.post(
            DISPUTE.format(id=entry["id"]), json={"reason": "  We were both too tired.  "}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "disputed" and body["disputed_by"] == world.partner_b.id
        assert body["dispute_reason"] == "We were both too tired."
        for reader in (world.partner_a, world.partner_b, world.therapist):
            (seen,) = [s for s in sessions(reader, world.couple_id) if s["id"] == entry["id"]]
            assert seen["status"] == "disputed"
            assert seen["dispute_reason"] == "We were both too tired."

    def test_no_reason_no_body_and_a_replay(self, world, joint) -> None:  # noqa: ANN001
        bare = waiting(world, joint)
        answer = world.partner_b.post(DISPUTE.format(id=bare["id"]))
        assert answer.status_code == 200 and answer.json()["dispute_reason"] is None
        empty = waiting(world, joint)
        answer = world.partner_b.post(DISPUTE.format(id=empty["id"]), json={})
        assert answer.status_code == 200 and answer.json()["dispute_reason"] is None
        said = waiting(world, joint)
        first = world.partner_b.post(DISPUTE.format(id=said["id"]), json={"reason": "Not today"})
        # A queued replay answers what was said the first time.
        again = world.partner_b.post(DISPUTE.format(id=said["id"]), json={"reason": "Other"})
        assert again.status_code == 200 and again.json() == first.json()
        assert again.json()["dispute_reason"] == "Not today"

    @pytest.mark.parametrize("reason", ["   ", "x" * 501])
    def test_a_blank_or_too_long_reason_is_422_and_changes_nothing(
        self, world, joint, reason: str
    ) -> None:  # noqa: ANN001
        entry = waiting(world, joint)
        answer = world.partner_b.post(DISPUTE.format(id=entry["id"]), json={"reason": reason})
        assert answer.status_code == 422
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", "reason"]
        if not reason.strip():
            assert error["msg"] == "Say what happened, or leave it out"
        (seen,) = [s for s in sessions(world.partner_a, world.couple_id) if s["id"] == entry["id"]]
        assert seen["status"] == "awaiting_partner"

    def test_five_hundred_characters_are_kept_whole(self, world, joint) -> None:  # noqa: ANN001
        entry = waiting(world, joint)
        reason = "é" * 500
        answer = world.partner_b.post(DISPUTE.format(id=entry["id"]), json={"reason": reason})
        assert answer.status_code == 200 and answer.json()["dispute_reason"] == reason

    def test_the_logger_withdraws_a_disputed_log(self, world, joint) -> None:  # noqa: ANN001
        entry = waiting(world, joint)
        world.partner_b.post(DISPUTE.format(id=entry["id"]), json={"reason": "No"})
        assert world.partner_a.delete(f"/api/sessions/{entry['id']}").status_code == 204
        assert entry["id"] not in [s["id"] for s in sessions(world.partner_a, world.couple_id)]


class TestWhoReadsAReason:
    def test_people_who_join_later_and_outsiders_never_read_it(
        self,
        app: FastAPI,
        world,  # noqa: ANN001
        joint: str,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
        seen: dict[str, list[str]] = defaultdict(list)
        original = Actor.request

        def recording(self: Actor, method: str, url: str, **kwargs: Any) -> Any:
            answer = original(self, method, url, **kwargs)
            seen[self.id].append(answer.text)
            return answer

        monkeypatch.setattr(Actor, "request", recording)
        a, b, t = world.partner_a, world.partner_b, world.therapist
        other = make_world(app)
        stranger = register(app)
        canary = marker("dispute")
        entry = waiting(world, joint)
        assert b.post(DISPUTE.format(id=entry["id"]), json={"reason": canary}).status_code == 200
        for reader in (a, b, t):
            sessions(reader, world.couple_id)
        # The therapist ends their care and another takes over; B leaves and someone joins.
        assert t.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        successor = register(
            app, role="therapist", invitation_code=invite(a, world.couple_id, "therapist")
        )
        assert b.post(f"/api/couples/{world.couple_id}/leave").status_code == 204
        newcomer = register(app, invitation_code=invite(a, world.couple_id))
        everyone = [a, b, t, successor, newcomer, other.partner_a, other.therapist, stranger]
        for actor in everyone:
            actor.get(f"/api/couples/{world.couple_id}/plans/current")
            actor.get(f"/api/couples/{world.couple_id}")
            actor.get(f"/api/couples/{world.couple_id}/adherence")
            actor.get("/api/me/export")
        allowed = {a.id, b.id, t.id}
        leaks = [
            actor.email
            for actor in everyone
            if (canary in "\n".join(seen[actor.id])) != (actor.id in allowed)
        ]
        assert not leaks, leaks
        # A still reads it after B left; the successor sees the dispute but not the words.
        (kept,) = [s for s in sessions(successor, world.couple_id) if s["id"] == entry["id"]]
        assert kept["status"] == "disputed" and kept["dispute_reason"] is None
        assert canary in str(sessions(a, world.couple_id))
        assert canary not in caplog.text + "\n".join(r.getMessage() for r in caplog.records)
        assert any(r.name.startswith("sqlalchemy") for r in caplog.records)
        # B's export carries their own words.
        assert canary in b.get("/api/me/export").text
        # The therapist's reads are in B's access log.
        actions = {e["action"] for e in b.get("/api/me/access-log").json()}
        assert "dispute_reason.read_by_therapist" in actions

    def test_the_reason_is_sealed_in_the_database(self, world, joint: str, engine: Engine) -> None:  # noqa: ANN001
        canary = marker("sealed")
        entry = waiting(world, joint)
        world.partner_b.post(DISPUTE.format(id=entry["id"]), json={"reason": canary})
        with engine.connect() as connection:
            sealed = connection.execute(
                select(PracticeLog.sealed_dispute_reason).where(
                    PracticeLog.id == uuid.UUID(entry["id"])  # type: ignore[arg-type]
                )
            ).scalar_one()
        assert sealed and canary.encode() not in sealed
        if engine.dialect.name == "sqlite":
            path = Path(engine.url.database or "")
            wal = path.with_name(path.name + "-wal")
            raw = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
            assert canary.encode() not in raw

    def test_deleting_the_disputers_account_takes_their_words_with_it(
        self, world, joint: str
    ) -> None:  # noqa: ANN001
        entry = waiting(world, joint)
        world.partner_b.post(DISPUTE.format(id=entry["id"]), json={"reason": "gone with me"})
        deleted = world.partner_b.delete("/api/me", json={"password": world.partner_b.password})
        assert deleted.status_code == 204, deleted.text
        for reader in (world.partner_a, world.therapist):
            answer = reader.get(f"/api/couples/{world.couple_id}/plans/current")
            assert answer.status_code == 200, answer.text
            (kept,) = [
                s for i in answer.json()["items"] for s in i["sessions"] if s["id"] == entry["id"]
            ]
            assert kept["status"] == "disputed" and kept["dispute_reason"] is None
