"""A handler reads SLA attainment (e.g. a monthly report of limits met and missed) through its context."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from engine.handler_api import HandlerContext
from engine.records import queries
from engine.timing import attainment
from handlers import build_registry
from tests.conftest import BEIJING

DIAGRAMS = Path(__file__).parent / "diagrams"


def test_a_report_handler_reads_attainment_by_department_and_person(make_engine, clock, staff):
    seen: dict[str, list[dict]] = {}
    registry = build_registry()

    @registry.handler("test.monthly_report")
    def monthly_report(ctx: HandlerContext):
        november = (datetime(2026, 11, 1, tzinfo=BEIJING), datetime(2026, 12, 1, tzinfo=BEIJING))
        seen["department"] = ctx.sla_attainment(*november)
        seen["person"] = ctx.sla_attainment(*november, by="person", process_key="sla_demo")
        seen["other"] = ctx.sla_attainment(*november, process_key="monthly_report")
        return {"attainment": seen["department"]}

    engine = make_engine(registry)
    engine.deploy((DIAGRAMS / "sla_demo.bpmn").read_bytes(), "owner.xu")
    engine.deploy((DIAGRAMS / "monthly_report.bpmn").read_bytes(), "owner.xu")
    case = engine.start_instance("sla_demo", {"customer": "华东机电"}, "svc.huang")
    [solve] = queries.list_tasks(engine.db, instance_id=case)
    engine.claim_task(solve.id, "qa.wang")
    engine.complete_task(solve.id, "qa.wang", {"solution": "换件", "needs_customer_info": False})
    clock.advance(timedelta(hours=1, seconds=1))
    engine.fire_due_timers()  # the 1-hour closing limit is missed

    report = engine.start_scheduled_now("monthly_report", "admin")
    expected = attainment.sla_attainment(engine.db, datetime(2026, 11, 1, tzinfo=BEIJING),
                                      datetime(2026, 12, 1, tzinfo=BEIJING))
    assert [(r["who"], r["met"], r["breached"]) for r in seen["department"]] == [
        (r.who, r.met, r.breached) for r in expected]
    assert sum(r["breached"] for r in seen["department"]) == 1 and sum(r["met"] for r in seen["department"]) == 1
    assert seen["person"] == [{"who": "qa.wang", "met": 1, "breached": 0, "total": 1, "rate": 1.0}]
    assert seen["other"] == []
    # Plain rows: they go into the case data as they are.
    [task] = queries.list_tasks(engine.db, instance_id=report)
    assert task.data["attainment"] == seen["department"]
