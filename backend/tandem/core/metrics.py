"""Prometheus metrics, per process (each replica is scraped on its own), without a dependency.

Requests and latencies are counted by the request middleware (`tandem.core.middleware.Observe`);
the reminder sender reports each push outcome with `push_outcome(status)`; the outbox is
measured from the database when `/metrics` is scraped.
"""

import hmac
import logging
import math
import threading
from collections import defaultdict
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from tandem.core.db import utcnow

log = logging.getLogger(__name__)
router = APIRouter()

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (method, route template, status) -> [count, sum of seconds, count per bucket...]
_requests: dict[tuple[str, str, str], list[float]] = {}
_push: defaultdict[str, int] = defaultdict(int)
_unpreparable: defaultdict[str, int] = defaultdict(int)
_push_lock = threading.Lock()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Called on the event loop for every request (so no lock is needed)."""
    key = (method, route, str(status))
    series = _requests.get(key)
    if series is None:
        series = _requests[key] = [0.0] * (2 + len(BUCKETS))
    series[0] += 1
    series[1] += seconds
    for i, bound in enumerate(BUCKETS):
        if seconds <= bound:
            series[2 + i] += 1
            break


def push_outcome(status: str) -> None:
    """Count one push request's outcome in this process: "delivered", "gone", "throttled",
    "server_error", "no_answer" or "rejected" (the reminder worker reports each)."""
    with _push_lock:
        _push[status] += 1


def notification_unpreparable(outcome: str) -> None:
    """A notification raised while being prepared: "retried" later, or "failed" for good."""
    with _push_lock:
        _unpreparable[outcome] += 1


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


def _outbox(request: Request) -> tuple[int, float, dict[str, int]] | None:
    """Notifications due and not yet sent, how long the oldest of them has waited, and every
    notification by state (what `tandem worker` processes did, seen from any replica)."""
    from tandem.reminders.models import Notification, NotificationState

    now = utcnow()
    due = [NotificationState.pending, NotificationState.sending]
    try:
        with Session(request.app.state.engine) as session:
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
        return None
    age = 0.0
    if oldest is not None:
        if isinstance(oldest, str):  # SQLite hands an aggregate back untyped
            oldest = datetime.fromisoformat(oldest)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age = max(0.0, (now - oldest).total_seconds())
    return int(count), age, states


def render(outbox: tuple[int, float, dict[str, int]] | None) -> str:
    lines = [
        "# HELP tandem_http_requests_total HTTP requests by method, route template and status.",
        "# TYPE tandem_http_requests_total counter",
    ]
    series = sorted(_requests.items())
    for (method, route, status), values in series:
        labels = f'method="{method}",route="{_label(route)}",status="{status}"'
        lines.append(f"tandem_http_requests_total{{{labels}}} {_number(values[0])}")
    lines += [
        "# HELP tandem_http_request_duration_seconds Time to answer, by method, route and status.",
        "# TYPE tandem_http_request_duration_seconds histogram",
    ]
    for (method, route, status), values in series:
        labels = f'method="{method}",route="{_label(route)}",status="{status}"'
        cumulative = 0.0
        for bound, count in zip((*BUCKETS, math.inf), (*values[2:], 0.0), strict=True):
            cumulative += count
            if math.isinf(bound):
                cumulative = values[0]
            lines.append(
                f'tandem_http_request_duration_seconds_bucket{{{labels},le="{_number(bound)}"}} '
                f"{_number(cumulative)}"
            )
        lines.append(f"tandem_http_request_duration_seconds_sum{{{labels}}} {values[1]!r}")
        lines.append(f"tandem_http_request_duration_seconds_count{{{labels}}} {_number(values[0])}")
    lines += [
        "# HELP tandem_push_outcomes_total Push attempts by outcome.",
        "# TYPE tandem_push_outcomes_total counter",
    ]
    with _push_lock:
        outcomes = sorted(_push.items())
    for status, count in outcomes:
        lines.append(f'tandem_push_outcomes_total{{status="{_label(status)}"}} {count}')
    lines += [
        "# HELP tandem_notifications_unpreparable_total Notifications that raised while being"
        " prepared, by what became of them (retried, failed).",
        "# TYPE tandem_notifications_unpreparable_total counter",
    ]
    with _push_lock:
        unpreparable = sorted(_unpreparable.items())
    for outcome, count in unpreparable:
        lines.append(f'tandem_notifications_unpreparable_total{{outcome="{outcome}"}} {count}')
    if outbox is not None:
        depth, age, states = outbox
        lines += [
            "# HELP tandem_outbox_due Notifications due and not yet sent.",
            "# TYPE tandem_outbox_due gauge",
            f"tandem_outbox_due {depth}",
            "# HELP tandem_outbox_oldest_due_age_seconds Age of the oldest due notification.",
            "# TYPE tandem_outbox_oldest_due_age_seconds gauge",
            f"tandem_outbox_oldest_due_age_seconds {age!r}",
            "# HELP tandem_notifications Notifications in the outbox by state.",
            "# TYPE tandem_notifications gauge",
        ]
        for state, n in sorted(states.items()):
            lines.append(f'tandem_notifications{{state="{_label(str(state))}"}} {n}')
    return "\n".join(lines) + "\n"


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if not token:
        # Off unless configured: the route does not exist as far as anyone can tell.
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    given = request.headers.get("authorization", "")
    scheme, _, credential = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credential.strip().encode(), token.encode()
    ):
        return JSONResponse(
            {"detail": "Not authenticated"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(render(_outbox(request)), media_type=CONTENT_TYPE)
