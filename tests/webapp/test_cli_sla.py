"""`aftersales sla`: a supervisor reads a case's limits and the month's attainment from the shell."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from engine import queries
from webapp.cli import main

DIAGRAM = Path(__file__).parents[1] / "engine" / "diagrams" / "sla_demo.bpmn"


def test_records_and_attainment_from_the_shell(make_engine, database, clock):
    engine = make_engine()
    engine.deploy(DIAGRAM.read_bytes(), "owner.xu")
    case = engine.start_instance("sla_demo", {"customer": "华东机电"}, "svc.huang")
    [solve] = queries.list_tasks(engine.db, instance_id=case)
    engine.claim_task(solve.id, "qa.wang")
    engine.complete_task(solve.id, "qa.wang", {"solution": "换件", "needs_customer_info": False})
    clock.advance(timedelta(hours=1, seconds=1))
    engine.fire_due_timers()  # the 1-hour closing limit is missed by nobody in particular

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
