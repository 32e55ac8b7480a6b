"""Growing delays after attempts at a secret (sign-in, re-authentication, recovery, invitation
codes) and after sign-ups.

Counts live in the database so every replica shares them. Each attempt is counted BEFORE the
secret is checked, by one conditional upsert per key that also decides whether the attempt may
go ahead (`attempt`): of 40 guesses sent at once, only as many as the rule allows are checked,
on PostgreSQL (the upsert locks the row) as on SQLite (one writer at a time). A success gives
its count back (`succeeded`).

Per account, a few free failures, then each failure doubles the wait, up to 15 minutes: nothing
locks for good, so nobody can lock a therapist out by typing their email wrong on purpose. Per
client address the allowance is larger and the wait short (a minute at most): it slows one
address that guesses across many accounts, without locking out everybody else behind the same
address (a clinic's NAT). Sign-ups count per address, successful or not.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel

from tandem.core.config import Settings
from tandem.core.db import UTCDateTime, table_of, timestamp, utcnow
from tandem.core.errors import TooManyRequests
from tandem.core.security import keyed_digest


class Throttle(SQLModel, table=True):
    """Failed attempts per account or client address, shared by every replica."""

    __tablename__ = "throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    last_failure_at: datetime = timestamp()


FORGET_AFTER = timedelta(hours=24)
TABLE = table_of(Throttle)


@dataclass(frozen=True)
class Rule:
    free: int  # failures allowed before any wait
    max_delay: int  # seconds
    # What a success does: "clear" the count, "refund" its own attempt, or "keep" it.
    on_success: str = "refund"

    def delay(self, failures: int) -> int:
        if failures < self.free:
            return 0
        # Typed apart: int ** int is Any to a checker (a negative power gives a float).
        doubled: int = 2 ** (failures - self.free)
        return min(doubled, self.max_delay)


ACCOUNT = Rule(free=4, max_delay=15 * 60, on_success="clear")
# SPEC: 429 by the tenth failure at the latest, for an address too; then a minute at most.
ADDRESS = Rule(free=9, max_delay=60)
# A practice may sign up a dozen people a day behind one address (couples onboarded on the
# clinic's Wi-Fi); a script signing up sixty in a burst waits minutes after the twentieth.
SIGNUP = Rule(free=20, max_delay=15 * 60, on_success="keep")
ADDRESS_RULES = {"register": SIGNUP}


@dataclass(frozen=True)
class Key:
    name: str
    rule: Rule


def keys(
    settings: Settings,
    kind: str,
    *,
    account: str | None,
    address: str | None,
    address_rule: Rule | None = None,
) -> list[Key]:
    """The counters for an attempt of `kind`: the account's first, then the address's (with
    `address_rule` where one address must be held to more than ADDRESS)."""
    found = []
    if account:
        name = f"{kind}:a:" + keyed_digest(account.strip().lower(), settings)[:40]
        found.append(Key(name, ACCOUNT))
    if address:
        name = f"{kind}:ip:" + keyed_digest(address, settings)[:40]
        found.append(Key(name, address_rule or ADDRESS_RULES.get(kind, ADDRESS)))
    return found


def _at(value: datetime) -> object:
    return literal(value, type_=UTCDateTime())


def _may_go_ahead(rule: Rule, now: datetime) -> ColumnElement[bool]:
    """The stored row allows one more attempt now (SQL over the existing row)."""
    failures, last = TABLE.c.failures, TABLE.c.last_failure_at
    waits = [(failures == n, _at(now - timedelta(seconds=rule.delay(n)))) for n in _steps(rule)]
    ready_by = case(*waits, else_=_at(now - timedelta(seconds=rule.max_delay)))
    return (failures < rule.free) | (last < _at(now - FORGET_AFTER)) | (last <= ready_by)


def _steps(rule: Rule) -> range:
    # Failure counts whose delay is still below the cap; beyond them the cap applies.
    steps = 0
    while rule.delay(rule.free + steps) < rule.max_delay:
        steps += 1
    return range(rule.free, rule.free + steps)


def attempt(session: Session, throttle_keys: list[Key]) -> None:
    """Count one attempt on every key, or refuse it (429) if any key must wait; the caller
    commits (a refusal leaves its transaction to be rolled back)."""
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stale = now - FORGET_AFTER
    for key in throttle_keys:
        statement = (
            insert(TABLE)
            .values(key=key.name, failures=1, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "failures": case(
                        (TABLE.c.last_failure_at < _at(stale), 1), else_=TABLE.c.failures + 1
                    ),
                    "last_failure_at": now,
                },
                where=_may_go_ahead(key.rule, now),
            )
            .returning(TABLE.c.failures)
        )
        if session.execute(statement).first() is None:
            raise TooManyRequests(headers={"Retry-After": str(_wait(session, key, now))})


def _wait(session: Session, key: Key, now: datetime) -> int:
    row = session.execute(
        select(TABLE.c.failures, TABLE.c.last_failure_at).where(TABLE.c.key == key.name)
    ).first()
    if row is None:
        return 1
    ready_at = row.last_failure_at + timedelta(seconds=key.rule.delay(row.failures))
    return max(1, int((ready_at - now).total_seconds()) + 1)


def succeeded(session: Session, throttle_keys: list[Key]) -> None:
    """The secret was right: the account starts afresh, the address gets its attempt back."""
    for key in throttle_keys:
        if key.rule.on_success == "clear":
            session.execute(delete(TABLE).where(TABLE.c.key == key.name))
        elif key.rule.on_success == "refund":
            session.execute(
                update(TABLE)
                .where(TABLE.c.key == key.name, TABLE.c.failures > 0)
                .values(failures=TABLE.c.failures - 1)
            )


# --- counting after the fact ----------------------------------------------------------------
# For limits that guard no secret (a calendar feed's fetches): check first, count afterwards.
# Not atomic under concurrency; guessing a secret uses `attempt`.


def _as_key(key: Key | str) -> Key:
    return key if isinstance(key, Key) else Key(key, ACCOUNT)


def check(session: Session, throttle_keys: list[Key] | list[str]) -> None:
    now = utcnow()
    for key in map(_as_key, throttle_keys):
        row = session.execute(
            select(TABLE.c.failures, TABLE.c.last_failure_at).where(TABLE.c.key == key.name)
        ).first()
        if row is None or now - row.last_failure_at > FORGET_AFTER:
            continue
        if row.last_failure_at + timedelta(seconds=key.rule.delay(row.failures)) > now:
            raise TooManyRequests(headers={"Retry-After": str(_wait(session, key, now))})


def fail(session: Session, throttle_keys: list[Key] | list[str]) -> None:
    """Count one more for each key (an atomic upsert: concurrent counts all count)."""
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for key in map(_as_key, throttle_keys):
        session.execute(
            insert(TABLE)
            .values(key=key.name, failures=1, last_failure_at=now)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "failures": case(
                        (TABLE.c.last_failure_at < _at(now - FORGET_AFTER), 1),
                        else_=TABLE.c.failures + 1,
                    ),
                    "last_failure_at": now,
                },
            )
        )
