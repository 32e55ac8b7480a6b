"""The audit trail survives whoever it is about: no foreign key a deletion could cascade through,
and on PostgreSQL the table is append-only for the application (a trigger, plus the grants an
operator gives the application role, which the test creates and connects as)."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from tandem.core.audit import AuditEvent
from tandem.main import create_app
from tests.conftest import make_settings
from tests.factories import create_couple, invite, register

# What docs/SECURITY.md tells operators to run for the application role (`{role}` there is
# `tandem_app`; each test run makes its own role, since roles are shared by the whole cluster).
GRANTS = """
GRANT CONNECT ON DATABASE "{database}" TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {role};
GRANT SELECT, INSERT ON audit_event TO {role};
"""


def _events_about(engine: Engine, user_id: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.exec(select(AuditEvent).where(AuditEvent.subject_user_id == uuid.UUID(user_id)))
        )


class TestNoCascade:
    def test_the_audit_table_has_no_foreign_keys(self, engine: Engine) -> None:
        assert inspect(engine).get_foreign_keys("audit_event") == []

    def test_deleting_an_account_keeps_its_audit_rows(self, app: FastAPI, engine: Engine) -> None:
        therapist = register(app, role="therapist")
        couple_id = create_couple(therapist)
        partner = register(app, invitation_code=invite(therapist, couple_id))
        before = {e.id for e in _events_about(engine, partner.id)}
        assert before, "joining a couple is audited"
        assert partner.delete_account().status_code == 204
        after = _events_about(engine, partner.id)
        assert before <= {e.id for e in after}
        assert "account.deleted" in {e.action for e in after}
        # The trail names ids and actions, never what was deleted.
        assert all(partner.email not in (e.detail or "") for e in after)


@pytest.fixture()
def app_role(engine: Engine) -> Iterator[str]:
    if engine.dialect.name != "postgresql":
        pytest.skip("append-only grants and triggers are PostgreSQL's")
    role = f"tandem_app_{uuid.uuid4().hex[:8]}"
    database = make_url(str(engine.url)).database
    with engine.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB"))
        for statement in GRANTS.format(role=role, database=database).strip().splitlines():
            connection.execute(text(statement))
        connection.commit()
    yield role
    with engine.connect() as connection:
        connection.execute(text(f"DROP OWNED BY {role}"))
        connection.execute(text(f"DROP ROLE {role}"))
        connection.commit()


def _as(engine: Engine, role: str) -> Engine:
    url = make_url(str(engine.url)).set(username=role, password=None)
    return create_engine(url)


def _refused(engine: Engine, sql: str) -> str:
    with engine.connect() as connection, pytest.raises(DBAPIError) as caught:
        connection.execute(text(sql))
    return str(caught.value.orig)


@pytest.mark.postgres_only
class TestAppendOnlyOnPostgres:
    def test_even_the_owner_cannot_update_delete_or_truncate(
        self, app: FastAPI, engine: Engine
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        register(app)  # at least one row
        for sql in (
            "UPDATE audit_event SET action = 'rewritten'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ):
            assert "append-only" in _refused(engine, sql)

    def test_the_application_role_inserts_and_reads_but_cannot_rewrite(
        self, app: FastAPI, engine: Engine, app_role: str
    ) -> None:
        as_app = _as(engine, app_role)
        try:
            with as_app.connect() as connection:
                assert connection.execute(text("SELECT current_user")).scalar() == app_role
                assert not connection.execute(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                ).scalar()
                connection.execute(
                    text(
                        "INSERT INTO audit_event (id, at, action) "
                        "VALUES (:id, now(), 'test.inserted')"
                    ),
                    {"id": uuid.uuid4()},
                )
                connection.commit()
                count = connection.execute(text("SELECT count(*) FROM audit_event")).scalar()
                assert count and count > 0
            for sql in (
                "UPDATE audit_event SET action = 'rewritten'",
                "DELETE FROM audit_event",
                "TRUNCATE audit_event",
            ):
                assert "permission denied" in _refused(as_app, sql)
            # The trigger stands behind the grants: give the role UPDATE back by mistake...
            with engine.connect() as connection:
                connection.execute(text(f"GRANT UPDATE, DELETE ON audit_event TO {app_role}"))
                connection.commit()
            for sql in ("UPDATE audit_event SET action = 'rewritten'", "DELETE FROM audit_event"):
                assert "append-only" in _refused(as_app, sql)
        finally:
            as_app.dispose()

    def test_the_whole_app_runs_as_the_application_role(
        self, app: FastAPI, engine: Engine, app_role: str, tmp_path
    ) -> None:
        url = make_url(str(engine.url)).set(username=app_role, password=None)
        settings = make_settings(tmp_path, url.render_as_string(hide_password=False))
        as_app = create_app(settings)
        try:
            therapist = register(as_app, role="therapist")
            couple_id = create_couple(therapist)
            partner = register(as_app, invitation_code=invite(therapist, couple_id))
            assert partner.post(f"/api/couples/{couple_id}/leave").status_code == 204
            assert partner.delete_account().status_code == 204
            with Session(as_app.state.engine) as session:
                actions = set(
                    session.exec(
                        select(AuditEvent.action).where(
                            col(AuditEvent.subject_user_id) == uuid.UUID(partner.id)
                        )
                    )
                )
            assert {"membership.joined", "membership.left", "account.deleted"} <= actions
        finally:
            as_app.state.engine.dispose()
