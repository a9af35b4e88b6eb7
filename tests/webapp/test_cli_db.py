"""`aftersales db` and the refusal of an unmigrated database, as an administrator sees them in a shell."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from engine.storage.database import BASELINE_REVISION, VERSION_TABLE, head_revision
from webapp.cli import main

NOT_MIGRATED = (f"error: The database is not migrated (revision none, this release needs {head_revision()}): "
                f"run `aftersales db upgrade`")


@pytest.fixture
def cli(database, tmp_path, monkeypatch):
    monkeypatch.setenv("AFTERSALES_OUTBOX_FILE", str(tmp_path / "outbox.jsonl"))
    url = database.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, ["--database-url", url, *args], input=input)
    return run


def test_the_worker_refuses_an_unmigrated_database_until_it_is_upgraded(cli, database):
    database.drop_schema()
    refused = cli("worker", "--once")
    assert refused.exit_code == 2
    assert refused.stderr.strip() == NOT_MIGRATED
    assert "Traceback" not in refused.output and refused.stdout == ""
    assert cli("tasks", "--help").exit_code == 0  # help is shown without a database

    current = cli("db", "current")
    assert current.exit_code == 0
    assert current.stdout.strip() == f"database revision none, this release needs {head_revision()}: " \
                                     f"run `aftersales db upgrade`"

    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0
    assert upgraded.stdout.strip() == f"database migrated from revision none to {head_revision()}"
    assert cli("db", "current").stdout.strip() == \
        f"database revision {head_revision()}, this release needs {head_revision()}: up to date"
    assert cli("db", "upgrade").stdout.strip() == f"database already at revision {head_revision()}"

    worked = cli("worker", "--once")
    assert worked.exit_code == 0 and worked.stdout.startswith("timers fired 0")


def test_db_upgrade_adopts_a_database_created_before_migrations(cli, database):
    database.drop_schema()
    database.upgrade(BASELINE_REVISION)
    with database.engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))

    result = cli("db", "upgrade")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"database created before migrations: adopted at revision {BASELINE_REVISION}",
        f"database migrated from revision none to {head_revision()}"]
    assert database.schema_revision() == head_revision()


def test_db_downgrade_asks_first_and_an_unknown_revision_is_a_clear_error(cli, database):
    kept = cli("db", "downgrade", "base", input="n\n")
    assert kept.exit_code == 1 and database.schema_revision() == head_revision()

    done = cli("db", "downgrade", "base", "--yes")
    assert done.exit_code == 0
    assert done.stdout.strip() == f"database downgraded from revision {head_revision()} to none"
    assert database.schema_revision() is None

    unknown = cli("db", "upgrade", "0999_nothing")
    assert unknown.exit_code == 2 and "0999_nothing" in unknown.stderr and "Traceback" not in unknown.output
    assert database.schema_revision() is None


def test_init_migrates_a_new_database_itself(cli, database):
    database.drop_schema()
    result = cli("init")
    assert result.exit_code == 0 and "quality_feedback v1 deployed" in result.stdout
    assert database.schema_revision() == head_revision()


def test_a_command_on_a_database_that_is_away_says_so_without_a_traceback(tmp_path):
    away = "postgresql+psycopg://aftersales:secret-pw@127.0.0.1:1/aftersales"  # nothing listens on port 1
    refused = CliRunner().invoke(main, ["--database-url", away, "worker", "--once"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert refused.stderr.startswith("error: the database postgresql+psycopg://aftersales:***@127.0.0.1:1/aftersales "
                                     "cannot be reached (")
    assert "nothing was done" in refused.stderr and "secret-pw" not in refused.output
