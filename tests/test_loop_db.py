"""SQLite's hot paths run on the event loop on connections that never checkpoint at commit
(core/loop_db.py); the background checkpointer keeps the WAL bounded all the same."""

import sqlite3
from pathlib import Path

from tandem.core.loop_db import Checkpointer


def _writer(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # as the loop's connections
    connection.execute("CREATE TABLE IF NOT EXISTS t (x BLOB)")
    return connection


def test_a_wal_past_the_limit_is_emptied_and_a_small_one_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    writer = _writer(path)
    reader = sqlite3.connect(path, isolation_level=None)
    checkpointer = Checkpointer(str(path), limit=256 * 1024)
    wal = Path(str(path) + "-wal")
    writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    small = wal.stat().st_size
    checkpointer.checkpoint(reader)
    assert wal.stat().st_size == small  # PASSIVE: copied, not emptied
    for _ in range(200):  # ~800 KB of WAL: no checkpoint at commit
        writer.execute("INSERT INTO t VALUES (randomblob(4000))")
    assert wal.stat().st_size > 256 * 1024
    checkpointer.checkpoint(reader)
    assert wal.stat().st_size == 0
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (201,)
    writer.close()
    reader.close()


def test_the_checkpointer_thread_stops(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    _writer(path).close()
    checkpointer = Checkpointer(str(path), every=0.01)
    checkpointer.start()
    checkpointer.stop()
    assert not checkpointer.is_alive()
