"""`tandem backup`: a consistent copy of the database while Tandem keeps serving.

SQLite is copied with its online backup API (a snapshot, even with writers at work); PostgreSQL
with `pg_dump --format=custom`. Neither copy holds the keys: the key-encryption key and the
signing key live in the environment or the data directory and are backed up separately.
"""

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from tandem.core.config import Settings


class BackupError(Exception):
    pass


def default_output(settings: Settings) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "db" if is_sqlite_url(settings.database) else "dump"
    return settings.data_dir / "backups" / f"tandem-{stamp}.{suffix}"


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def backup(settings: Settings, output: Path | None = None) -> Path:
    output = output or default_output(settings)
    output.parent.mkdir(parents=True, exist_ok=True)
    url = make_url(settings.database)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory database cannot be backed up")
        backup_sqlite(Path(url.database), output)
    elif url.get_backend_name() == "postgresql":
        backup_postgres(url, output)
    else:
        raise BackupError(f"no backup method for {url.get_backend_name()}")
    return output


def backup_sqlite(source: Path, output: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    partial = _partial(output)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        # One step (pages=-1): the whole copy is read in one read transaction, so it is one
        # snapshot; under WAL the writers carry on meanwhile.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        (result,) = dst.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupError(f"the copy failed its integrity check: {result}")
        dst.close()
        os.replace(partial, output)
    finally:
        src.close()
        dst.close()
        partial.unlink(missing_ok=True)


def pg_dump_command(url: URL, output: Path) -> tuple[list[str], dict[str, str]]:
    """The pg_dump call, and the environment that carries the password (never argv)."""
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={output}"]
    if url.host:
        command.append(f"--host={url.host}")
    if url.port:
        command.append(f"--port={url.port}")
    if url.username:
        command.append(f"--username={url.username}")
    command.append(f"--dbname={url.database}")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return command, env


def backup_postgres(url: URL, output: Path) -> None:
    command, env = pg_dump_command(url, output)
    if shutil.which("pg_dump") is None:
        shown = " ".join(command)
        raise BackupError(f"pg_dump is not installed here; run it where it is: {shown}")
    partial = _partial(output)
    command[3] = f"--file={partial}"
    try:
        done = subprocess.run(  # noqa: S603 (fixed program, arguments from settings)
            command, env=env, capture_output=True, text=True, check=False, timeout=3600
        )
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _partial(output: Path) -> Path:
    """A private temporary name next to the output: a backup holds personal data."""
    partial = output.with_name(f".{output.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    return partial
