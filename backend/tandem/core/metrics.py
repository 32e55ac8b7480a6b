"""Prometheus metrics, through `prometheus_client` (its registry, histogram and exposition).

Requests and latencies are counted by the request middleware (`tandem.core.middleware.Observe`);
the reminder worker reports each push outcome with `push_outcome(status)`; what only the
database knows (the outbox) is measured when `/metrics` is scraped, by collectors the domains
register at start-up (`register_at_scrape`), so this module imports no domain.

One process: its own registry, scraped on its own. Several processes on one host (`tandem
serve` and `tandem worker`s) may share their counts through prometheus_client's multi-process
mode: `PROMETHEUS_MULTIPROC_DIR` names a directory they all write to (the CLI creates it;
docs/DEPLOYING.md), and any of them then answers for all.
"""

import hmac
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import Metric
from sqlalchemy.engine import Engine

router = APIRouter()

# The `_created` series would double every counter for nobody's use.
disable_created_metrics()

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "tandem_http_requests",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "tandem_http_request_duration_seconds",
    "Time to answer, by method, route and status.",
    ["method", "route", "status"],
    buckets=BUCKETS,
    registry=REGISTRY,
)
PUSH_OUTCOMES = Counter(
    "tandem_push_outcomes", "Push attempts by outcome.", ["status"], registry=REGISTRY
)
UNPREPARABLE = Counter(
    "tandem_notifications_unpreparable",
    "Notifications that raised while being prepared, by what became of them (retried, failed).",
    ["outcome"],
    registry=REGISTRY,
)

# What a domain measures from the database at each scrape: (engine) -> metric families. It
# must not raise (a database that is gone is /readyz's news; /metrics still answers).
ScrapeCollector = Callable[[Engine], Iterable[Metric]]
_at_scrape: dict[str, ScrapeCollector] = {}


def register_at_scrape(name: str, collect: ScrapeCollector) -> None:
    """Keyed by name, so registering twice (several apps in one process) adds nothing."""
    _at_scrape[name] = collect


# Each (method, route, status)'s counter and histogram, as `labels()` gives them (it returns the
# same ones every time, after ~6 µs of checks per call: on every request, twice).
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    found = _series.get((method, route, status))
    if found is None:
        labels = (method, route, str(status))
        found = _series[(method, route, status)] = (
            REQUESTS.labels(*labels),
            DURATION.labels(*labels),
        )
    found[0].inc()
    found[1].observe(seconds)


def push_outcome(status: str) -> None:
    """Count one push request's outcome: "delivered", "gone", "throttled", "server_error",
    "no_answer" or "rejected" (the reminder worker reports each)."""
    PUSH_OUTCOMES.labels(status).inc()


def notification_unpreparable(outcome: str) -> None:
    """A notification raised while being prepared: "retried" later, or "failed" for good."""
    UNPREPARABLE.labels(outcome).inc()


class _Scrape:
    """What one scrape answers: the counters (this process's, or every process's on the host
    in multi-process mode), then what the registered collectors read from the database."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        if os.environ.get(MULTIPROCESS_ENV):
            shared = CollectorRegistry()
            multiprocess.MultiProcessCollector(shared)
            yield from shared.collect()
        else:
            yield from REGISTRY.collect()
        if self.engine is not None:
            for collect in _at_scrape.values():
                yield from collect(self.engine)


def render(engine: Engine | None) -> str:
    """The exposition text; without an engine, only what the processes counted."""
    # generate_latest only calls .collect() on what it is given (its Collector protocol).
    return generate_latest(_Scrape(engine)).decode()


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
    return Response(render(request.app.state.engine), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def prepare_multiprocess_dir() -> None:
    """Called by the CLI before anything counts: the shared directory must exist (an operator
    who names one in a fresh container should not see the process fail on a missing path)."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        os.makedirs(directory, exist_ok=True)


def process_exited(pid: int) -> None:
    """Multi-process mode: a stopped process's live gauges no longer count (its counters do)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(pid)
