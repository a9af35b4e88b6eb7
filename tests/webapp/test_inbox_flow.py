"""A department user's day in the inbox: file a case, see it in the other department, claim, complete."""
from __future__ import annotations

from datetime import timedelta

from engine import queries
from tests.webapp.conftest import FEEDBACK_FORM


SAMPLES = {"sample_name": "退回样机", "sample_spec": "HV-200", "supplier": "本公司", "arrival_time": "2026-11-16",
           "custodian": "李雷", "sample_quantity": "2", "sample_source": "customer_return"}


def _open(engine, element_id):
    return [t for t in queries.list_tasks(engine.db) if t.element_id == element_id]


def test_sales_files_a_feedback_form_and_quality_sees_it_with_its_due_time(engine, as_user, clock):
    sales = as_user("sales.li")
    new_page = sales.text("/new")
    assert "市场质量信息反馈处理" in new_page
    response = sales.post("/new/quality_feedback", FEEDBACK_FORM)
    assert response.status_code == 302
    instance = queries.list_instances(engine.db)[0]
    assert instance.business_key.startswith("QF")
    assert f"市场质量信息反馈处理 {instance.business_key} 已提交" in sales.text(response.headers["Location"])

    quality = as_user("qa.wang")
    inbox = quality.text("/inbox?view=department")
    assert "确认信息类别" in inbox
    assert instance.business_key in inbox and "杭州精工机械有限公司" in inbox
    assert "重要信息" in inbox  # 150 of 500 nonconforming: important, derived from the form
    confirm = _open(engine, "Task_confirm_category")[0]
    assert quality.post(f"/tasks/{confirm.id}/claim").status_code == 302
    page = quality.text(f"/tasks/{confirm.id}")
    assert "王强" in page  # held by
    response = quality.post(f"/tasks/{confirm.id}/complete", {"category": "important", "override_reason": ""})
    assert response.status_code == 302, response.get_data(as_text=True)

    samples = _open(engine, "Task_register_samples")[0]
    response = sales.post(f"/tasks/{samples.id}/complete", SAMPLES)
    assert response.status_code == 302, response.get_data(as_text=True)

    inbox = quality.text("/inbox?view=department")
    test_task = _open(engine, "Task_imp_test")[0]
    assert test_task.due_at is not None
    due_text = (test_task.due_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # shown in Beijing time
    assert due_text in inbox
    assert "剩余" in inbox
