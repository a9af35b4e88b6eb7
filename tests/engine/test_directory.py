"""People, departments and handing tasks over: the engine's rules, whatever the caller."""
from __future__ import annotations

import pytest

from engine.accounts.directory import Directory, InvalidUser
from engine.errors import NotAColleague, TaskClaimedByOther
from engine.records import queries
from tests.conftest import PROCESSES

FORM = {"customer": "宁波海天", "product_name": "注塑机", "spec_model": "HT-90", "batch_no": "B1",
        "quantity_shipped": 10, "quantity_nonconforming": 1, "characteristic": "appearance",
        "consequence": "complaint", "problem_description": "外观划伤"}


@pytest.fixture
def directory(database, clock) -> Directory:
    directory = Directory(database, clock)
    directory.add_user("qa.wang", "王强", "h", {"quality": "member"})
    directory.add_user("qa.chen", "陈静", "h", {"quality": "head"})
    directory.add_user("qa.zhang", "张三", "h", {"quality": "member"})
    directory.add_user("sales.li", "李娜", "h", {"sales": "member"})
    return directory


def test_users_are_checked_before_they_are_stored(directory):
    with pytest.raises(InvalidUser, match="already exists"):
        directory.add_user("qa.wang", "again", "h", {"quality": "member"})
    with pytest.raises(InvalidUser, match="unknown department 'marketing'"):
        directory.add_user("x", "x", "h", {"marketing": "member"})
    with pytest.raises(InvalidUser, match="department role"):
        directory.add_user("x", "x", "h", {"quality": "boss"})
    with pytest.raises(InvalidUser, match="role must be"):
        directory.add_user("x", "x", "h", {}, roles=("superuser",))
    assert directory.get("x") is None
    assert [u.username for u in directory.colleagues("quality")] == ["qa.chen", "qa.wang", "qa.zhang"]
    assert directory.get("qa.chen").heads("quality") and not directory.get("qa.wang").heads("quality")


def test_hand_over_only_to_a_colleague_and_only_by_the_holder_or_the_head(make_engine, directory):
    engine = make_engine()
    engine.deploy_directory(PROCESSES, "test")
    instance_id = engine.start_instance("quality_feedback", FORM, "sales.li")
    task = [t for t in queries.list_tasks(engine.db, instance_id=instance_id) if t.department == "quality"][0]
    engine.claim_task(task.id, "qa.wang")
    with pytest.raises(NotAColleague):
        engine.hand_over_task(task.id, "qa.wang", "sales.li")
    with pytest.raises(NotAColleague):
        engine.hand_over_task(task.id, "qa.wang", "nobody")
    with pytest.raises(TaskClaimedByOther):
        engine.hand_over_task(task.id, "qa.zhang", "qa.zhang")  # a member cannot take a colleague's task
    assert queries.get_task(engine.db, task.id).claimed_by == "qa.wang"
    engine.hand_over_task(task.id, "qa.chen", "qa.zhang")  # the head reassigns
    assert queries.get_task(engine.db, task.id).claimed_by == "qa.zhang"
    engine.hand_over_task(task.id, "qa.zhang", "qa.wang")
    engine.complete_task(task.id, "qa.wang", {"category": "general"})
    handed = queries.audit_trail(engine.db, instance_id, "task_handed_over")
    assert [(e.actor, e.detail["from"], e.detail["to"]) for e in handed] == [
        ("qa.chen", "qa.wang", "qa.zhang"), ("qa.zhang", "qa.zhang", "qa.wang")]


def test_task_rows_carry_customer_category_and_due_soon_time_from_the_diagram(make_engine, clock, staff):
    engine = make_engine()
    engine.deploy_directory(PROCESSES, "test")
    instance_id = engine.start_instance("quality_feedback", FORM, "sales.li")
    tasks = queries.list_tasks(engine.db, instance_id=instance_id)
    assert {t.customer for t in tasks} == {"宁波海天"}  # process property case_customer=customer
    confirm = [t for t in tasks if t.element_id == "Task_confirm_category"][0]
    assert confirm.category == "general"  # case_category=category, derived by the classify handler
    engine.complete_task(confirm.id, "qa.wang", {"category": "general"})
    samples = [t for t in tasks if t.element_id == "Task_register_samples"][0]
    engine.complete_task(samples.id, "sales.li", {
        "sample_name": "样机", "sample_spec": "HT-90", "supplier": "本公司", "arrival_time": "2026-11-16",
        "custodian": "李雷", "sample_quantity": 1, "sample_source": "customer_return"})
    screening = [t for t in queries.list_tasks(engine.db, instance_id=instance_id) if t.due_at][0]
    window = screening.due_at - screening.created_at
    assert screening.warn_at == screening.created_at + window * 0.8
