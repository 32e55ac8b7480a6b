"""SQLite's hot paths run on the event loop on connections that never checkpoint at commit
(core/loop_db.py); the background checkpointer keeps the WAL bounded all the same."""

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

from tandem.core.loop_db import Checkpointer


def _writer(path: Path, limit: int | None = None) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # as the loop's connections
    if limit is not None:
        connection.execute(f"PRAGMA journal_size_limit={limit}")  # as core/db.py's
    connection.execute("CREATE TABLE IF NOT EXISTS t (x BLOB)")
    return connection


def _frames(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_a_wal_past_the_limit_starts_over_and_a_small_one_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    limit = 256 * 1024
    writer = _writer(path, limit)
    reader = sqlite3.connect(path, isolation_level=None)
    checkpointer = Checkpointer(str(path), limit=limit)
    wal = Path(str(path) + "-wal")
    writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    small = wal.stat().st_size
    checkpointer.checkpoint(reader)
    writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    assert wal.stat().st_size > small  # PASSIVE: copied, and the WAL goes on growing

    # Under load a reader is always in the middle of the WAL (one began before the last
    # commits): a PASSIVE checkpoint copies what is older than it, and the WAL never starts over
    # by itself. Past the limit the checkpoint waits for that reader (RESTART), then the next
    # writer starts the WAL over from its beginning.
    for _ in range(100):
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    held = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    held.execute("BEGIN")
    held.execute("SELECT count(*) FROM t").fetchone()
    for _ in range(100):  # ~800 KB of WAL in all: no checkpoint at commit
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    assert wal.stat().st_size > 3 * limit
    threading.Timer(0.2, lambda: held.execute("COMMIT")).start()  # the reader finishes
    started = time.monotonic()
    checkpointer.checkpoint(reader)
    assert time.monotonic() - started >= 0.15  # RESTART waited for it
    writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    assert _frames(reader) <= 3  # the WAL started over from its beginning...
    assert wal.stat().st_size <= limit  # ...and its file was cut back
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (203,)
    for connection in (writer, reader, held):
        connection.close()


def test_the_checkpointer_thread_stops(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    _writer(path).close()
    checkpointer = Checkpointer(str(path), every=0.01)
    checkpointer.start()
    checkpointer.stop()
    assert not checkpointer.is_alive()


def _file_engine(path: Path):  # noqa: ANN202
    from tandem.core.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return engine


def test_a_thread_keeps_its_connections_and_leaves_nothing_open_between_requests(
    tmp_path: Path,
) -> None:
    import asyncio

    from sqlalchemy import text

    from tandem.core import loop_db

    engine = _file_engine(tmp_path / "kept.db")
    seen = []

    def write(connection, fail: bool) -> None:  # noqa: ANN001
        seen.append(connection)
        connection.execute(text("INSERT INTO t VALUES (1)"))
        if fail:
            raise ValueError("refused after writing")
        connection.commit()

    async def requests() -> None:
        await loop_db.run_write(engine, write, fail=False)
        with contextlib.suppress(ValueError):
            await loop_db.run_write(engine, write, fail=True)
        await loop_db.run_write(engine, write, fail=False)

    asyncio.run(requests())
    assert seen[0] is seen[1] is seen[2]  # one connection kept by the thread
    assert not seen[0].in_transaction()  # the refused request's write was rolled back
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
    loop_db.dispose(engine)
    assert seen[0].closed


def test_a_thread_that_ends_closes_the_connections_it_kept(tmp_path: Path) -> None:
    import asyncio
    import gc
    import threading

    from tandem.core import loop_db

    engine = _file_engine(tmp_path / "ended.db")
    seen = []

    def read(connection) -> int:  # noqa: ANN001
        seen.append(connection)
        return int(connection.exec_driver_sql("SELECT count(*) FROM t").scalar())

    def a_test_client_thread() -> None:
        assert asyncio.run(loop_db.run_read(engine, read)) == 0

    thread = threading.Thread(target=a_test_client_thread)
    thread.start()
    thread.join()
    gc.collect()
    assert seen and seen[0].closed
    loop_db.dispose(engine)


def test_a_write_lock_held_elsewhere_sends_the_write_to_a_thread_that_waits(
    tmp_path: Path,
) -> None:
    import asyncio
    import threading
    import time

    from sqlalchemy import text

    from tandem.core import loop_db

    path = tmp_path / "locked.db"
    engine = _file_engine(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's writer, say
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()

    def write(connection) -> None:  # noqa: ANN001
        connection.execute(text("INSERT INTO t VALUES (1)"))
        connection.commit()

    started = time.monotonic()
    asyncio.run(loop_db.run_write(engine, write))  # BEGIN IMMEDIATE on the loop is refused
    assert time.monotonic() - started >= 0.25  # then waited for the lock, in a thread
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    other.close()
    loop_db.dispose(engine)
