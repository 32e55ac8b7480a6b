from sqlmodel import Session, func, select

from tandem import cli
from tandem.accounts.models import User
from tandem.core.db import make_engine
from tandem.couples.models import Couple
from tandem.plans.models import PracticeLog, WeeklyPlan


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
        plan = session.exec(select(WeeklyPlan)).one()
        assert plan.status == "published"
        statuses = sorted(log.status for log in session.exec(select(PracticeLog)))
    engine.dispose()
    assert statuses.count("awaiting_partner") == 1
    assert statuses.count("done") >= 3


def test_the_demo_logins_work(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from tandem.core.config import Settings
    from tandem.demo import PASSWORD, seed
    from tandem.main import create_app

    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'demo.db'}", hash_cost="low"
    )
    seed(settings)
    app = create_app(settings)
    client = TestClient(app, base_url="https://testserver")
    token = client.post(
        "/api/auth/login", json={"email": "alex@demo.tandem", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    couple = client.get("/api/couples", headers=headers).json()[0]
    assert couple["this_week"]["done"] >= 2
    plan = client.get(f"/api/couples/{couple['id']}/plans/current", headers=headers).json()
    assert len(plan["items"]) == 5
    app.state.engine.dispose()
