"""Questionnaire answers stay between the respondent and their therapist: canaries through
every route the others can call, and scans of the SQLite files and a pg_dump for answers in
plain text."""

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from tests.factories import Actor, make_world, register
from tests.measures_support import PHQ9_RISK, answer, assign

# What only a sealed result holds: the score's band and the sealed JSON's own keys.
SEALED_MARKERS = [b"Moderately severe", b'"risk_items"', b'"answers": {']
# 3·5 + 2 + 1 (item 9) = 18: moderately severe, with a risk answer.
SEVERE_SHEET = {**PHQ9_RISK, "1": 3, "2": 3, "3": 3, "4": 3, "5": 3, "6": 2}


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    original = Actor.request

    def recording(self: Actor, method: str, url: str, **kwargs: Any) -> Any:
        reply = original(self, method, url, **kwargs)
        seen[self.id].append(reply.text)
        return reply

    monkeypatch.setattr(Actor, "request", recording)
    return seen


def _severe(w: Any) -> dict:
    made = assign(w, "phq9")
    done = answer(w.partner_a, made["id"], SEVERE_SHEET)
    assert done.status_code == 201, done.text
    assert done.json()["band"]["label"] == "Moderately severe"
    return {"assignment": made["id"], "response": done.json()["id"]}


def test_partner_a_s_questionnaires_reach_only_a_and_the_therapist(
    app: FastAPI, received: dict[str, list[str]]
) -> None:
    w, other = make_world(app), make_world(app)
    stranger = register(app)
    ids = _severe(w)
    pending = assign(w, "gad7")  # due for A, never shown to anyone else
    flag = w.therapist.get(f"/api/couples/{w.couple_id}/risk-flags").json()[0]["id"]
    goal = w.therapist.post(
        f"/api/couples/{w.couple_id}/goals",
        json={
            "title": "Goal-canary-7f3a",
            "levels": {k: f"level {k}" for k in ("-2", "-1", "0", "1", "2")},
            "owner_id": w.partner_a.id,
        },
    ).json()
    canaries = {
        ids["response"]: {w.partner_a.id, w.therapist.id},
        pending["id"]: {w.partner_a.id, w.therapist.id},
        flag: {w.therapist.id},
        "Goal-canary-7f3a": {w.partner_a.id, w.therapist.id},
        goal["id"]: {w.partner_a.id, w.therapist.id},
    }
    everyone = [w.partner_a, w.partner_b, w.therapist, other.partner_a, other.therapist, stranger]
    for actor in everyone:
        for couple_id in (w.couple_id, other.couple_id):
            base = f"/api/couples/{couple_id}"
            for path in (
                "",
                "/measure-results",
                "/measure-results/shared",
                "/measure-assignments",
                "/risk-flags",
                "/goals",
                "/goal-attainment",
            ):
                actor.get(base + path)
            actor.get(f"{base}/measure-results", params={"respondent_id": w.partner_a.id})
        actor.get("/api/me/measures/due")
        actor.get("/api/me/export")
        actor.get("/api/me/access-log")
        actor.get("/api/measures")
        actor.post(f"/api/measure-responses/{ids['response']}/share")
        actor.delete(f"/api/measure-responses/{ids['response']}/share")
    leaks = []
    for actor in everyone:
        text = "\n".join(received[actor.id])
        for canary, readers in canaries.items():
            if (canary in text) != (actor.id in readers):
                leaks.append((canary, actor.id, actor.id in readers))
    assert not leaks, leaks


def _sqlite_bytes(engine: Engine) -> bytes:
    path = Path(engine.url.database or "")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _pg_dump(engine: Engine) -> bytes:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    url = engine.url.set(drivername="postgresql")
    done = subprocess.run(
        ["pg_dump", "--data-only", "--format=plain", f"--dbname={url.render_as_string(False)}"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-500:]
    return done.stdout


def test_no_answer_or_score_is_stored_in_plain_text(app: FastAPI, engine: Engine) -> None:
    control = "Canary-Name-41c9"
    w = make_world(app)
    w.partner_a.patch("/api/me", json={"display_name": control})
    _severe(w)
    if engine.dialect.name == "sqlite":
        before = _sqlite_bytes(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        snapshots = [before, _sqlite_bytes(engine)]
    else:
        snapshots = [_pg_dump(engine)]
    for data in snapshots:
        for marker in SEALED_MARKERS:
            assert marker not in data, marker
            assert marker.decode().encode("utf-16-le") not in data
    # The scan can see plain text: a display name is stored as it is.
    assert any(control.encode() in data for data in snapshots)
