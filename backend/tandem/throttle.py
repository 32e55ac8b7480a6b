"""Growing delays after failed attempts (logins, recovery, invitation codes).

Counts live in the database so every replica shares them. After a few failures each new
failure doubles the wait before the next attempt is even considered; nothing locks for good,
so nobody can lock a therapist out by typing their email wrong on purpose.
"""

from datetime import timedelta

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from tandem.accounts.models import Throttle
from tandem.config import Settings
from tandem.db import utcnow
from tandem.errors import TooManyRequests
from tandem.security import keyed_digest

FREE_FAILURES = 4
MAX_DELAY_SECONDS = 15 * 60
FORGET_AFTER = timedelta(hours=24)


def delay_seconds(failures: int) -> int:
    if failures < FREE_FAILURES:
        return 0
    return min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


def keys(settings: Settings, kind: str, *, account: str | None, address: str | None) -> list[str]:
    found = []
    if account:
        found.append(f"{kind}:a:" + keyed_digest(account.strip().lower(), settings)[:40])
    if address:
        found.append(f"{kind}:ip:" + keyed_digest(address, settings)[:40])
    return found


def check(session: Session, throttle_keys: list[str]) -> None:
    now = utcnow()
    wait = 0
    for key in throttle_keys:
        row = session.get(Throttle, key)
        if row is None or now - row.last_failure_at > FORGET_AFTER:
            continue
        ready_at = row.last_failure_at + timedelta(seconds=delay_seconds(row.failures))
        wait = max(wait, int((ready_at - now).total_seconds()) + 1 if ready_at > now else 0)
    if wait:
        raise TooManyRequests(headers={"Retry-After": str(wait)})


def fail(session: Session, throttle_keys: list[str]) -> None:
    """Count a failure for each key; an atomic upsert, so concurrent failures all count."""
    now = utcnow()
    stale = now - FORGET_AFTER
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for key in throttle_keys:
        statement = insert(Throttle).values(key=key, failures=1, last_failure_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": case(
                    (col(Throttle.last_failure_at) < stale, 1), else_=col(Throttle.failures) + 1
                ),
                "last_failure_at": now,
            },
        )
        session.execute(statement)


def clear(session: Session, throttle_keys: list[str]) -> None:
    for key in throttle_keys:
        row = session.get(Throttle, key)
        if row is not None:
            session.delete(row)
