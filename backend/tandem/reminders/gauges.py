"""The outbox as /metrics shows it, read from the database at each scrape (so it covers what
separate `tandem worker` processes did); registered with tandem.core.metrics at start-up."""

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.core.db import read_utc, utcnow
from tandem.reminders.models import Notification, NotificationState

log = logging.getLogger("tandem.metrics")


def outbox(engine: Engine) -> Iterator[Metric]:
    """Notifications due and not yet sent, how long the oldest of them has waited, and every
    notification by state."""
    now = utcnow()
    due = [NotificationState.pending, NotificationState.sending]
    try:
        with Session(engine) as session:
            count, oldest = session.exec(
                select(func.count(), func.min(Notification.due_at)).where(
                    col(Notification.state).in_(due), Notification.due_at <= now
                )
            ).one()
            states = dict(
                session.exec(
                    select(Notification.state, func.count()).group_by(col(Notification.state))
                ).all()
            )
    except Exception as exc:  # the database is gone: /readyz says so; metrics still answer
        log.warning("outbox not measured: %s", type(exc).__name__)
        return
    age = 0.0
    if oldest is not None:
        age = max(0.0, (now - read_utc(oldest)).total_seconds())
    yield GaugeMetricFamily("tandem_outbox_due", "Notifications due and not yet sent.", int(count))
    yield GaugeMetricFamily(
        "tandem_outbox_oldest_due_age_seconds", "Age of the oldest due notification.", age
    )
    by_state = GaugeMetricFamily(
        "tandem_notifications", "Notifications in the outbox by state.", labels=["state"]
    )
    for state, n in sorted(states.items()):
        by_state.add_metric([str(state)], n)
    yield by_state
