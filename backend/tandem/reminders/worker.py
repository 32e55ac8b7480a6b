"""The reminder worker: the scheduler and the dispatcher, in one asyncio loop.

Rows are claimed in a short transaction, sent outside any transaction, and marked in another
short one, only where this worker still holds the lease. Any number of workers may run on
PostgreSQL; on SQLite they take turns at the write lock.
"""

import asyncio
import logging
import random
import threading
import traceback
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tandem.core import metrics
from tandem.core.config import Settings
from tandem.core.db import utcnow, write_session
from tandem.core.errors import DATABASE_UNAVAILABLE
from tandem.reminders import actions, clock, hooks, outbox, scheduler, sender
from tandem.reminders import service as reminders
from tandem.reminders.models import (
    NotificationKind,
    NotificationState,
    PushSubscription,
    ReminderPreference,
)
from tandem.reminders.outbox import Claimed, Outcome

log = logging.getLogger("tandem.worker")

MAX_ATTEMPTS = 8
MAX_SUBSCRIPTION_FAILURES = 10
EVENT_TTL = 24 * 60 * 60
TEST_TTL = 15 * 60


def backoff(attempts: int) -> float:
    """30 s, 1, 2, 4 ... minutes, capped at an hour, with jitter so retries do not stampede."""
    return min(3600.0, 30.0 * 2.0 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


def outage_backoff(failures: int) -> float:
    """0.5 s, 1, 2, 4 ... up to 30 s between tries while the database is away."""
    return min(30.0, 0.5 * 2.0 ** (failures - 1)) * random.uniform(0.8, 1.2)


class DispatcherOptions(TypedDict, total=False):
    """What a Worker passes on to its Dispatcher (the tests' smaller batches and leases)."""

    batch: int
    concurrency: int
    timeout: float
    lease_seconds: float


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        batch: int = 500,
        concurrency: int = 64,
        timeout: float = 10.0,
        lease_seconds: float = 300.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.batch = batch
        self.lease_seconds = lease_seconds
        vapid = sender.load_vapid(settings.vapid_key)
        self.sender = sender.Sender(
            vapid,
            settings.vapid_subject,
            concurrency=concurrency,
            timeout=timeout,
            endpoint_allowed=lambda endpoint: reminders.endpoint_allowed(endpoint, settings),
        )

    async def close(self) -> None:
        await self.sender.close()

    async def dispatch_once(self, *, now: datetime | None = None) -> int:
        """Claim, send and mark one batch; returns how many rows it claimed."""
        now = now or utcnow()
        token, rows = await asyncio.to_thread(
            outbox.claim, self.engine, now=now, limit=self.batch, lease_seconds=self.lease_seconds
        )
        if not rows:
            return 0
        try:
            outcomes, jobs = await asyncio.to_thread(self._prepare, rows, now)
            results = await self.sender.send_many(jobs) if jobs else []
            await asyncio.to_thread(self._finish, token, rows, outcomes, results, now)
        except BaseException:
            # Cancelled or crashed mid-batch: what was not marked goes back to the queue now,
            # rather than when the lease runs out.
            await asyncio.shield(asyncio.to_thread(outbox.release, self.engine, token=token))
            raise
        return len(rows)

    def _prepare(
        self, rows: list[Claimed], now: datetime
    ) -> tuple[list[Outcome], list[sender.Job]]:
        """Send-time checks (expiry, quiet hours, preferences, work left), then the jobs."""
        user_ids = {row.user_id for row in rows}
        outcomes: list[Outcome] = []
        jobs: list[sender.Job] = []
        with Session(self.engine) as session:
            prefs = {
                p.user_id: p
                for p in session.exec(
                    select(ReminderPreference).where(col(ReminderPreference.user_id).in_(user_ids))
                )
            }
            devices: dict[uuid.UUID, list[PushSubscription]] = defaultdict(list)
            for device in session.exec(
                select(PushSubscription).where(col(PushSubscription.user_id).in_(user_ids))
            ):
                devices[device.user_id].append(device)
            for row in rows:
                try:
                    held, row_jobs = self._prepare_row(session, row, prefs, devices, now)
                except DATABASE_UNAVAILABLE:
                    raise  # not this row's fault: the batch goes back to the queue
                except Exception as exc:
                    # One row that cannot be prepared never holds the others back.
                    session.rollback()
                    outcomes.append(self._unpreparable(row, exc, now))
                    continue
                if held is not None:
                    outcomes.append(held)
                jobs += row_jobs
        return outcomes, jobs

    def _prepare_row(
        self,
        session: Session,
        row: Claimed,
        prefs: dict[uuid.UUID, ReminderPreference],
        devices: dict[uuid.UUID, list[PushSubscription]],
        now: datetime,
    ) -> tuple[Outcome | None, list[sender.Job]]:
        pref = prefs.get(row.user_id)
        held = self._hold(session, row, pref, now)
        if held is not None:
            return held, []
        if not devices[row.user_id]:
            return Outcome(row.id, NotificationState.skipped, error="no device"), []
        data = actions.attach(
            self.settings,
            kind=row.kind,
            notification_id=row.id,
            user_id=row.user_id,
            data=row.payload,
            now=now,
        )
        payload = sender.build_payload(
            notification_id=row.id,
            kind=row.kind,
            data=data,
            discreet=pref.discreet if pref else True,
        )
        ttl, urgency = self._ttl(row, now)
        return None, [
            sender.Job(row.id, d.id, d.endpoint, d.p256dh, d.auth, payload, ttl, urgency)
            for d in devices[row.user_id]
        ]

    def _unpreparable(self, row: Claimed, exc: Exception, now: datetime) -> Outcome:
        """Retried with backoff, then set aside as failed; logged with its traceback (the
        frames and the type, never the message, which may carry a payload)."""
        frames = "".join(traceback.format_tb(exc.__traceback__))
        error = f"could not be prepared: {type(exc).__name__}"
        if row.attempts < MAX_ATTEMPTS:
            metrics.notification_unpreparable("retried")
            log.warning("notification %s %s (attempt %d)\n%s", row.id, error, row.attempts, frames)
            return Outcome(
                row.id,
                NotificationState.pending,
                due_at=now + timedelta(seconds=backoff(row.attempts)),
                error=error,
            )
        metrics.notification_unpreparable("failed")
        log.error("notification %s %s; set aside as failed\n%s", row.id, error, frames)
        return Outcome(row.id, NotificationState.failed, error=error)

    def _hold(
        self, session: Session, row: Claimed, pref: ReminderPreference | None, now: datetime
    ) -> Outcome | None:
        """Why this row must not go out now, if it must not."""
        if row.expires_at is not None and now >= row.expires_at:
            return Outcome(row.id, NotificationState.skipped, error="expired")
        if row.kind == NotificationKind.test.value:
            return None
        check = hooks.send_check(row.kind)
        if check is not None and (reason := check(session, row, now)) is not None:
            return Outcome(row.id, NotificationState.skipped, error=reason)
        if row.kind != NotificationKind.reminder.value:
            if pref is not None and clock.in_quiet_hours(pref, now):
                # error=None: put back without counting an attempt.
                return Outcome(
                    row.id, NotificationState.pending, due_at=clock.quiet_hours_end(pref, now)
                )
            return None
        if pref is None or not pref.enabled:
            return Outcome(row.id, NotificationState.skipped, error="reminders off")
        today = now.astimezone(ZoneInfo(pref.timezone)).date()
        if not scheduler.wanted_on(pref, today):
            return Outcome(row.id, NotificationState.skipped, error="paused or not today")
        if clock.in_quiet_hours(pref, now):
            return Outcome(row.id, NotificationState.skipped, error="quiet hours")
        if not hooks.has_unfinished_work(session, user_id=row.user_id, today=today):
            return Outcome(row.id, NotificationState.skipped, error="nothing left to do")
        return None

    def _ttl(self, row: Claimed, now: datetime) -> tuple[int, str]:
        if row.kind == NotificationKind.test.value:
            return TEST_TTL, "high"
        if row.expires_at is not None:
            return max(60, int((row.expires_at - now).total_seconds())), "normal"
        return EVENT_TTL, "normal"

    def _finish(
        self,
        token: uuid.UUID,
        rows: list[Claimed],
        outcomes: list[Outcome],
        results: list[sender.Result],
        now: datetime,
    ) -> None:
        by_row: dict[uuid.UUID, list[sender.Result]] = defaultdict(list)
        for result in results:
            by_row[result.job.notification_id].append(result)
        for result in results:
            metrics.push_outcome(_outcome_label(result))
        attempts = {row.id: row.attempts for row in rows}
        for row_id, answers in by_row.items():
            outcomes.append(self._judge(row_id, answers, attempts[row_id], now))
        outbox.finish(
            self.engine,
            token=token,
            now=now,
            outcomes=outcomes,
            delivered_to=[r.job.subscription_id for r in results if r.delivered],
            failed_subscriptions=[
                r.job.subscription_id
                for r in results
                if not r.delivered and not r.gone and r.status != 429
            ],
            gone_subscriptions=[r.job.subscription_id for r in results if r.gone],
            max_failures=MAX_SUBSCRIPTION_FAILURES,
        )

    def _judge(
        self, row_id: uuid.UUID, answers: list[sender.Result], attempts: int, now: datetime
    ) -> Outcome:
        # One device that took it is enough: the person has it.
        if any(a.delivered for a in answers):
            return Outcome(row_id, NotificationState.sent)
        retry = [a for a in answers if a.retryable]
        if retry and attempts < MAX_ATTEMPTS:
            waits = [a.retry_after for a in retry if a.retry_after is not None]
            delay = max(waits) if waits else backoff(attempts)
            error = f"HTTP {retry[0].status}" if retry[0].status else "no answer"
            return Outcome(
                row_id,
                NotificationState.pending,
                due_at=now + timedelta(seconds=delay),
                error=error,
            )
        statuses = sorted({a.status for a in answers})
        log.warning("notification %s failed: HTTP %s", row_id, statuses)
        return Outcome(row_id, NotificationState.failed, error=f"HTTP {statuses}")


def _outcome_label(result: sender.Result) -> str:
    if result.delivered:
        return "delivered"
    if result.gone:
        return "gone"
    if result.status == 429:
        return "throttled"
    if result.retryable:
        return "no_answer" if result.status == 0 else "server_error"
    return "rejected"


class Worker:
    """Runs the scheduler every `schedule_every` seconds and the dispatcher in between."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        schedule_every: float = 60.0,
        idle_sleep: float = 1.0,
        lanes: int = 2,
        clock_now: Callable[[], datetime] = utcnow,
        **dispatcher_options: Unpack[DispatcherOptions],
    ) -> None:
        self.engine = engine
        self.dispatcher = Dispatcher(settings, engine, **dispatcher_options)
        self.schedule_every = schedule_every
        self.idle_sleep = idle_sleep
        self.lanes = lanes
        self.now = clock_now
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def schedule(self) -> None:
        with write_session(self.engine) as session:
            scheduler.schedule(session, now=self.now())
            session.commit()

    async def run(self, *, until_empty: bool = False) -> int:
        """Until stop() (or, with until_empty, until nothing is due); returns rows claimed.

        Stopping lets the batches in flight finish and be marked: sends have a timeout, so that
        takes at most about one timeout.
        """
        claimed = 0
        loop = asyncio.get_running_loop()

        async def lane(schedules: bool) -> None:
            nonlocal claimed
            next_schedule = 0.0
            failures = 0
            while not self.stopping.is_set():
                if schedules and loop.time() >= next_schedule:
                    try:
                        await asyncio.to_thread(self.schedule)
                    except Exception as exc:  # a failed round is retried next time
                        log.warning("scheduling failed: %s", type(exc).__name__)
                    next_schedule = loop.time() + self.schedule_every
                try:
                    count = await self.dispatcher.dispatch_once(now=self.now())
                    failures = 0
                except Exception as exc:
                    # The database unreachable (a restart, a failover): wait longer after each
                    # failure, then carry on where the outbox says, without a restart.
                    failures += 1
                    wait = outage_backoff(failures)
                    log.warning("dispatch failed: %s; next try in %.1f s", type(exc).__name__, wait)
                    await asyncio.to_thread(self.stopping.wait, wait)
                    continue
                claimed += count
                if count == 0:
                    if until_empty:
                        break
                    await asyncio.to_thread(self.stopping.wait, self.idle_sleep)

        try:
            # Several lanes, so one batch is claimed and prepared while another is still
            # being sent: the senders never drain to nothing between batches.
            await asyncio.gather(*(lane(schedules=n == 0) for n in range(self.lanes)))
        finally:
            await self.dispatcher.close()
        return claimed

    def stop(self) -> None:
        self.stopping.set()

    def start_thread(self) -> None:
        """The worker embedded in `tandem serve`."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.run()), name="tandem-worker", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
