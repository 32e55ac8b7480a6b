"""`tandem serve | worker | migrate | demo | create-user | reset-password`."""

import argparse
import getpass
import sys
from pathlib import Path

from tandem import logs, migrations
from tandem.accounts import service as accounts
from tandem.accounts.models import Role
from tandem.config import Settings
from tandem.db import make_engine, write_session
from tandem.errors import DomainError


def _migrate(settings: Settings) -> None:
    settings.ensure_keys()
    engine = make_engine(settings.database)
    migrations.upgrade(engine)
    engine.dispose()


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    print("Database is up to date.")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from tandem.main import create_app

    _migrate(settings)
    app = create_app(settings, run_worker=not args.no_worker)
    print(f"Tandem is running on http://{args.host}:{args.port}  (Ctrl+C stops it)")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        # Tandem's own JSON line per request replaces uvicorn's access log, which would carry
        # query strings; uvicorn's other messages go through the JSON formatter too.
        access_log=False,
        log_config=None,
        log_level="warning",
    )
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Run and operate Tandem.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="API, app and reminder worker in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="API only (for replicas)")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(handler=cmd_migrate)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        logs.configure(settings.log_level)
        return args.handler(args, settings)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
