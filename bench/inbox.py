"""Benchmark: the inbox listing page with 100,000 open tasks and 1,000,000 audit events.

Fills a fresh database (SQLite file by default, or --database-url), then times, for one Quality user,
the whole listing page through the Flask app (query, count and rendering) and the inbox query alone:
the department view sorted by due time, "my tasks", the overdue filter, a customer search and a deep
page. Prints p50 / p95 per scenario; the target is p95 ≤ 50 ms for the page.

    .venv/bin/python bench/inbox.py [--tasks 100000] [--events 1000000] [--runs 200]
    .venv/bin/python bench/inbox.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from list_setup import analyze, empty_engine, percentiles, signed_in_client  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from engine.accounts.departments import SPEC_DEPARTMENTS  # noqa: E402
from engine.records.inbox import InboxQuery, list_inbox  # noqa: E402
from engine.storage.database import Database  # noqa: E402
from engine.storage.models import NO_LIMIT, AuditEvent, HumanTask, ProcessInstance  # noqa: E402

NOW = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
TASKS_PER_CASE = 4
CHUNK = 20_000
# Quality works the most tasks in P1; the rest are spread over the other departments.
WEIGHTS = {code: (30 if code == "quality" else 7) for code, _, _ in SPEC_DEPARTMENTS}


def fill(db: Database, tasks: int, events: int, version_id: int) -> None:
    rng = random.Random(7)
    cases = tasks // TASKS_PER_CASE
    departments = list(WEIGHTS)
    weights = list(WEIGHTS.values())
    quality_users = ["qa.wang", "qa.chen", None, None, None]
    with db.engine.begin() as connection:
        for start in range(0, cases, CHUNK):
            connection.execute(insert(ProcessInstance), [
                {"id": i + 1, "process_key": "quality_feedback", "version_id": version_id,
                 "business_key": f"QF-2026-{i + 1:06d}", "status": "running",
                 "started_at": NOW - timedelta(days=rng.randint(0, 60)), "started_by": "sales.li", "state": "{}",
                 "lock_version": 1, "next_due_at": NOW + timedelta(days=rng.randint(-5, 10))}
                for i in range(start, min(cases, start + CHUNK))])
        for start in range(0, tasks, CHUNK):
            rows = []
            for n in range(start, min(tasks, start + CHUNK)):
                created = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
                due = created + timedelta(days=rng.choice([1, 3, 7])) if rng.random() < 0.85 else None
                department = rng.choices(departments, weights)[0]
                rows.append({
                    "instance_id": n // TASKS_PER_CASE + 1, "task_uuid": f"00000000-0000-0000-0000-{n:012d}",
                    "element_id": "Task_imp_test", "name": "检测退回样品或厂内抽样产品（会同技术主管工程师）",
                    "process_key": "quality_feedback", "business_key": f"QF-2026-{n // TASKS_PER_CASE + 1:06d}",
                    "customer": f"客户{rng.randint(1, 3000):04d}有限公司", "category": rng.choice(["important", "general"]),
                    "department": department, "form": {"fields": []}, "data": {}, "state": "open",
                    "created_at": created, "due_at": due, "due_order": due or NO_LIMIT,
                    "warn_at": created + (due - created) * 0.8 if due else None, "limit_name": "重要信息：3天内回复",
                    "claimed_by": rng.choice(quality_users) if department == "quality" else None})
            connection.execute(insert(HumanTask), rows)
        kinds = ["task_ready", "task_completed", "task_claimed", "timer_fired", "instance_started"]
        for start in range(0, events, CHUNK * 2):
            connection.execute(insert(AuditEvent), [
                {"instance_id": rng.randint(1, cases), "at": NOW - timedelta(minutes=rng.randint(0, 86400)),
                 "kind": rng.choice(kinds), "actor": "qa.wang", "element_id": "Task_imp_test",
                 "detail": {"task_id": n, "task": "检测退回样品"}}
                for n in range(start, min(events, start + CHUNK * 2))])



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = empty_engine(args.database_url or f"sqlite:///{folder}/inbox-bench.db", NOW)
        db = engine.db
        version_id = engine.deploy((ROOT / "processes" / "quality_feedback.bpmn").read_bytes(), "bench").version_id
        began = time.perf_counter()
        fill(db, args.tasks, args.events, version_id)
        analyze(db)
        print(f"{db.engine.dialect.name}: filled {args.tasks:,} open tasks and {args.events:,} audit events "
              f"in {time.perf_counter() - began:.0f} s")

        client = signed_in_client(engine, "qa.wang")
        scenarios = {
            "department, by due": "/inbox?view=department",
            "my tasks": "/inbox?view=mine",
            "overdue filter": "/inbox?view=department&due=overdue",
            "customer search": "/inbox?view=department&q=客户0042",
            "page 200": "/inbox?view=department&page=200",
        }
        queries_only = {
            "department, by due": InboxQuery(("quality",), NOW),
            "my tasks": InboxQuery(("quality",), NOW, assignee="qa.wang"),
            "overdue filter": InboxQuery(("quality",), NOW, due_state="overdue"),
            "customer search": InboxQuery(("quality",), NOW, search="客户0042"),
            "page 200": InboxQuery(("quality",), NOW, page=200),
        }
        print(f"{'scenario':<22}{'rows':>8}{'page p50':>10}{'page p95':>10}{'query p50':>11}{'query p95':>11}  (ms)")
        for name, url in scenarios.items():
            for _ in range(5):
                assert client.get(url).status_code == 200
            page_times, query_times = [], []
            total = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                response = client.get(url)
                page_times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
                t0 = time.perf_counter()
                total = list_inbox(db, queries_only[name]).total
                query_times.append((time.perf_counter() - t0) * 1000)
            page50, page95 = percentiles(page_times)
            query50, query95 = percentiles(query_times)
            print(f"{name:<22}{total:>8,}{page50:>10.1f}{page95:>10.1f}{query50:>11.1f}{query95:>11.1f}")
        print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
        db.dispose()


if __name__ == "__main__":
    main()
