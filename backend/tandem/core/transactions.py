"""A transaction a fast path writes in: a plain connection's (a route that pays for no ORM
session), or the caller's ORM session's (a script, the demo's seeding). Writes that go through
a session (an outbox row, an audit line) join the connection's transaction."""

from sqlalchemy.engine import Connection
from sqlmodel import Session


class ConnectionTx:
    """The transaction a log is written in: a plain connection's (the route: no ORM session
    to pay for), or the caller's ORM session's (the demo's seeding)."""

    def __init__(self, connection: Connection, caller: Session | None = None) -> None:
        self.connection = connection
        self.caller = caller
        self.joined: Session | None = None

    def session(self) -> Session:
        """For what writes through a session (reminders/notices.py): the caller's, or one
        joined to this connection's transaction (it commits nothing itself)."""
        if self.caller is not None:
            return self.caller
        if self.joined is None:
            self.joined = Session(bind=self.connection)
        return self.joined

    def commit(self) -> None:
        if self.caller is not None:
            self.caller.commit()
            return
        if self.joined is not None:
            self.joined.flush()
        self.connection.commit()
        self._close_joined()

    def rollback(self) -> None:
        if self.caller is not None:
            self.caller.rollback()
            return
        self.connection.rollback()
        self._close_joined()

    def _close_joined(self) -> None:
        if self.joined is not None:
            self.joined.close()
            self.joined = None
