"""Reminder preferences, push subscriptions, and the test notification."""

import base64
import binascii
import ipaddress
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tandem.accounts.models import User
from tandem.core.config import Settings
from tandem.core.db import utcnow
from tandem.core.errors import Invalid, NotFound
from tandem.reminders import hooks, outbox, scheduler, sender
from tandem.reminders.models import (
    Delivery,
    Notification,
    NotificationKind,
    NotificationState,
    PushSubscription,
    ReminderPreference,
    RemindersBody,
    RemindersOut,
    SubscriptionBody,
    SubscriptionStatusOut,
)

# --- preferences --------------------------------------------------------------------------


def _out(pref: ReminderPreference) -> RemindersOut:
    quiet = None
    if pref.quiet_start and pref.quiet_end:
        quiet = {"start": pref.quiet_start, "end": pref.quiet_end}
    return RemindersOut(
        enabled=pref.enabled,
        times=list(pref.times),
        weekdays=list(pref.weekdays),
        quiet_hours=quiet,
        timezone=pref.timezone,
        discreet=pref.discreet,
        paused_until=pref.paused_until,
        slot_lead_minutes=pref.slot_lead_minutes,
        nudges=pref.nudges,
    )


def get_preferences(session: Session, *, user: User) -> RemindersOut:
    pref = session.get(ReminderPreference, user.id)
    return _out(pref or ReminderPreference(user_id=user.id, timezone=user.timezone))


def set_preferences(
    session: Session, *, user: User, data: RemindersBody, now: datetime | None = None
) -> RemindersOut:
    now = now or utcnow()
    pref = session.get(ReminderPreference, user.id) or ReminderPreference(
        user_id=user.id, timezone=data.timezone
    )
    pref.enabled = data.enabled
    pref.times = sorted(data.times)
    pref.weekdays = sorted(data.weekdays)
    pref.quiet_start = data.quiet_hours.start if data.quiet_hours else None
    pref.quiet_end = data.quiet_hours.end if data.quiet_hours else None
    pref.timezone = data.timezone
    pref.discreet = data.discreet
    pref.paused_until = data.paused_until
    pref.slot_lead_minutes = data.slot_lead_minutes
    pref.nudges = data.nudges
    pref.updated_at = now
    pref.scheduled_until = None
    # Reminders planned under the old settings go; those that still fit come back with the
    # same dedupe key, and one already sent today is not sent again.
    session.execute(
        delete(Notification).where(
            col(Notification.user_id) == user.id,
            col(Notification.kind) == NotificationKind.reminder.value,
            col(Notification.state) == NotificationState.pending.value,
        )
    )
    session.add(pref)
    session.flush()
    scheduler.schedule_user(session, pref=pref, now=now)
    # Reminders other domains keep for this person (agreed practice times) follow the new
    # lead time, time zone and quiet hours.
    hooks.preferences_changed(session, user_id=user.id, now=now)
    session.commit()
    return _out(pref)


# --- subscriptions ------------------------------------------------------------------------


def _b64url(value: str, what: str) -> bytes:
    value = value.strip()
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{what} is not base64url") from exc


def host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    if host in allowed:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        # An address literal is only ever admitted by name: a leading-dot entry cannot
        # reach private, loopback or link-local space.
        return False
    return any(entry.startswith(".") and host.endswith(entry) for entry in allowed)


def validate_endpoint(endpoint: str, settings: Settings) -> None:
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        raise Invalid("endpoint is not a URL") from exc
    schemes = {"https", "http"} if settings.push_allow_insecure else {"https"}
    if parts.scheme not in schemes:
        raise Invalid("endpoint must be an https URL")
    if not host or parts.username or parts.password:
        raise Invalid("endpoint must name a host and nothing else before it")
    if not host_allowed(host, settings.push_host_list):
        raise Invalid("endpoint is not on a known push service")


def endpoint_allowed(endpoint: str, settings: Settings) -> bool:
    """The subscription rule, asked again at send time."""
    try:
        validate_endpoint(endpoint, settings)
    except Invalid:
        return False
    return True


def validate_keys(p256dh: str, auth: str) -> None:
    point = _b64url(p256dh, "keys.p256dh")
    if len(point) != 65 or point[0] != 4:
        raise Invalid("keys.p256dh must be an uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise Invalid("keys.p256dh is not a point on P-256") from exc
    if len(_b64url(auth, "keys.auth")) != 16:
        raise Invalid("keys.auth must be 16 bytes")


def subscribe(
    session: Session,
    *,
    user: User,
    data: SubscriptionBody,
    settings: Settings,
    user_agent: str | None,
) -> PushSubscription:
    validate_endpoint(data.endpoint, settings)
    validate_keys(data.keys.p256dh, data.keys.auth)
    for attempt in range(2):
        existing = session.exec(
            select(PushSubscription).where(PushSubscription.endpoint == data.endpoint)
        ).first()
        # A shared phone: the endpoint now belongs to whoever registered it last.
        subscription = existing or PushSubscription(
            user_id=user.id, endpoint=data.endpoint, p256dh="", auth=""
        )
        subscription.user_id = user.id
        subscription.p256dh = data.keys.p256dh.rstrip("=")
        subscription.auth = data.keys.auth.rstrip("=")
        subscription.user_agent = (user_agent or "")[:200] or None
        subscription.failure_count = 0
        session.add(subscription)
        try:
            session.commit()
            return subscription
        except IntegrityError:
            # Two tabs registered the same endpoint at once: update the winner's row.
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def unsubscribe(session: Session, *, user: User, endpoint: str) -> None:
    """Idempotent; another person's endpoint is left alone and looks the same as none."""
    forget_device(session, user=user, endpoint=endpoint)
    session.commit()


def subscription_status(session: Session, *, user: User, endpoint: str) -> SubscriptionStatusOut:
    """How the last push to the caller's own device went. Another person's endpoint (a shared
    phone) looks the same as one the server dropped: not found."""
    subscription = session.exec(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id
        )
    ).first()
    if subscription is None:
        raise NotFound("This device is not registered for notifications")
    success, failure = subscription.last_success_at, subscription.last_failure_at
    if failure is not None and (success is None or failure > success):
        delivery = Delivery.failing
    elif success is not None:
        delivery = Delivery.delivered
    else:
        delivery = Delivery.none_yet
    return SubscriptionStatusOut(
        endpoint=subscription.endpoint,
        created_at=subscription.created_at,
        last_success_at=success,
        last_failure_at=failure,
        delivery=delivery,
    )


def forget_device(session: Session, *, user: User, endpoint: str) -> None:
    session.execute(
        delete(PushSubscription).where(
            col(PushSubscription.user_id) == user.id, col(PushSubscription.endpoint) == endpoint
        )
    )


def forget_user(session: Session, *, user_id: uuid.UUID) -> None:
    """Account deletion: devices, preferences and anything not yet sent (the caller commits)."""
    session.execute(delete(PushSubscription).where(col(PushSubscription.user_id) == user_id))
    session.execute(delete(ReminderPreference).where(col(ReminderPreference.user_id) == user_id))
    outbox.forget_user(session, user_id=user_id)


def export(session: Session, *, user: User) -> dict[str, object]:
    """The person's reminder settings and devices, for their export (no key material)."""
    devices = session.exec(
        select(PushSubscription).where(PushSubscription.user_id == user.id)
    ).all()
    return {
        "reminders": get_preferences(session, user=user).model_dump(mode="json"),
        "push_devices": [
            {
                "endpoint_origin": sender.origin_of(d.endpoint),
                "user_agent": d.user_agent,
                "created_at": d.created_at.isoformat(),
                "last_success_at": d.last_success_at.isoformat() if d.last_success_at else None,
                "last_failure_at": d.last_failure_at.isoformat() if d.last_failure_at else None,
            }
            for d in devices
        ],
    }


# --- test notification and VAPID ----------------------------------------------------------


def send_test(session: Session, *, user: User, now: datetime | None = None) -> uuid.UUID:
    """A test through the real pipeline. One per minute: a second press is the same row."""
    now = now or utcnow()
    key = f"test:{user.id}:{now.strftime('%Y-%m-%dT%H:%M')}"
    outbox.insert_ignore(
        session,
        [
            {
                "user_id": user.id,
                "kind": NotificationKind.test.value,
                "payload": {"url": "/"},
                "due_at": now,
                "dedupe_key": key,
                # A test that could not go out within minutes has nothing left to test.
                "expires_at": now + timedelta(minutes=15),
            }
        ],
    )
    session.commit()
    return session.exec(select(Notification.id).where(Notification.dedupe_key == key)).one()


def vapid_public_key(settings: Settings) -> str:
    return _public_key(settings.vapid_key)


@lru_cache(maxsize=4)
def _public_key(material: str) -> str:
    return sender.vapid_public_key(sender.load_vapid(material))
