"""Where domains built on the reminders plug in, registered once at start-up (tandem/wiring.py,
called by the app and by `tandem worker`), so the reminders never import what sits above them:

- a send check per notification kind, asked by the worker just before a row of that kind goes
  out ("is this still wanted?": the practice time was moved, the session already logged);
- listeners told when a person's reminder settings change, to re-plan the rows they keep;
- planners the scheduler runs on each pass (due questionnaires), each returning a count;
- whether a person still has work this week (plans knows): daily reminders fire only then.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime

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


# Each gets (session, now) and returns how many rows it wrote.
Planner = Callable[[Session, datetime], int]
_planners: dict[str, Planner] = {}


def register_planner(name: str, planner: Planner) -> None:
    _planners[name] = planner


def planners() -> list[Planner]:
    return list(_planners.values())


UnfinishedWork = Callable[[Session, uuid.UUID, date], bool]
_unfinished: list[UnfinishedWork] = []


def provide_unfinished_work(source: UnfinishedWork) -> None:
    _unfinished[:] = [source]


def has_unfinished_work(session: Session, *, user_id: uuid.UUID, today: date) -> bool:
    """Whether the user still has something to do in their couple's current published plan
    (the week containing `today` in the couple's timezone)."""
    if not _unfinished:
        return True  # nobody to ask (never so in the app): remind rather than stay silent
    return _unfinished[0](session, user_id, today)
