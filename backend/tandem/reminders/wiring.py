"""What the reminders plug into the layers below them (called from tandem/wiring.py)."""

from tandem.accounts import person_data
from tandem.core import metrics
from tandem.reminders import gauges, service


def register() -> None:
    metrics.register_at_scrape("outbox", gauges.outbox)
    person_data.register(
        "reminders",
        export=lambda session, user, _settings: service.export(session, user=user),
        erase=lambda session, user: service.forget_user(session, user_id=user.id),
        device_signed_out=lambda session, user, endpoint: service.forget_device(
            session, user=user, endpoint=endpoint
        ),
    )
