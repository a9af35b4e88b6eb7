"""`aftersales export` / `aftersales purge` from the shell: an administrator exports a year, sees what a purge
would delete, is refused inside the retention period, and purges with --yes (archive first)."""
from __future__ import annotations

import json
import zipfile
from datetime import datetime

from click.testing import CliRunner

from engine.records import archive, archive_restore
from tests.conftest import BEIJING, PROCESSES
from tests.engine.test_records_archive import answer, consult, rows_of, table_totals
from webapp.cli import main


def run(database, *args: str, env: dict[str, str] | None = None):
    url = database.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, ["--database-url", url, *args], env=env)


def cases_of_2014_and_now(make_engine, staff, clock) -> tuple[int, int, int]:
    """A consultation answered in 2014, one left running since 2014, one answered in 2026 (the CLI runs
    on the wall clock, so the old cases are older than any retention period it allows)."""
    engine = make_engine()
    path = PROCESSES / "technical_consultation.bpmn"
    engine.deploy(path.read_bytes(), "process.owner", filename=path.name)
    clock.set(datetime(2014, 6, 3, 9, 0, tzinfo=BEIJING))
    old = consult(engine)
    answer(engine, old)
    running = consult(engine, "西北重工")
    clock.set(datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING))
    newer = consult(engine, "南方电子")
    answer(engine, newer)
    return old, running, newer


def test_export_a_year_to_a_zip(make_engine, staff, clock, database, tmp_path):
    old, running, _newer = cases_of_2014_and_now(make_engine, staff, clock)
    out = tmp_path / "records-2014.zip"
    result = run(database, "export", "--from", "2014-01-01", "--to", "2014-12-31", "--out", str(out), "--as", "li")
    assert result.exit_code == 0, result.output
    assert "2 cases started 2014-01-01..2014-12-31" in result.output
    assert f"SHA-256 {archive.file_sha256(out)}" in result.output
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("manifest.json"))["by"] == "li"
        ids = {json.loads(line)["id"] for line in zf.read("process_instances.jsonl").decode().splitlines()}
    assert ids == {old, running}

    again = run(database, "export", "--from", "2014-01-01", "--to", "2014-12-31", "--out", str(out))
    assert again.exit_code == 2 and "exists already" in again.output
    bad = run(database, "export", "--from", "2014-13-01", "--to", "2014-12-31", "--out", str(tmp_path / "b.zip"))
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output and not (tmp_path / "b.zip").exists()


def test_purge_reports_first_refuses_within_the_retention_period_and_deletes_with_yes(
        make_engine, staff, clock, database, tmp_path):
    old, running, newer = cases_of_2014_and_now(make_engine, staff, clock)
    old_rows = rows_of(database, [old])
    before = table_totals(database)
    path = tmp_path / "purged-2014.zip"

    refused = run(database, "purge", "--before", "2015-01-01", "--archive", str(path), "--yes",
                  env={"AFTERSALES_RETENTION_YEARS": "100"})
    assert refused.exit_code == 2
    assert "AFTERSALES_RETENTION_YEARS=100" in refused.output and "latest cut-off allowed" in refused.output
    assert table_totals(database) == before and not path.exists()

    dry = run(database, "purge", "--before", "2015-01-01", "--archive", str(path))
    assert dry.exit_code == 0 and "would delete 1 cases" in dry.output and "--yes" in dry.output
    assert table_totals(database) == before and not path.exists()

    done = run(database, "purge", "--before", "2015-01-01", "--archive", str(path), "--yes", "--as", "admin")
    assert done.exit_code == 0, done.output
    assert "deleted 1 cases" in done.output and archive.file_sha256(path) in done.output
    assert rows_of(database, [old]) == {} and rows_of(database, [running]) and rows_of(database, [newer])
    assert archive_restore.read_manifest(path)["tables"]["human_tasks"]["rows"] == old_rows["human_tasks"]

    nothing = run(database, "purge", "--before", "2015-01-01", "--archive", str(tmp_path / "again.zip"), "--yes")
    assert nothing.exit_code == 0 and "nothing to purge" in nothing.output
    assert not (tmp_path / "again.zip").exists()
