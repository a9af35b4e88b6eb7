"""`aftersales sla`: a supervisor reads a case's limits and the month's attainment from the shell."""
from __future__ import annotations

from click.testing import CliRunner

from tests.webapp.conftest import sla_demo_with_a_met_and_a_missed_limit
from webapp.cli import main


def test_records_and_attainment_from_the_shell(make_engine, database, clock):
    engine = make_engine()
    case = sla_demo_with_a_met_and_a_missed_limit(engine, clock)

    url = database.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    records = runner.invoke(main, ["--database-url", url, "sla", "records", str(case)], catch_exceptions=False)
    assert records.exit_code == 0
    lines = records.output.splitlines()
    assert any(line.startswith("met") and "24小时内处理完毕" in line and "quality/qa.wang" in line for line in lines)
    assert any(line.startswith("breached") and "1小时内关闭" in line and "2026-11-16 10:00" in line for line in lines)

    report = runner.invoke(main, ["--database-url", url, "sla", "attainment", "--from", "2026-11-01",
                                  "--to", "2026-11-30", "--by", "person"], catch_exceptions=False)
    assert report.exit_code == 0 and "qa.wang" in report.output and "100.0%" in report.output
    empty = runner.invoke(main, ["--database-url", url, "sla", "attainment", "--from", "2026-12-01", "--to", "2026-12-31"])
    assert "no limit fell due" in empty.output
    bad = runner.invoke(main, ["--database-url", url, "sla", "attainment", "--from", "2026-12-31", "--to", "2026-12-01"])
    assert bad.exit_code == 2 and "before --from" in bad.output
