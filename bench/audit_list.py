"""Benchmark: the auditors' instance list with 100,000 cases (300,000 task rows, ~150,000 SLA records).

Fills a fresh database (SQLite file by default; PostgreSQL when DATABASE_URL or --database-url is set) with
rows inserted directly through SQLAlchemy Core (cases of several deployed processes over 180 days, three
tasks each in random departments, 0-3 limits each, met, breached or running), then times the typical
filters: the query alone (`engine.records.case_search.search_cases`: count + page) and the whole page through the
Flask app as an auditor. Prints p50 / p95 per scenario; the target is p95 ≤ 100 ms for the page.

    .venv/bin/python bench/audit_list.py [--cases 100000] [--runs 50]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/audit_list.py
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from list_setup import analyze, empty_engine, percentiles, signed_in_client  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from engine.accounts.departments import SPEC_DEPARTMENTS  # noqa: E402
from engine.records.case_search import CaseQuery, search_cases  # noqa: E402
from engine.storage.database import Database  # noqa: E402
from engine.storage.models import NO_LIMIT, HumanTask, ProcessInstance, SlaRecord  # noqa: E402

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
PROCESSES = ("quality_feedback", "after_sales_case", "service_response", "repair", "installation")
TASKS_PER_CASE = 3
CHUNK = 20_000


def fill(db: Database, cases: int, versions: dict[str, int]) -> tuple[int, int]:
    rng = random.Random(11)
    departments = [code for code, _, _ in SPEC_DEPARTMENTS]
    keys = list(versions)
    task_count = sla_count = 0
    with db.engine.begin() as connection:
        for start in range(0, cases, CHUNK):
            instances, tasks, limits = [], [], []
            for i in range(start, min(cases, start + CHUNK)):
                instance_id = i + 1
                key = rng.choice(keys)
                started = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 180))
                status = rng.choices(("running", "completed", "cancelled"), (30, 65, 5))[0]
                number = f"{key[:2].upper()}-2026-{instance_id:06d}"
                customer = f"客户{rng.randint(1, 5000):04d}有限公司"
                instances.append({
                    "id": instance_id, "process_key": key, "version_id": versions[key], "business_key": number,
                    "status": status, "started_at": started, "started_by": "sales.li", "state": "{}",
                    "lock_version": 1, "ended_at": started + timedelta(days=3) if status != "running" else None,
                    "next_due_at": None})
                for n in range(TASKS_PER_CASE):
                    created = started + timedelta(hours=n * 5)
                    done = status != "running" or n < TASKS_PER_CASE - 1
                    tasks.append({
                        "instance_id": instance_id, "task_uuid": f"{instance_id:08d}-0000-0000-0000-{n:012d}",
                        "element_id": f"Task_{n}", "name": "处理", "process_key": key, "business_key": number,
                        "customer": customer, "category": None, "department": rng.choice(departments),
                        "form": {"fields": []}, "data": {}, "state": "completed" if done else "open",
                        "created_at": created, "due_at": None, "due_order": NO_LIMIT, "warn_at": None,
                        "limit_name": None, "completed_at": created + timedelta(hours=2) if done else None})
                for n in range(rng.choice((0, 1, 2, 3))):
                    state = rng.choices(("met", "breached", "running"), (80, 15, 5))[0]
                    limits.append({
                        "instance_id": instance_id, "process_key": key, "business_key": number, "kind": "limit",
                        "element_id": f"Timer_{n}", "name": "2小时内给出初步方案", "timer_task_uuid": f"t{instance_id}-{n}",
                        "department": rng.choice(departments), "person": None, "holders": [], "status": state,
                        "started_at": started, "due_at": started + timedelta(hours=2), "paused_seconds": 0})
            connection.execute(insert(ProcessInstance), instances)
            connection.execute(insert(HumanTask), tasks)
            if limits:
                connection.execute(insert(SlaRecord), limits)
            task_count += len(tasks)
            sla_count += len(limits)
    return task_count, sla_count


SCENARIOS: dict[str, tuple[str, CaseQuery]] = {
    "all, newest first": ("", CaseQuery()),
    "process": ("process=repair", CaseQuery(process_key="repair")),
    "process + version": ("process=repair&version=1", CaseQuery(process_key="repair", version=1)),
    "status running": ("status=running", CaseQuery(status="running")),
    "department": ("department=quality", CaseQuery(department="quality")),
    "date range (1 month)": ("start=2026-10-01&end=2026-10-31",
                             CaseQuery(started_from=date(2026, 10, 1), started_to=date(2026, 10, 31))),
    "SLA breached": ("sla=breached", CaseQuery(sla="breached")),
    "SLA met": ("sla=met", CaseQuery(sla="met")),
    "customer search": ("q=客户0042", CaseQuery(search="客户0042")),
    "number search": ("q=RE-2026-00421", CaseQuery(search="RE-2026-00421")),
    "combined": ("process=after_sales_case&status=completed&department=quality&sla=breached"
                 "&start=2026-09-01&end=2026-11-16",
                 CaseQuery(process_key="after_sales_case", status="completed", department="quality",
                           sla="breached", started_from=date(2026, 9, 1), started_to=date(2026, 11, 16))),
    "page 2000": ("page=2000", CaseQuery(page=2000)),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = empty_engine(args.database_url or f"sqlite:///{folder}/audit-bench.db", NOW)
        db = engine.db
        versions = {key: engine.deploy((ROOT / "processes" / f"{key}.bpmn").read_bytes(), "bench").version_id
                    for key in PROCESSES}
        began = time.perf_counter()
        tasks, limits = fill(db, args.cases, versions)
        analyze(db)
        print(f"{db.engine.dialect.name}: filled {args.cases:,} cases, {tasks:,} task rows, {limits:,} SLA records "
              f"in {time.perf_counter() - began:.0f} s")

        client = signed_in_client(engine, "audit.ma")
        print(f"{'scenario':<22}{'rows':>8}{'page p50':>10}{'page p95':>10}{'query p50':>11}{'query p95':>11}  (ms)")
        for name, (params, query) in SCENARIOS.items():
            url = f"/audit/instances?{params}"
            for _ in range(3):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            page_times, query_times = [], []
            total = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                response = client.get(url)
                page_times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
                t0 = time.perf_counter()
                total = search_cases(db, query).total
                query_times.append((time.perf_counter() - t0) * 1000)
            page50, page95 = percentiles(page_times)
            query50, query95 = percentiles(query_times)
            print(f"{name:<22}{total:>8,}{page50:>10.1f}{page95:>10.1f}{query50:>11.1f}{query95:>11.1f}")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        db.dispose()


if __name__ == "__main__":
    main()
