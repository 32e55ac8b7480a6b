"""Where domains built on the reminders plug in, registered once at start-up (tandem.main and
`tandem worker` call their `register()`), so the reminders never import what sits above them:

- a send check per notification kind, asked by the worker just before a row of that kind goes
  out ("is this still wanted?": the practice time was moved, the session already logged);
- listeners told when a person's reminder settings change, to re-plan the rows they keep.
"""

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from tandem.reminders.outbox import Claimed

# (session, the claimed row, now) -> why it must not be sent, or None to send it.
SendCheck = Callable[[Session, Claimed, datetime], str | None]
PreferencesListener = Callable[[Session, uuid.UUID, datetime], None]

_send_checks: dict[str, SendCheck] = {}
_listeners: dict[str, PreferencesListener] = {}


def register_send_check(kind: str, check: SendCheck) -> None:
    _send_checks[kind] = check


def send_check(kind: str) -> SendCheck | None:
    return _send_checks.get(kind)


def on_preferences_changed(name: str, listener: PreferencesListener) -> None:
    """Keyed by name, so registering twice (several apps in one process) adds nothing."""
    _listeners[name] = listener


def preferences_changed(session: Session, *, user_id: uuid.UUID, now: datetime) -> None:
    for listener in _listeners.values():
        listener(session, user_id, now)
