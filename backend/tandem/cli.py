"""`tandem serve | worker | migrate | demo | create-user | reset-password | rotate-key`."""

import argparse
import atexit
import base64
import gc
import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Literal, TypedDict

from tandem import migrations, wiring
from tandem.accounts import service as accounts
from tandem.accounts.models import Role
from tandem.core import crypto, logs, metrics
from tandem.core.config import Settings, _key_bytes
from tandem.core.db import make_engine, write_session
from tandem.core.errors import DomainError
from tandem.exercises import service as exercises


def _migrate(settings: Settings) -> None:
    settings.ensure_keys()
    engine = make_engine(settings.database)
    migrations.upgrade(engine)
    exercises.sync_library(engine)
    engine.dispose()


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    print("Database is up to date.")
    return 0


class UvicornOptions(TypedDict):
    loop: Literal["asyncio"]
    server_header: bool
    date_header: bool
    proxy_headers: bool
    access_log: bool
    log_config: None
    log_level: str


# No version banner (`server: uvicorn`), no clock hint; the client address comes from
# Tandem's own trusted-proxy rule (api/access.py::client_address), never from uvicorn's.
UVICORN_OPTIONS: UvicornOptions = {
    # asyncio's own loop, not uvloop (which uvicorn picks when it is installed): under a full
    # load uvloop serves newly arrived requests before it finishes the ones already started,
    # so a few wait many times the median (MagicStack/uvloop#123). Measured here, a route
    # burning 300 µs at 64 connections: p99 439 ms with uvloop, 27 ms with asyncio, the same
    # requests/s (docs/BENCHMARKS.md, "Issue 15, round 5").
    "loop": "asyncio",
    "server_header": False,
    "date_header": False,
    "proxy_headers": False,
    # Tandem's own JSON line per request replaces uvicorn's access log, which would carry
    # query strings; uvicorn's other messages go through the JSON formatter too.
    "access_log": False,
    "log_config": None,
    "log_level": "warning",
}


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from tandem.main import create_app

    _migrate(settings)
    app = create_app(settings, run_worker=not args.no_worker)
    # What start-up built (modules, routes, models, compiled statements) lives as long as the
    # process: out of the collector's sight, a full collection under load no longer walks it.
    gc.collect()
    gc.freeze()
    print(f"Tandem is running on http://{args.host}:{args.port}  (Ctrl+C stops it)")
    uvicorn.run(app, host=args.host, port=args.port, **UVICORN_OPTIONS)
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from tandem import backup

    try:
        path = backup.backup(settings, args.output)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Backed up to {path}. The keys are not in it: keep them apart (docs/DEPLOYING.md).")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import signal

    from tandem.reminders.worker import Worker

    _migrate(settings)
    engine = make_engine(settings.database)
    wiring.register()  # every domain's hooks: send checks, planners (tandem/wiring.py)
    worker = Worker(
        settings,
        engine,
        batch=args.batch,
        concurrency=args.concurrency,
        lease_seconds=args.lease_seconds,
    )

    def _stop(_signum: int, _frame: object) -> None:
        # The batch in flight finishes and is marked; nothing new is claimed.
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    claimed = asyncio.run(worker.run(until_empty=args.until_empty))
    engine.dispose()
    if args.until_empty:
        print(f"Nothing left to send; this worker handled {claimed} notifications.")
    return 0


def _ask_password(prompt: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    password = args.password or _ask_password("Password: ")
    engine = make_engine(settings.database)
    with write_session(engine) as session:
        user, code = accounts.create_user(
            session,
            settings=settings,
            email=args.email,
            password=password,
            display_name=args.name,
            role=Role(args.role),
            timezone=args.timezone,
        )
    print(f"Created {user.role} {user.email}. Recovery code (shown once): {code}")
    return 0


def cmd_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or _ask_password("New password: ")
    engine = make_engine(settings.database)
    with write_session(engine) as session:
        code = accounts.reset_password(
            session, settings=settings, email=args.email, password=password
        )
    print(f"Password reset; every device was signed out. New recovery code: {code}")
    return 0


def cmd_rotate_key(_args: argparse.Namespace, settings: Settings) -> int:
    """Re-wrap every data key under a new key-encryption key; entries are not re-encrypted.

    Stop every Tandem process first: one still holding the old key cannot open anything
    re-wrapped under the new one until it restarts with it.
    """
    _migrate(settings)
    old = settings.key_encryption_key
    key_file = settings.data_dir / "encryption.key"
    staged = key_file.with_name("encryption.key.new")
    given = os.environ.get("TANDEM_NEW_ENCRYPTION_KEY")
    if not given and settings.encryption_key is None and staged.exists():
        given = staged.read_text().strip()  # finish a rotation that was interrupted
    new_text = given or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    new = _key_bytes(new_text, "TANDEM_NEW_ENCRYPTION_KEY")
    if len(new) != 32:
        raise ValueError("TANDEM_NEW_ENCRYPTION_KEY must be 32 bytes, base64url encoded")
    if settings.encryption_key is None:
        # The key lives in the data directory: stage the new one next to it before any data
        # key changes, so a crash midway leaves both keys on disk.
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(new))
            handle.flush()
            os.fsync(handle.fileno())
    engine = make_engine(settings.database)
    try:
        with write_session(engine) as session:
            count = crypto.rotate_data_keys(session, old_kek=old, new_kek=new)
    finally:
        engine.dispose()
    print(f"Re-wrapped {count} data keys under key {crypto.kek_id(new)}.")
    if settings.encryption_key is None:
        os.replace(staged, key_file)
        print(f"{key_file} now holds the new key; the old key opens nothing any more.")
    else:
        if not given:
            print(f"New key (shown once, keep it out of backups): {new_text}")
        print(
            "Now set TANDEM_ENCRYPTION_KEY to the new key on every API and worker process and "
            "restart them; the old key opens nothing any more."
        )
    return 0


def cmd_demo(_args: argparse.Namespace, settings: Settings) -> int:
    from tandem import demo

    logins = demo.seed(settings)
    if logins.created:
        print(
            "Seeded a demo therapist and a couple: this week's plan with some practice logged,"
            " an agreed practice time, a questionnaire, goals and the next appointment."
        )
    else:
        print("The demo is already there.")
    print(logins.text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Run and operate Tandem.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="API, app and reminder worker in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="API only (for replicas)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="reminder scheduler and push dispatcher alone")
    worker.add_argument("--batch", type=int, default=500, help="rows claimed at a time")
    worker.add_argument("--concurrency", type=int, default=64, help="pushes in flight")
    worker.add_argument("--until-empty", action="store_true", help="exit when nothing is due")
    worker.add_argument(
        "--lease-seconds",
        type=int,
        default=300,
        help="how long a claimed row is this worker's before another may take it over",
    )
    worker.set_defaults(handler=cmd_worker)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo", help="seed a therapist, a couple and a week to try")
    demo.set_defaults(handler=cmd_demo)

    create = commands.add_parser("create-user", help="create an account (e.g. the first therapist)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default="therapist")
    create.add_argument("--timezone", default="UTC")
    create.add_argument("--password", help="read from standard input when omitted")
    create.set_defaults(handler=cmd_create_user)

    reset = commands.add_parser("reset-password", help="set a new password for an account")
    reset.add_argument("--email", required=True)
    reset.add_argument("--password", help="read from standard input when omitted")
    reset.set_defaults(handler=cmd_reset_password)

    backup = commands.add_parser("backup", help="copy the database while Tandem runs")
    backup.add_argument(
        "--output", type=Path, help="file to write (default: <data dir>/backups/tandem-<time>.*)"
    )
    backup.set_defaults(handler=cmd_backup)

    rotate = commands.add_parser(
        "rotate-key",
        help="re-wrap every data key under a new key-encryption key "
        "(TANDEM_NEW_ENCRYPTION_KEY, or a generated one); stop the servers first",
    )
    rotate.set_defaults(handler=cmd_rotate_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        logs.configure(settings.log_level, settings.log_format)
        # Processes sharing PROMETHEUS_MULTIPROC_DIR (serve and workers on one host) count
        # together (docs/DEPLOYING.md); a stopped one's live gauges stop counting.
        metrics.prepare_multiprocess_dir()
        atexit.register(metrics.process_exited, os.getpid())
        code: int = args.handler(args, settings)
        return code
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
