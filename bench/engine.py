"""Benchmark: the P1 diagram run start → end by a scripted user.

(a) in memory with SpiffWorkflow alone, (b) through the engine with persistence (every step a committed
unit of work; a new SQLite file, or the PostgreSQL database of --database-url / DATABASE_URL, whose tables
are dropped and recreated), in the same run; prints both rates and their ratio (target ≥ 0.5).
Then the serialized size and load+save time of a fresh instance vs one after 50 rework loops
(target ≤ 2×).

    [DATABASE_URL=postgresql+psycopg://…] .venv/bin/python bench/engine.py [--cases 30] [--loops 50]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.accounts.departments import ensure_departments  # noqa: E402
from engine.clock import FrozenClock, using_clock  # noqa: E402
from engine.diagrams.catalog import parse_xml  # noqa: E402
from engine.diagrams.forms import FormDefinition  # noqa: E402
from engine.notifications.outbox import LogTransport  # noqa: E402
from engine.records import queries  # noqa: E402
from engine.runtime.workflow_engine import WorkflowEngine  # noqa: E402
from engine.spiff import ProcessRun, ServiceOutcome, compile_process  # noqa: E402
from engine.storage.database import Database  # noqa: E402
from engine.storage.models import ProcessInstance  # noqa: E402
from handlers import build_registry  # noqa: E402

DIAGRAM = ROOT / "processes" / "quality_feedback.bpmn"
START = {
    "customer": "华东机电", "product_name": "减速电机", "spec_model": "JZ-200", "batch_no": "B2611",
    "quantity_shipped": 1000, "quantity_nonconforming": 260, "characteristic": "key", "recurring": False,
    "consequence": "complaint", "problem_description": "轴承异响", "improvement_request": "",
}
CHOICES = {"category": "important", "technical_change_required": True, "tooling_required": True,
           "spot_check_result": "pass", "verification_result": "effective"}


def answer(form: dict, overrides: dict | None = None) -> dict:
    """What a diligent user types: every field filled validly, routes chosen by CHOICES."""
    values = {}
    for field in FormDefinition.from_dict(form).fields:
        if field.readonly:
            continue
        if field.id in (overrides or {}):
            values[field.id] = overrides[field.id]
        elif field.id in CHOICES:
            values[field.id] = CHOICES[field.id]
        elif field.type == "enum":
            values[field.id] = field.options[0][0]
        elif field.type in ("long", "double"):
            values[field.id] = int(float(field.constraints.get("min", 1)))
        elif field.type == "boolean":
            values[field.id] = False
        elif field.type == "date":
            values[field.id] = "2026-11-20"
        else:
            values[field.id] = f"{field.label}：已处理"
    return values


class InMemoryServices:
    """Handlers' data effects without a database, for SpiffWorkflow alone."""

    def run(self, call):
        return ServiceOutcome(data={"form_no": "QF-0", "suggested_category": "important", "category": "important"}
                              if call.topic == "feedback.classify" else {})

    def error_not_caught(self, call, code):
        raise RuntimeError(code)


def run_in_memory(compiled, catalog, calendar, loops: int = 0) -> ProcessRun:
    run = ProcessRun.start(compiled, dict(START), calendar, InMemoryServices())
    run.advance()
    rework = loops
    while not run.completed:
        ready = run.ready_human_tasks()
        task = ready[0]
        form = catalog["elements"][task.element_id].get("form") or {"fields": []}
        overrides = {}
        if task.element_id == "Task_verify" and rework > 0:
            overrides["verification_result"] = "not_effective"
            rework -= 1
        run.complete_human_task(task.task_id, answer(form, overrides))
    return run


def run_persisted(engine: WorkflowEngine, loops: int = 0, stop_before_end: bool = False) -> int:
    instance_id = engine.start_instance("quality_feedback", dict(START), "sales.bench")
    rework = loops
    while True:
        tasks = queries.list_tasks(engine.db, instance_id=instance_id)
        if not tasks:
            return instance_id
        task = tasks[0]
        overrides = {}
        if task.element_id == "Task_verify":
            if rework > 0:
                overrides["verification_result"] = "not_effective"
                rework -= 1
            elif stop_before_end:
                return instance_id
        engine.complete_task(task.id, "bench.user", answer(task.form, overrides))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--loops", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="PostgreSQL to measure instead of a new SQLite file (its tables are replaced)")
    args = parser.parse_args()
    clock = FrozenClock(datetime(2026, 11, 16, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.database_url or f"sqlite:///{tmp}/bench.db")
        build_registry()
        db.drop_schema()
        db.create_schema()
        with db.sessions.begin() as session:
            ensure_departments(session)
        engine = WorkflowEngine(db, build_registry(), clock=clock, transport=LogTransport())
        engine.deploy(DIAGRAM.read_bytes(), "bench")
        compiled = compile_process(parse_xml(DIAGRAM.read_bytes()), "quality_feedback")
        from engine.diagrams.catalog import build_catalog, executable_processes
        diagram = parse_xml(DIAGRAM.read_bytes())
        catalog = build_catalog(diagram, executable_processes(diagram)[0])

        with using_clock(clock):
            run_in_memory(compiled, catalog, engine.calendar)  # warm up
            t0 = time.perf_counter()
            for _ in range(args.cases):
                run_in_memory(compiled, catalog, engine.calendar)
            memory_rate = args.cases / (time.perf_counter() - t0)

        run_persisted(engine)  # warm up
        t0 = time.perf_counter()
        for _ in range(args.cases):
            run_persisted(engine)
        persisted_rate = args.cases / (time.perf_counter() - t0)

        print(f"P1 start→end, {args.cases} cases each")
        print(f"  (a) SpiffWorkflow in memory : {memory_rate:8.1f} cases/s")
        print(f"  (b) engine + {db.engine.dialect.name:<15}: {persisted_rate:8.1f} cases/s")
        print(f"  ratio b/a                   : {persisted_rate / memory_rate:8.3f}  (target ≥ 0.5)")

        fresh = run_persisted(engine, 0, stop_before_end=True)
        looped = run_persisted(engine, args.loops, stop_before_end=True)
        for label, instance_id in (("fresh", fresh), (f"after {args.loops} rework loops", looped)):
            with db.sessions() as session:
                instance = session.get(ProcessInstance, instance_id)
                state = instance.state
                compiled_version = engine.deployed(session, instance.version_id).compiled
            timings = []
            with using_clock(clock):
                for _ in range(20):
                    t0 = time.perf_counter()
                    run = ProcessRun.load(compiled_version, state, engine.calendar, InMemoryServices())
                    run.dump()
                    timings.append(time.perf_counter() - t0)
            print(f"  {label:<26}: {len(state) / 1024:8.1f} KB serialized, load+save "
                  f"{statistics.median(timings) * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
