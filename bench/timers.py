"""Benchmark: timers on PostgreSQL (or SQLite with one worker). 100,000 waiting instances of which 10,000 are due; timers fired per
second with 1 and with 3 worker processes, then the delay from due time to firing (p50 / p99) while
timers come due at a steady rate below that throughput. Targets: >= 500 timers/s, p99 <= 1 s.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_wrk .venv/bin/python bench/timers.py \
        [--instances 100000] [--due 10000] [--workers 1,3] [--latency-seconds 30] [--rate 0] [--profile]
    DATABASE_URL=sqlite:////tmp/timers.db .venv/bin/python bench/timers.py --workers 1

Method. One case of tests/engine/diagrams/timer_wait.bpmn (a task with a one-hour interrupting limit)
is started through the engine; the other instances are bulk-inserted copies of it: its saved workflow,
task row and SLA record, with fresh task UUIDs and every time shifted so that the copy looks started
one hour before its own due time (the state is the engine's own, so firing a copy runs the full path:
load, fire, follow-up task, SLA breach, notification). The fill is redone before each worker count.
- Throughput: worker processes with a frozen clock one second after the 10,000th due time; from "go"
  until each has found nothing due; fired/s = 10,000 / wall time. Afterwards every due copy must have
  exactly one timer_fired event and its follow-up task, and no other copy may have fired.
- Latency: then R copies per second come due over --latency-seconds (R = --rate, or half the
  throughput just measured); the workers run the production loop (engine/services/timer_worker.py, poll 1 s) on a
  clock that moves with real time (business time = chosen start + elapsed real time). Delay = commit
  time of the firing transaction - due time, by the workers' clock.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from engine.accounts.departments import ensure_departments  # noqa: E402
from engine.accounts.directory import Directory  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.notifications.outbox import LogTransport  # noqa: E402
from engine.runtime.workflow_engine import WorkflowEngine  # noqa: E402
from engine.services.timer_worker import run_worker  # noqa: E402
from engine.storage.base import Base  # noqa: E402
from engine.storage.database import Database  # noqa: E402
from engine.storage.models import AuditEvent, HumanTask, ProcessInstance  # noqa: E402
from handlers import build_registry  # noqa: E402

DIAGRAM = ROOT / "tests" / "engine" / "diagrams" / "timer_wait.bpmn"
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing: the template case starts here
FIRE_AT = T0 + timedelta(days=1)  # the throughput run's frozen "now"
LATENCY_AT = FIRE_AT + timedelta(hours=1)  # business time when the latency run starts
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Rows the engine reads when it fires (the path taken and the last case data included); audit history is not copied.
CLONED = ("human_tasks", "sla_records", "element_passes", "case_snapshots")
CHUNK = 5000
WORKER_LOG = Path("/tmp/bench_timers_workers.log")  # the workers' stderr (errors, failed deliveries)


class RealTimeClock:
    """Business time that moves with the real clock from a chosen starting moment."""

    def __init__(self, start: datetime, real_start: float) -> None:
        self.start, self.real_start = start, real_start

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.time() - self.real_start)


# -- filling ----------------------------------------------------------------------------------------
def prepare(url: str) -> tuple[Database, int]:
    """A fresh schema with the diagram deployed and one real case started at T0; returns its id."""
    db = Database(url)
    build_registry()
    db.drop_schema()
    db.create_schema()
    with db.sessions.begin() as session:
        ensure_departments(session)
    directory = Directory(db, FrozenClock(T0))  # breach notices go to the department and its head
    directory.add_user("qa.wang", "王质检", "-", {"quality": "member"}, email="qa.wang@example.com")
    directory.add_user("qa.head", "质量部长", "-", {"quality": "head"}, email="qa.head@example.com")
    engine = WorkflowEngine(db, build_registry(), clock=FrozenClock(T0), transport=LogTransport())
    engine.deploy(DIAGRAM.read_bytes(), "bench")
    return db, engine.start_instance("timer_wait", {}, "bench")


def clone(db: Database, template_id: int, dues: list[datetime]) -> list[int]:
    """Insert one copy of the template case per due time; returns the new instance ids."""
    tables = {name: Base.metadata.tables[name] for name in CLONED}
    with db.engine.begin() as conn:
        instance = dict(conn.execute(select(ProcessInstance.__table__)
                                     .where(ProcessInstance.id == template_id)).mappings().one())
        rows = {name: [dict(r) for r in conn.execute(select(t).where(t.c.instance_id == template_id)).mappings()]
                for name, t in tables.items()}
        for name, table in Base.metadata.tables.items():  # a new kind of row would make the copies invalid
            if name not in (*CLONED, "audit_events") and "instance_id" in table.c:
                assert not conn.scalar(select(func.count()).select_from(table)
                                       .where(table.c.instance_id == template_id)), f"template has {name} rows"
        first = conn.scalar(select(func.max(ProcessInstance.id))) + 1
    template_due = instance["next_due_at"]
    uuids = set(UUID_RE.findall(instance["state"]))
    ids: list[int] = []
    for start in range(0, len(dues), CHUNK):
        batch: dict[str, list[dict]] = {"process_instances": [], **{name: [] for name in CLONED}}
        for offset, due in enumerate(dues[start:start + CHUNK]):
            new_id = first + start + offset
            delta = due - template_due
            mapping = {old: str(uuid.uuid4()) for old in uuids}

            def swap(value: str, m: dict[str, str] = mapping) -> str:
                return UUID_RE.sub(lambda hit: m.get(hit.group(0), hit.group(0)), value)
            state = swap(instance["state"]).replace(json.dumps(template_due.isoformat()),
                                                    json.dumps(due.isoformat()))
            batch["process_instances"].append(_shifted(instance, delta, swap) | {"id": new_id, "state": state})
            for name in CLONED:
                for row in rows[name]:
                    copy = _shifted(row, delta, swap) | {"instance_id": new_id}
                    copy.pop("id", None)  # element_passes are keyed by case and element
                    batch[name].append(copy)
            ids.append(new_id)
        with db.engine.begin() as conn:
            for name, values in batch.items():
                if values:
                    conn.execute(insert(Base.metadata.tables[name]), values)
    with db.engine.begin() as conn:
        if db.is_postgresql:  # SQLite continues after the largest id by itself
            conn.execute(text("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), "
                              "(SELECT max(id) FROM process_instances))"))
        conn.execute(text("ANALYZE"))
    return ids


def _shifted(row: dict, delta: timedelta, swap) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime) and value.year < 9000:
            value = value + delta
        elif isinstance(value, str):
            value = swap(value)
        elif isinstance(value, dict | list):
            value = json.loads(swap(json.dumps(value)))
        out[key] = value
    return out


def fill(url: str, instances: int, due: int) -> tuple[Database, list[int], list[int]]:
    """`instances` waiting cases (the template among them): `due` of them due before FIRE_AT, spread
    over the hour before it, the rest due a day or more later. Returns (db, due ids, other ids)."""
    db, template = prepare(url)  # the template is due long before FIRE_AT: one of the due ones
    step = timedelta(hours=1) / due
    dues = [FIRE_AT - timedelta(hours=1) + step * i for i in range(1, due)]
    later = [FIRE_AT + timedelta(days=1, seconds=i) for i in range(instances - due)]
    due_ids = [template, *clone(db, template, dues)]
    return db, due_ids, clone(db, template, later)


# -- worker processes -------------------------------------------------------------------------------
def worker_main(args: argparse.Namespace) -> None:
    """One worker process: wait for "go", run the worker loop, print what it did as JSON."""
    db = Database(args.database_url)
    clock = FrozenClock(datetime.fromisoformat(args.now)) if args.now else RealTimeClock(LATENCY_AT, time.time())
    engine = WorkflowEngine(db, build_registry(), clock=clock, transport=LogTransport())
    committed: dict[int, str] = {}
    pending: list[int] = []
    event.listen(ProcessInstance, "after_update", lambda _m, _c, target: pending.append(target.id))
    event.listen(Session, "after_rollback", lambda _s: pending.clear())

    @event.listens_for(Session, "after_commit")
    def _committed(_session) -> None:
        moment = clock.now().isoformat()
        committed.update({i: moment for i in pending})
        pending.clear()
    print("ready", flush=True)
    words = sys.stdin.readline().split()
    stop = threading.Event()
    if args.seconds:
        clock.real_start = float(words[1])  # business LATENCY_AT is the parent's real "go" moment
        threading.Timer(args.seconds, stop.set).start()
    cpu = time.process_time()
    fired = run_worker(engine, poll_seconds=args.poll, stop=stop, until_idle=not args.seconds)
    print(json.dumps({"fired": fired, "cpu": time.process_time() - cpu, "committed": committed}), flush=True)


def run_workers(url: str, count: int, *extra: str) -> tuple[float, list[dict]]:
    """Start `count` worker processes, let them go together; wall seconds from go to the last one done."""
    log = WORKER_LOG.open("a")
    workers = [subprocess.Popen([sys.executable, __file__, "--worker", "--database-url", url, *extra],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
               for _ in range(count)]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    go = f"go {time.time()}\n"
    for worker in workers:
        worker.stdin.write(go)
        worker.stdin.flush()
    reports = [json.loads(worker.communicate()[0].strip().splitlines()[-1]) for worker in workers]
    return time.perf_counter() - t0, reports


# -- checks and figures -----------------------------------------------------------------------------
def check_fired_once(db: Database, due_ids: list[int], other_ids: list[int]) -> None:
    """Every due copy fired exactly once and moved on to its follow-up task; no other copy fired."""
    due_set = set(due_ids)
    with db.sessions() as session:
        fired = dict(session.execute(select(AuditEvent.instance_id, func.count())
                                     .where(AuditEvent.kind == "timer_fired").group_by(AuditEvent.instance_id)).all())
        follow_ups = set(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.element_id == "Task_follow_up", HumanTask.state == "open")))
    assert {i for i in fired if i in due_set} == due_set, "a due timer did not fire"
    assert all(fired[i] == 1 for i in due_ids), "a timer fired twice"
    assert due_set <= follow_ups, "a fired case did not move on to its follow-up task"
    assert not set(other_ids) & set(fired), "a timer fired before its time"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def bench(url: str, args: argparse.Namespace, workers: int) -> None:
    t0 = time.perf_counter()
    db, due_ids, other_ids = fill(url, args.instances, args.due)
    print(f"\n{workers} worker process(es): filled {args.instances:,} waiting, {args.due:,} due "
          f"in {time.perf_counter() - t0:.0f} s")
    wall, reports = run_workers(url, workers, "--now", (FIRE_AT + timedelta(seconds=1)).isoformat(), "--poll", "0.1")
    check_fired_once(db, due_ids, other_ids)
    fired = sum(r["fired"] for r in reports)
    cpu = sum(r["cpu"] for r in reports)
    rate = fired / wall
    print(f"  throughput: {fired:,} timers in {wall:.1f} s = {rate:,.0f} timers/s (target >= 500); "
          f"worker CPU {cpu / fired * 1000:.2f} ms/timer; per process {[r['fired'] for r in reports]}")

    per_second = args.rate or max(1, int(rate / 2))
    count = per_second * args.latency_seconds
    lead = timedelta(seconds=3)
    dues = [LATENCY_AT + lead + timedelta(seconds=i / per_second) for i in range(count)]
    latency_ids = clone(db, other_ids[0], dues)  # a copy that is still waiting
    wall, reports = run_workers(url, workers, "--seconds", str(args.latency_seconds + 6), "--poll", "1.0")
    committed = {int(k): datetime.fromisoformat(v) for r in reports for k, v in r["committed"].items()}
    due_of = dict(zip(latency_ids, dues, strict=True))
    delays = [(committed[i] - due_of[i]).total_seconds() for i in latency_ids if i in committed]
    missing = count - len(delays)
    print(f"  latency: {count:,} timers coming due at {per_second}/s over {args.latency_seconds} s, real-time clock; "
          f"due -> committed p50 {percentile(delays, 0.5) * 1000:.0f} ms, p99 {percentile(delays, 0.99) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms (target p99 <= 1000 ms)" + (f"; {missing} not fired" if missing else ""))
    db.dispose()


# -- where the time goes ----------------------------------------------------------------------------
PARTS = (  # (label, file suffix, function): inclusive time of these, per fired timer
    ("fire one due instance (all below)", "engine/runtime/workflow_engine.py", "_fire_next_due_instance"),
    ("  load the workflow (JSON -> objects)", "engine/runtime/workflow_engine.py", "_load"),
    ("  SpiffWorkflow: fire + advance", "engine/spiff/run.py", "fire_due_timers"),
    ("  save: state, task rows, SLA (below)", "engine/runtime/workflow_engine.py", "_save"),
    ("    serialize the workflow", "engine/spiff/run.py", "dump"),
    ("    sync task rows", "engine/runtime/task_rows.py", "sync_task_rows"),
    ("    SLA: settle pauses", "engine/timing/sla.py", "settle_pauses"),
    ("    SLA: track (breach, notify)", "engine/timing/sla.py", "track"),
    ("  flush + commit", "engine/runtime/workflow_engine.py", "_commit"),
    ("deliver the notifications", "engine/runtime/workflow_engine.py", "deliver_outbox"),
    ("connection checkout pre-ping", "_psycopg_common.py", "do_ping"),
)
LIBRARIES = ("sqlalchemy", "psycopg", "SpiffWorkflow", "/engine/", "/json/")


def profile(url: str, args: argparse.Namespace) -> None:
    """One worker in this process under cProfile over the due set: milliseconds per fired timer by part
    of the work and by library (own time; psycopg includes waiting for the server), and SQL statements."""
    import cProfile
    import pstats
    db, due_ids, other_ids = fill(url, args.instances, args.due)
    engine = WorkflowEngine(db, build_registry(), clock=FrozenClock(FIRE_AT + timedelta(seconds=1)),
                            transport=LogTransport())
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *_a: statements.append(1))
    profiler = cProfile.Profile()
    t0, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    fired = run_worker(engine, poll_seconds=0.1, until_idle=True)
    profiler.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu
    check_fired_once(db, due_ids, other_ids)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    print(f"\nprofile of one in-process worker, {fired:,} timers: {wall / fired * 1000:.2f} ms wall, "
          f"{cpu / fired * 1000:.2f} ms CPU, {len(statements) / fired:.1f} SQL statements per timer "
          f"(under cProfile, which slows Python down)")
    for label, suffix, name in PARTS:
        spent = sum(v[3] for (file, _, fn), v in stats.items() if fn == name and file.endswith(suffix))
        print(f"  {label:<40} {spent / fired * 1000:6.2f} ms")
    own = dict.fromkeys(LIBRARIES, 0.0)
    for (file, _, _), v in stats.items():
        for library in LIBRARIES:
            if library in file:
                own[library] += v[2]
                break
    print("  own time by library: " + ", ".join(f"{lib.strip('/')} {t / fired * 1000:.2f} ms" for lib, t in own.items())
          + f", rest {(sum(v[2] for v in stats.values()) - sum(own.values())) / fired * 1000:.2f} ms")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--workers", default="1,3")
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument("--rate", type=int, default=0, help="timers coming due per second (0: half the throughput)")
    parser.add_argument("--profile", action="store_true", help="profile one in-process worker instead")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (args.database_url or "").startswith(("postgresql", "sqlite")):
        parser.error("set DATABASE_URL or --database-url: a PostgreSQL database (never the shared 'test') "
                     "or a new SQLite file")
    if args.database_url.startswith("sqlite") and args.workers != "1" and not args.worker:
        # The embedded default runs one worker; SQLite has one writer at a time, so more share nothing.
        parser.error("SQLite runs one worker: pass --workers 1")
    if args.worker:
        worker_main(args)
        return
    print(f"timers benchmark on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.profile:
        profile(args.database_url, args)
        return
    for workers in (int(n) for n in args.workers.split(",")):
        bench(args.database_url, args, workers)


if __name__ == "__main__":
    main()
