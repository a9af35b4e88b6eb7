"""While one user's completion runs a condition that would loop for ever, other users' writes go through: the
condition is stopped at the command's budget, so the database lock is never held longer (issue 17, item 9).
Real threads against the real database (SQLite or PostgreSQL)."""
from __future__ import annotations

import threading
import time

from engine.records import queries
from tests.engine.hostile.diagrams import noop_handlers, with_gateway

ENDLESS = "sum(1 for i in range(100000) for j in range(100000)) > 0 if amount == 3 else True"


def test_other_users_write_while_an_endless_condition_runs(make_engine, staff):
    engine = make_engine(noop_handlers())
    engine.deploy(with_gateway(ENDLESS), "owner")
    cases = [engine.start_instance("simple_review", {"customer": name, "amount": amount}, "sales.li")
             for name, amount in (("甲", 3), ("乙", 4), ("丙", 4))]
    hostile, calm, claimed = (queries.list_tasks(engine.db, instance_id=case)[0].id for case in cases)
    outcome: dict[str, object] = {}

    def run(name, command):
        started = time.monotonic()
        try:
            outcome[name] = command()
        except Exception as err:  # noqa: BLE001 - what the test reports
            outcome[name] = err
        outcome[name + "_seconds"] = time.monotonic() - started

    threads = [threading.Thread(target=run, args=("hostile", lambda: engine.complete_task(
        hostile, "qa.wang", {"decision": "approve"})))]
    threads += [threading.Thread(target=run, args=("calm", lambda: engine.complete_task(
        calm, "qa.chen", {"decision": "approve"}))),
                threading.Thread(target=run, args=("claim", lambda: engine.claim_task(claimed, "qa.wang")))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcome["hostile"] == ["Gateway_check"]  # stopped, an incident, the submission kept
    assert outcome["calm"] == [] and outcome["claim"] is None  # neither failed with "database is locked"
    assert queries.get_instance(engine.db, cases[1]).status == "completed"
    assert queries.get_task(engine.db, claimed).claimed_by == "qa.wang"
    [incident] = queries.list_incidents(engine.db, instance_id=cases[0])
    assert incident.reason["kind"] == "limit_time"
