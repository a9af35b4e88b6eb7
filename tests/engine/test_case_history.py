"""The path a case took and its data after each step survive compaction and reloads, are counted across
a rework loop, and are stored with the command or not at all."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.diagrams.forms import InvalidForm
from engine.records import case_history, queries
from engine.storage import case_data
from engine.storage.models import CaseSnapshot, ElementPass, ProcessInstance
from engine.storage.unit_of_work import UnitOfWork
from tests.conftest import PROCESSES
from tests.processes.conftest import Case
from tests.processes.test_quality_feedback import (
    file_feedback,
    register_samples,
    report,
    review,
    walk_important_to_change,
)


@pytest.fixture
def deployed(make_engine, staff):
    engine = make_engine()
    engine.deploy((PROCESSES / "quality_feedback.bpmn").read_bytes(), "process.owner", filename="quality_feedback.bpmn")
    return engine


def to_rework(case: Case) -> None:
    walk_important_to_change(case)
    case.complete("Task_issue_change_notice", "dev.liu", change_content="轴承改用 C3 游隙",
                  effective_date="2026-11-20", tooling_required=False)


def latest_data(engine, instance_id: int) -> dict:
    return case_history.case_snapshots(engine.db, instance_id)[-1].data


def counts(engine) -> tuple[int, int, int]:
    with engine.db.sessions() as session:
        return (session.scalar(select(func.count()).select_from(CaseSnapshot)),
                session.scalar(select(func.sum(ElementPass.passes)).select_from(ElementPass)),
                session.scalar(select(func.count()).select_from(ElementPass).where(ElementPass.active)))


def test_start_records_the_automatic_steps_and_where_the_case_waits(deployed):
    case = file_feedback(deployed)
    path = case_history.path_taken(deployed.db, case.id)
    # Events, gateways and service tasks leave no audit event of their own: the path still shows them.
    assert {"StartEvent_feedback", "Task_register_form", "Task_classify", "Gateway_fork_intake"} <= path.passes.keys()
    assert set(path.passes.values()) == {1}
    assert {"Task_confirm_category", "Task_register_samples"} <= set(path.active)
    [snapshot] = case_history.case_snapshots(deployed.db, case.id)
    assert snapshot.data["customer"] == "华东机电有限公司" and snapshot.data["suggested_category"] == "important"
    assert snapshot.actor == "sales.li"
    # The snapshot was taken after the start command's last event and reads on the step that began it.
    events = queries.audit_trail(deployed.db, case.id)
    timeline = case_history.case_timeline(deployed.db, case.id)
    assert [s.kind for s in timeline] == [e.kind for e in events]
    assert [s.data_after is not None for s in timeline].count(True) == 1
    assert timeline[-1].id == snapshot.after_event_id
    assert timeline[0].kind == "instance_started" and timeline[0].data_after == snapshot.data


def test_rework_loop_counts_every_pass_through_compaction_and_reloads(deployed):
    case = file_feedback(deployed)
    to_rework(case)
    for round_no in range(1, 4):
        case.complete("Task_rework_stock", "prod.zhou", disposition=f"第{round_no}次返工", rework_quantity=round_no)
        assert latest_data(deployed, case.id)["disposition"] == f"第{round_no}次返工"
        case.complete("Task_spot_check", "qa.wang", spot_check_result="fail", spot_check_remarks=f"第{round_no}次不合格")
        assert latest_data(deployed, case.id)["spot_check_remarks"] == f"第{round_no}次不合格"
    case.complete("Task_rework_stock", "prod.zhou", disposition="最终返工", rework_quantity=1)
    case.complete("Task_spot_check", "qa.wang", spot_check_result="pass")

    path = case_history.path_taken(deployed.db, case.id)
    assert path.passes["Task_rework_stock"] == 4 and path.passes["Task_spot_check"] == 4
    assert path.passes["Task_confirm_category"] == 1 and path.passes["StartEvent_feedback"] == 1
    assert "Task_rework_stock" not in path.active and "Task_negotiate_market" in path.active
    # The saved workflow forgot the earlier rounds (compaction); the recorded path did not.
    with deployed.db.sessions() as session:
        state = session.get(ProcessInstance, case.id).state
    saved = json.loads(state)
    tasks = [*saved["tasks"].values(), *(t for sp in saved["subprocesses"].values() for t in sp["tasks"].values())]
    assert sum(t["task_spec"] == "Task_spot_check" for t in tasks) < 2, "compaction forgot the earlier rounds"
    # Every earlier step's data is still there, in order.
    remarks = [s.data.get("spot_check_remarks") for s in case_history.case_snapshots(deployed.db, case.id)]
    assert [r for i, r in enumerate(remarks) if r and r not in remarks[:i]] == \
        ["第1次不合格", "第2次不合格", "第3次不合格"]


def test_snapshot_after_each_step_and_only_when_the_data_changed(deployed):
    case = file_feedback(deployed, quantity_nonconforming=50, characteristic="appearance", consequence="complaint")
    case.complete("Task_confirm_category", "qa.wang", category="general")
    register_samples(case)
    before = len(case_history.case_snapshots(deployed.db, case.id))
    task = case.task("Task_gen_test")
    deployed.claim_task(task.id, "qa.wang")  # a claim changes no data: no snapshot, no pass
    assert len(case_history.case_snapshots(deployed.db, case.id)) == before
    case.complete("Task_gen_test", "qa.wang", test_result="外观划伤", cause_analysis="包装不当", technical_lead="张工")
    snapshots = case_history.case_snapshots(deployed.db, case.id)
    assert len(snapshots) == before + 1
    assert (snapshots[-1].actor, snapshots[-1].data["test_result"]) == ("qa.wang", "外观划伤")
    completed = [s for s in case_history.case_timeline(deployed.db, case.id) if s.kind == "task_completed"]
    assert completed[-1].detail["data"]["test_result"] == "外观划伤"
    assert completed[-1].id <= snapshots[-1].after_event_id
    assert completed[-1].data_after == snapshots[-1].data  # the data after the step, on the step

    case.complete("Task_gen_dev_analysis", "dev.liu", development_analysis="包装标准未规定护角")
    review(case, "Task_gen_review")
    report(case, "Task_gen_report", stock=False, market=False)
    case.complete("Task_gen_reply_customer", "sales.li", customer_reply="已答复", replied_on="2026-11-17")
    case.complete("Task_gen_sample_room", "sample.gao", storage_place="样品室B-01")
    case.complete("Task_gen_tracking", "qa.wang", tracking_status="新包装已使用")
    case.complete("Task_verify", "qa.wang", verification_result="effective")
    assert case.instance.status == "completed"
    # The case ended: nothing is active, and the last snapshot holds the last task's data.
    path = case_history.path_taken(deployed.db, case.id)
    assert path.active == () and path.passes["Task_verify"] == 1
    assert latest_data(deployed, case.id)["verification_result"] == "effective"
    timeline = case_history.case_timeline(deployed.db, case.id)
    assert timeline[-1].kind == "instance_completed"
    [verified] = [s for s in timeline if s.kind == "task_completed" and s.element_id == "Task_verify"]
    assert verified.data_after["verification_result"] == "effective"


def test_nothing_is_recorded_when_the_command_fails(deployed, monkeypatch):
    case = file_feedback(deployed)
    task = case.task("Task_confirm_category")
    recorded = counts(deployed)
    with pytest.raises(InvalidForm):
        deployed.complete_task(task.id, "qa.wang", {"category": "no-such-category"})
    assert counts(deployed) == recorded

    def power_cut(self):
        raise SystemExit("power cut")
    monkeypatch.setattr(UnitOfWork, "commit", power_cut)
    with pytest.raises(SystemExit):
        deployed.complete_task(task.id, "qa.wang", {"category": "important"})
    monkeypatch.undo()
    assert counts(deployed) == recorded
    assert "Task_confirm_category" not in case_history.path_taken(deployed.db, case.id).passes

    deployed.complete_task(task.id, "qa.wang", {"category": "important"})
    assert case_history.path_taken(deployed.db, case.id).passes["Task_confirm_category"] == 1
    assert latest_data(deployed, case.id)["category"] == "important"


def test_cancelled_case_is_at_no_element(deployed):
    case = file_feedback(deployed)
    deployed.cancel_instance(case.id, "admin", "客户撤回")
    path = case_history.path_taken(deployed.db, case.id)
    assert path.active == () and path.passes["Task_register_form"] == 1
    assert case_history.case_header(deployed.db, case.id).status == "cancelled"


def test_json_safe_keeps_dates_and_decimals_as_text():
    from datetime import date
    from decimal import Decimal
    assert case_data.json_safe({"d": date(2026, 11, 16), "n": Decimal("1.5"), "l": (1, {2})}) == \
        {"d": "2026-11-16", "n": "1.5", "l": [1, [2]]}


def test_two_racing_completions_one_wins_and_the_path_is_counted_once(deployed):
    """Two people submitting the same task at the same instant: the second waits for the first (the case's
    row is locked first, issue 18) and is told the task was completed; the path rows are written once."""
    import threading

    from engine.errors import ConcurrencyConflict, TaskNotOpen
    case = file_feedback(deployed)
    task = case.task("Task_confirm_category")
    go = threading.Barrier(2, timeout=10)
    outcomes: dict[str, object] = {}

    def worker(user: str) -> None:
        go.wait()
        try:
            deployed.complete_task(task.id, user, {"category": "important"})
            outcomes[user] = "ok"
        except Exception as err:  # noqa: BLE001 - the test inspects it
            outcomes[user] = err
    threads = [threading.Thread(target=worker, args=(u,)) for u in ("qa.wang", "qa.chen")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = sorted(outcomes.values(), key=lambda v: v != "ok")
    assert results[0] == "ok" and isinstance(results[1], (TaskNotOpen, ConcurrencyConflict)), results
    path = case_history.path_taken(deployed.db, case.id)
    assert path.passes["Task_confirm_category"] == 1 and path.passes["Task_record_category"] == 1


def test_a_case_from_before_the_path_was_recorded_shows_what_the_audit_log_tells(deployed):
    case = file_feedback(deployed)
    case.complete("Task_confirm_category", "qa.wang", category="important")
    with deployed.db.sessions.begin() as session:
        session.query(ElementPass).delete()
    path = case_history.path_taken(deployed.db, case.id)
    assert path.passes == {"Task_confirm_category": 1} and path.active == ("Task_register_samples",)
