"""Sign-in sessions: idle and absolute lifetimes (shorter for therapists), the list of my
devices, and signing out one device or all of them. Time passes by moving rows back."""

import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import Session

from tandem.accounts.models import SignIn
from tandem.core.db import utcnow
from tandem.core.security import read_access_token
from tests.factories import Actor, login, new_client, register

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0"
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


def _sign_in_id(app: FastAPI, actor: Actor) -> uuid.UUID:
    return read_access_token(actor.token, app.state.settings).sign_in_id


def _row(app: FastAPI, session_id: uuid.UUID) -> SignIn:
    with Session(app.state.engine, expire_on_commit=False) as session:
        row = session.get(SignIn, session_id)
        assert row is not None
        return row


def _age(app: FastAPI, session_id: uuid.UUID, **values: object) -> None:
    with Session(app.state.engine) as session:
        session.execute(
            update(SignIn).where(SignIn.id == session_id).values(**values)  # type: ignore[arg-type]
        )
        session.commit()


def _signed_out(actor: Actor) -> bool:
    me = actor.get("/api/me").status_code
    refreshed = actor.client.post("/api/auth/refresh").status_code
    assert me == refreshed, (me, refreshed)
    return me == 401


class TestLifetimes:
    def test_a_partners_device_lasts_14_idle_days_and_60_days_at_most(self, app: FastAPI) -> None:
        actor = register(app)
        row = _row(app, _sign_in_id(app, actor))
        assert row.idle_seconds == 14 * 86400
        assert abs((row.expires_at - row.created_at) - timedelta(days=60)) < timedelta(minutes=1)

    def test_a_therapists_device_lasts_12_idle_hours_and_7_days_at_most(self, app: FastAPI) -> None:
        actor = register(app, role="therapist")
        row = _row(app, _sign_in_id(app, actor))
        assert row.idle_seconds == 12 * 3600
        assert abs((row.expires_at - row.created_at) - timedelta(days=7)) < timedelta(minutes=1)

    def test_an_idle_partner_device_is_signed_out(self, app: FastAPI) -> None:
        actor = register(app)
        sid = _sign_in_id(app, actor)
        _age(app, sid, last_used_at=utcnow() - timedelta(days=13))
        assert not _signed_out(actor)  # still inside the window (and refreshing renews it)
        _age(app, sid, last_used_at=utcnow() - timedelta(days=14, minutes=1))
        assert _signed_out(actor)

    def test_thirteen_idle_hours_end_a_therapist_but_not_a_partner(self, app: FastAPI) -> None:
        therapist, partner = register(app, role="therapist"), register(app)
        for actor in (therapist, partner):
            _age(app, _sign_in_id(app, actor), last_used_at=utcnow() - timedelta(hours=13))
        assert _signed_out(therapist)
        assert not _signed_out(partner)

    def test_the_absolute_lifetime_ends_even_a_busy_device(self, app: FastAPI) -> None:
        actor = register(app)
        sid = _sign_in_id(app, actor)
        _age(app, sid, expires_at=utcnow() - timedelta(seconds=1), last_used_at=utcnow())
        assert _signed_out(actor)

    def test_refreshing_renews_the_idle_window_but_never_the_absolute_one(
        self, app: FastAPI
    ) -> None:
        actor = register(app)
        sid = _sign_in_id(app, actor)
        before = _row(app, sid)
        _age(app, sid, last_used_at=utcnow() - timedelta(days=10))
        assert actor.client.post("/api/auth/refresh").status_code == 200
        after = _row(app, sid)
        assert utcnow() - after.last_used_at < timedelta(minutes=1)
        assert after.expires_at == before.expires_at

    def test_an_expired_device_is_not_listed(self, app: FastAPI) -> None:
        actor = register(app)
        old_device = new_client(app)
        actor_elsewhere = Actor(old_device, actor.id, actor.email, actor.role, "")
        login(actor_elsewhere)
        _age(app, _sign_in_id(app, actor_elsewhere), last_used_at=utcnow() - timedelta(days=15))
        listed = {s["id"] for s in actor.get("/api/me/sessions").json()}
        assert listed == {str(_sign_in_id(app, actor))}


class TestMyDevices:
    def test_lists_each_signed_in_device_by_browser_and_system(self, app: FastAPI) -> None:
        actor = register(app)
        phone = Actor(new_client(app), actor.id, actor.email, actor.role, "")
        phone.client.headers["user-agent"] = ANDROID_CHROME
        login(phone)
        sessions = phone.get("/api/me/sessions").json()
        assert len(sessions) == 2
        current = [s for s in sessions if s["current"]]
        assert len(current) == 1
        assert current[0]["device"] == "Chrome on Android"
        assert {"id", "device", "created_at", "last_used_at", "current"} <= set(sessions[0])

    def test_only_the_short_name_is_kept_never_the_user_agent(self, app: FastAPI) -> None:
        actor = register(app)
        phone = Actor(new_client(app), actor.id, actor.email, actor.role, "")
        phone.client.headers["user-agent"] = IPHONE_SAFARI
        login(phone)
        assert _row(app, _sign_in_id(app, phone)).device == "Safari on iOS"

    @pytest.mark.parametrize(
        ("user_agent", "named"),
        [
            (MAC_FIREFOX, "Firefox on macOS"),
            (WINDOWS_EDGE, "Edge on Windows"),
            ("X" * 5000, None),
            ("python-httpx/0.28.1", None),
        ],
    )
    def test_browsers_are_named_and_the_unknown_stays_unnamed(
        self, app: FastAPI, user_agent: str, named: str | None
    ) -> None:
        actor = register(app)
        other = Actor(new_client(app), actor.id, actor.email, actor.role, "")
        other.client.headers["user-agent"] = user_agent
        login(other)
        devices = [s["device"] for s in other.get("/api/me/sessions").json() if s["current"]]
        assert devices == [named]

    def test_a_device_signed_in_before_names_existed_is_named_when_listed(
        self, app: FastAPI
    ) -> None:
        actor = register(app)
        _age(app, _sign_in_id(app, actor), device=ANDROID_CHROME[:120])
        [listed] = actor.get("/api/me/sessions").json()
        assert listed["device"] == "Chrome on Android"

    def test_signing_out_one_device_leaves_the_others(self, app: FastAPI) -> None:
        actor = register(app)
        laptop = Actor(new_client(app), actor.id, actor.email, actor.role, "")
        login(laptop)
        answer = actor.delete(f"/api/me/sessions/{_sign_in_id(app, laptop)}")
        assert answer.status_code == 204
        assert _signed_out(laptop)
        assert not _signed_out(actor)
        again = actor.delete(f"/api/me/sessions/{_sign_in_id(app, laptop)}")
        assert again.status_code == 404

    def test_sign_out_everywhere_ends_every_device_and_every_refresh_token(
        self, app: FastAPI
    ) -> None:
        actor = register(app)
        devices = [actor]
        for _ in range(2):
            device = Actor(new_client(app), actor.id, actor.email, actor.role, "")
            login(device)
            devices.append(device)
        answer = actor.delete("/api/me/sessions")
        assert answer.status_code == 204
        assert (
            "__Secure-tandem_refresh=" in answer.headers["set-cookie"]
        )  # this device's cookie dropped
        for device in devices:
            assert device.get("/api/me").status_code == 401
            assert device.client.post("/api/auth/refresh").status_code == 401
        # Signing in again works: nothing is locked.
        login(actor)
        assert actor.get("/api/me").status_code == 200
