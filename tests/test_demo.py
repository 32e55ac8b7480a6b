from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from tandem import cli, demo
from tandem.accounts.models import User
from tandem.core.config import Settings
from tandem.core.db import make_engine
from tandem.couples.models import Couple
from tandem.demo import PASSWORD, seed
from tandem.main import create_app
from tandem.plans.models import PracticeLog, WeeklyPlan
from tandem.practice_times.models import PracticeSlot


def test_tandem_demo_seeds_a_living_week_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TANDEM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TANDEM_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("TANDEM_HASH_COST", "low")
    assert cli.main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "therapist@demo.tandem" in first and "alex@demo.tandem" in first
    assert cli.main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "already there" in second and "sam@demo.tandem" in second

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 3
        assert session.exec(select(func.count()).select_from(Couple)).one() == 1
        # This week's plan (and next week's, when no evening of this one is left for the
        # agreed time: late on a Sunday).
        plans = session.exec(select(WeeklyPlan)).all()
        assert 1 <= len(plans) <= 2 and {p.status for p in plans} == {"published"}
        statuses = sorted(log.status for log in session.exec(select(PracticeLog)))
    engine.dispose()
    assert statuses.count("awaiting_partner") == 1
    assert statuses.count("disputed") == 1
    assert statuses.count("done") >= 3


def login(client: TestClient, email: str) -> dict[str, str]:
    answer = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_demo_shows_what_a_newcomer_should_see(tmp_path):
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'demo.db'}", hash_cost="low"
    )
    seed(settings)
    app = create_app(settings)
    client = TestClient(app, base_url="https://testserver")
    alex, sam = login(client, "alex@demo.tandem"), login(client, "sam@demo.tandem")
    therapist = login(client, "therapist@demo.tandem")

    def get(path: str, who: dict[str, str]):  # noqa: ANN202
        answer = client.get(path, headers=who)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    couple = get("/api/couples", alex)[0]
    base = f"/api/couples/{couple['id']}"
    assert couple["this_week"]["done"] >= 2
    plan = get(f"{base}/plans/current", alex)
    assert len(plan["items"]) == 5
    # A dispute with what Alex said, which Sam reads.
    logs = [s for i in get(f"{base}/plans/current", sam)["items"] for s in i["sessions"]]
    [disputed] = [s for s in logs if s["status"] == "disputed"]
    assert "phones in the other room" in disputed["dispute_reason"]
    # A time the two agreed.
    slots = get(f"{base}/slots?week_start={plan['week_start']}", sam)
    if not slots:  # late on a Sunday the agreed evening is next week's
        next_week = (date.fromisoformat(plan["week_start"]) + timedelta(days=7)).isoformat()
        slots = get(f"{base}/slots?week_start={next_week}", sam)
    assert [s["status"] for s in slots] == ["accepted"]
    # A questionnaire Alex answered (no risk answer) and Sam still has to.
    [result] = get(f"{base}/measure-results", alex)
    assert result["measure_key"] == "phq4" and result["band"]["label"] == "Mild"
    assert get("/api/me/measures/due", alex) == []
    assert [d["measure"]["key"] for d in get("/api/me/measures/due", sam)] == ["phq4"]
    assert get(f"{base}/risk-flags", therapist) == []
    # Goals with a rating; Sam's own one is Sam's and the therapist's.
    goals = get(f"{base}/goals", therapist)
    assert len(goals) == 2 and all(g["ratings"] for g in goals)
    assert len(get(f"{base}/goals", alex)) == 1
    # The next appointment, with a question Alex shared for it.
    assert get(f"{base}/next-appointment", sam)["starts_at"]
    [shared] = get(f"{base}/prep/shared", therapist)
    assert shared["sections"][0]["key"] == "questions"
    app.state.engine.dispose()


def test_late_on_a_sunday_the_agreed_time_is_next_weeks(tmp_path, monkeypatch):
    """No evening of this week is left: next week's plan is published to hold the time."""
    zone = ZoneInfo(demo.TIMEZONE)
    today = datetime.now(zone).date()
    sunday = today + timedelta(days=6 - today.weekday())
    monkeypatch.setattr(demo, "utcnow", lambda: datetime.combine(sunday, time(23, 0), zone))
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'demo.db'}", hash_cost="low"
    )
    seed(settings)
    engine = make_engine(settings.database)
    with Session(engine) as session:
        weeks = sorted(p.week_start for p in session.exec(select(WeeklyPlan)))
        [slot] = session.exec(select(PracticeSlot)).all()
    engine.dispose()
    assert weeks == [sunday - timedelta(days=6), sunday + timedelta(days=1)]
    assert slot.status == "accepted"
    assert slot.starts_at.astimezone(zone).date() == sunday + timedelta(days=1)
