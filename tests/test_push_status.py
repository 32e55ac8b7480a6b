"""`POST /api/push/subscriptions/status`: how the last push to the caller's own device went,
recorded by the worker's own bookkeeping (outbox.finish), surviving the app re-registering the
device at every start."""

import uuid
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tandem.core.db import utcnow
from tandem.reminders import outbox
from tandem.reminders.models import PushSubscription
from tests.factories import register
from tests.test_reminders import subscription

STATUS = "/api/push/subscriptions/status"


def _id(engine: Engine, endpoint: str) -> uuid.UUID:
    with Session(engine) as session:
        return session.exec(
            select(PushSubscription.id).where(PushSubscription.endpoint == endpoint)
        ).one()


def _worker_says(engine: Engine, endpoint: str, *, delivered: bool, at=None) -> None:  # noqa: ANN001
    """What the worker records after a push service answered (no rows of its own in flight)."""
    device = _id(engine, endpoint)
    outbox.finish(
        engine,
        token=uuid.uuid4(),
        now=at or utcnow(),
        outcomes=[],
        delivered_to=[device] if delivered else [],
        failed_subscriptions=[] if delivered else [device],
    )


class TestMyDevicesDelivery:
    def test_a_new_device_has_had_nothing_yet(self, app: FastAPI) -> None:
        actor = register(app)
        body = subscription()
        assert actor.post("/api/push/subscriptions", json=body).status_code == 201
        answer = actor.post(STATUS, json={"endpoint": body["endpoint"]})
        assert answer.status_code == 200
        assert answer.json()["delivery"] == "none_yet"
        assert answer.json()["last_success_at"] is None

    def test_delivered_then_failing_then_delivered_again(
        self, app: FastAPI, engine: Engine
    ) -> None:
        actor = register(app)
        body = subscription()
        actor.post("/api/push/subscriptions", json=body)
        start = utcnow()
        _worker_says(engine, body["endpoint"], delivered=True, at=start)
        seen = actor.post(STATUS, json={"endpoint": body["endpoint"]}).json()
        assert seen["delivery"] == "delivered"
        assert seen["last_success_at"] is not None

        _worker_says(engine, body["endpoint"], delivered=False, at=start + timedelta(minutes=1))
        assert actor.post(STATUS, json={"endpoint": body["endpoint"]}).json()["delivery"] == (
            "failing"
        )
        # The app re-registers the device at every start: that must not hide the failure.
        assert actor.post("/api/push/subscriptions", json=body).status_code == 201
        assert actor.post(STATUS, json={"endpoint": body["endpoint"]}).json()["delivery"] == (
            "failing"
        )

        _worker_says(engine, body["endpoint"], delivered=True, at=start + timedelta(minutes=2))
        assert actor.post(STATUS, json={"endpoint": body["endpoint"]}).json()["delivery"] == (
            "delivered"
        )

    def test_a_device_the_push_service_called_gone_is_not_found(
        self, app: FastAPI, engine: Engine
    ) -> None:
        actor = register(app)
        body = subscription()
        actor.post("/api/push/subscriptions", json=body)
        outbox.finish(
            engine,
            token=uuid.uuid4(),
            now=utcnow(),
            outcomes=[],
            gone_subscriptions=[_id(engine, body["endpoint"])],
        )
        answer = actor.post(STATUS, json={"endpoint": body["endpoint"]})
        assert answer.status_code == 404
        assert answer.json()["detail"] == "This device is not registered for notifications"

    def test_someone_elses_device_looks_like_none(self, app: FastAPI) -> None:
        owner, other = register(app), register(app)
        body = subscription()
        owner.post("/api/push/subscriptions", json=body)
        assert other.post(STATUS, json={"endpoint": body["endpoint"]}).status_code == 404
        assert owner.post(STATUS, json={"endpoint": body["endpoint"]}).status_code == 200

    def test_an_endpoint_never_registered_is_not_found(self, app: FastAPI) -> None:
        actor = register(app)
        endpoint = subscription()["endpoint"]
        assert actor.post(STATUS, json={"endpoint": endpoint}).status_code == 404
        assert actor.post(STATUS, json={"endpoint": ""}).status_code == 422
