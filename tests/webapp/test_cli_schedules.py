"""`aftersales schedules`: an administrator sees when scheduled processes start next and runs one now."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.handler_api import HandlerRegistry
from engine.records import queries
from webapp.cli import main

DIAGRAM = Path(__file__).parents[1] / "engine" / "diagrams" / "monthly_report.bpmn"


def test_list_and_run_now_from_the_shell(make_engine, database):
    registry = HandlerRegistry()
    registry.handler("test.monthly_report")(lambda ctx: {})
    engine = make_engine(registry)
    url = database.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    empty = runner.invoke(main, ["--database-url", url, "schedules", "list"], catch_exceptions=False)
    assert "no process starts on a timer" in empty.output

    engine.deploy(DIAGRAM.read_bytes(), "owner.xu")
    listed = runner.invoke(main, ["--database-url", url, "schedules", "list"], catch_exceptions=False)
    assert listed.exit_code == 0
    assert "monthly_report" in listed.output and "next 2026-12-01 09:00" in listed.output

    ran = runner.invoke(main, ["--database-url", url, "schedules", "run", "monthly_report", "--as", "admin"],
                        catch_exceptions=False)
    assert ran.exit_code == 0 and "started case #" in ran.output
    [case] = queries.list_instances(database)
    assert case.process_key == "monthly_report"
    assert queries.audit_trail(database, case.id, "instance_started")[0].actor == "admin"
    unknown = runner.invoke(main, ["--database-url", url, "schedules", "run", "nothing"])
    assert unknown.exit_code == 2 and "has no schedule" in unknown.output
