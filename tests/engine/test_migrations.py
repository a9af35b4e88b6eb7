"""Alembic migrations on the test database (SQLite, or PostgreSQL when DATABASE_URL is set): the
migrated schema is exactly the models', migrations go down and up again keeping data, a database made
before migrations is adopted, and an unmigrated database is refused with a clear message."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from engine.storage.database import (
    BASELINE_REVISION,
    VERSION_TABLE,
    Base,
    SchemaNotAdoptable,
    SchemaNotCurrent,
    baseline_tables,
    head_revision,
)
from engine.storage.models import ProcessInstance

STARTED = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def differences(database) -> list:
    """What autogenerate would write to make the database match the models (handler tables included)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": True})
        return compare_metadata(context, Base.metadata)


def tables(database) -> set[str]:
    return set(inspect(database.engine).get_table_names()) - {VERSION_TABLE}


def insert_case_at_baseline(database) -> None:
    """A deployed process and one case, written with the baseline's columns only (as the release before
    migrations stored them)."""
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO process_versions (id, process_key, version, name, content_hash, bpmn, catalog, "
            "deployed_at, deployed_by) VALUES (1, 'quality_feedback', 1, 'Quality feedback', 'abc', :bpmn, "
            "'{}', :at, 'owner')"), {"bpmn": b"<definitions/>", "at": STARTED.replace(tzinfo=None)})
        connection.execute(text(
            "INSERT INTO process_instances (id, process_key, version_id, business_key, status, started_at, "
            "started_by, state, lock_version) VALUES (7, 'quality_feedback', 1, 'QF-2026-0007', 'running', "
            ":at, 'sales.li', '{}', 1)"), {"at": STARTED.replace(tzinfo=None)})
        connection.execute(text(
            "INSERT INTO users (username, display_name, password_hash, roles, active, created_at) "
            "VALUES ('qa.wang', '王工', 'hash', '[]', :active, :at)"), {"active": True, "at": STARTED.replace(tzinfo=None)})


def assert_case_kept(database) -> None:
    with database.sessions() as session:
        case = session.get(ProcessInstance, 7)
        assert (case.business_key, case.status, case.started_at) == ("QF-2026-0007", "running", STARTED)
        from engine.storage.models import User
        assert session.scalar(select(User.display_name).where(User.username == "qa.wang")) == "王工"


@pytest.mark.parametrize("build", ["upgrade", "create_schema"])
def test_the_schema_of_a_new_database_is_exactly_the_models(database, build):
    """Migrating an empty database, and creating one (create_all + stamp), give the models' schema: a
    model changed without a migration makes this fail."""
    database.drop_schema()
    getattr(database, build)()
    assert database.schema_revision() == head_revision()
    assert differences(database) == []
    database.ensure_schema_current()


def test_downgrade_to_base_drops_every_table_and_upgrade_builds_them_again(database):
    database.drop_schema()
    database.upgrade()
    done = database.downgrade("base")
    assert (done.before, done.after) == (head_revision(), None)
    assert tables(database) == set()
    assert database.schema_revision() is None

    database.upgrade()
    assert database.schema_revision() == head_revision()
    assert differences(database) == []


def test_data_written_at_the_baseline_survives_the_upgrade(database):
    database.drop_schema()
    database.upgrade(BASELINE_REVISION)
    assert database.schema_revision() == BASELINE_REVISION
    insert_case_at_baseline(database)

    database.upgrade()
    assert database.schema_revision() == head_revision()
    assert_case_kept(database)


def test_a_database_created_before_migrations_is_adopted_and_upgraded(database):
    # What the release before migrations left: the baseline's tables with data, no migration history.
    database.drop_schema()
    database.upgrade(BASELINE_REVISION)
    insert_case_at_baseline(database)
    with database.engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    assert database.schema_revision() is None

    done = database.upgrade()
    assert (done.before, done.after, done.adopted) == (None, head_revision(), True)
    assert differences(database) == []
    assert_case_kept(database)


def test_tables_that_are_not_the_baselines_are_not_adopted_and_nothing_changes(database):
    database.drop_schema()
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (username VARCHAR(80) PRIMARY KEY)"))
    with pytest.raises(SchemaNotAdoptable, match="missing baseline tables .*departments"):
        database.upgrade()
    assert tables(database) == {"users"}
    assert database.schema_revision() is None
    assert "departments" in baseline_tables()


def test_an_unmigrated_database_is_refused_with_what_to_run(database):
    database.drop_schema()
    with pytest.raises(SchemaNotCurrent) as refused:
        database.ensure_schema_current()
    assert str(refused.value) == (f"The database is not migrated (revision none, this release needs "
                                  f"{head_revision()}): run `aftersales db upgrade`")


def test_a_database_migrated_by_a_newer_release_is_refused(database):
    with database.engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_from_the_future'"))
    with pytest.raises(SchemaNotCurrent, match="at revision 9999_from_the_future, which this release does not know"):
        database.ensure_schema_current()
    with pytest.raises(SchemaNotCurrent, match="a newer release migrated it"):
        database.upgrade()
    assert database.schema_revision() == "9999_from_the_future"


def test_create_app_refuses_an_unmigrated_database(database, monkeypatch):
    """gunicorn's `webapp:create_app()` builds its engine from the environment and stops at once."""
    from webapp import create_app

    monkeypatch.setenv("DATABASE_URL", database.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", "test-secret-" + "x" * 32)
    database.drop_schema()
    with pytest.raises(SchemaNotCurrent, match=r"run `aftersales db upgrade`"):
        create_app()

    database.upgrade()
    app = create_app()
    app.extensions["aftersales.engine"].db.dispose()
