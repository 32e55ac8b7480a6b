"""Action tokens: what lets "Done", "In 1 hour" and "Tonight" work from a lock screen.

The service worker holds no access token, so each reminder's push carries its own token, made
when the push is built: the notification id, the person's id and an expiry (24 hours after the
send), sealed with an HMAC under a key derived from the server's secret. Nothing is stored to
make one, so the worker writes nothing before it sends; the server stores a token only as its
hash, when it is spent (`practice_times` keeps one spent action per notification), which is
what makes it single-use.
"""

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from tandem.core.config import Settings
from tandem.reminders.models import NotificationKind

LIFETIME = timedelta(hours=24)
# The kinds whose notifications offer actions: daily reminders and reminders before an agreed
# practice time. Titles name nothing, so they stay discreet on any lock screen.
ACTIONABLE = {NotificationKind.reminder.value, NotificationKind.slot.value}
ACTIONS = [
    {"action": "done", "title": "Done"},
    {"action": "snooze_1h", "title": "In 1 hour"},
    {"action": "snooze_evening", "title": "Tonight"},
]
_VERSION = b"\x01"
_MAC_BYTES = 16  # 128 bits
_LENGTH = 1 + 16 + 16 + 5 + _MAC_BYTES


@lru_cache(maxsize=4)
def _derived(signing_key: bytes) -> bytes:
    # A key of its own: a token can never be mistaken for anything else the secret signs.
    return hmac.new(signing_key, b"tandem reminder action tokens", hashlib.sha256).digest()


def _mac(settings: Settings, body: bytes) -> bytes:
    return hmac.new(_derived(settings.signing_key), body, hashlib.sha256).digest()[:_MAC_BYTES]


def mint(
    settings: Settings, *, notification_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> str:
    expires = int((now + LIFETIME).timestamp())
    body = _VERSION + notification_id.bytes + user_id.bytes + expires.to_bytes(5, "big")
    return base64.urlsafe_b64encode(body + _mac(settings, body)).rstrip(b"=").decode()


@dataclass(frozen=True)
class Token:
    notification_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


def read(settings: Settings, token: str) -> Token | None:
    """The token's content if this server made it (whether or not it has expired or been
    spent: the caller decides), else None."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _LENGTH or raw[:1] != _VERSION:
        return None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(settings, body)):
        return None
    expires = datetime.fromtimestamp(int.from_bytes(body[33:38], "big"), UTC)
    return Token(uuid.UUID(bytes=body[1:17]), uuid.UUID(bytes=body[17:33]), expires)


def attach(
    settings: Settings,
    *,
    kind: str,
    notification_id: uuid.UUID,
    user_id: uuid.UUID,
    data: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A row's payload data, with its actions and their token when its kind has actions."""
    if kind not in ACTIONABLE:
        return data
    token = mint(settings, notification_id=notification_id, user_id=user_id, now=now)
    return {**data, "actions": ACTIONS, "action_token": token}
