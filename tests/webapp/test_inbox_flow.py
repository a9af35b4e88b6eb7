"""A department user's day in the inbox: file a case, see it in the other department, claim, complete."""
from __future__ import annotations

from datetime import timedelta

from engine.records import queries
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


def test_an_invalid_start_form_comes_back_with_field_errors_and_files_nothing(engine, as_user):
    sales = as_user("sales.li")
    form = dict(FEEDBACK_FORM, customer="", quantity_shipped="abc", quantity_nonconforming="-3",
                characteristic="not-an-option")
    response = sales.post("/new/quality_feedback", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "请更正标出的字段，本次未保存" in page
    assert page.count("此项必填") == 1  # customer
    assert "请输入整数" in page  # quantity shipped
    assert "不能小于 0" in page  # quantity nonconforming
    assert "请从选项中选择" in page  # characteristic
    assert 'value="液压阀"' in page  # what was typed stays in the form
    assert queries.list_instances(engine.db) == []


def test_task_page_renders_the_diagram_form_with_the_case_data(engine, as_user, filed_case):
    quality = as_user("qa.wang")
    task = _open(engine, "Task_confirm_category")[0]
    page = quality.text(f"/tasks/{task.id}")
    # Widgets from camunda:formData: an enum select with its options, long text, read-only derived values.
    assert '<select id="f-category" name="category" required>' in page
    assert '<option value="important" selected>重要信息</option>' in page
    assert '<textarea id="f-override_reason" name="override_reason"' in page
    assert '<div class="readonly" id="f-suggested_category">重要信息</div>' in page
    assert "不合格比例 30.0% ≥ 20%" in page
    assert 'title="必填">*</span>' in page
    # The data needed to act: the feedback form as registered, and who did what so far.
    assert "信息反馈处理单" in page and task.business_key in page and "阀芯卡滞，批量退货" in page
    assert page.count("<td>重要信息</td>") == 1  # the derived category, named as in the diagram
    assert "<td>key</td>" not in page and "<td>important</td>" not in page
    assert "案件发起" in page and "李娜" in page and "2026-11-16 09:00" in page


def test_invalid_completion_returns_the_form_with_errors_and_changes_nothing(engine, as_user, filed_case):
    quality = as_user("qa.wang")
    task = _open(engine, "Task_confirm_category")[0]
    response = quality.post(f"/tasks/{task.id}/complete", {"category": "", "override_reason": "理由"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "此项必填" in page and ">理由</textarea>" in page
    assert queries.get_task(engine.db, task.id).state == "open"
    assert not queries.audit_trail(engine.db, filed_case, "task_completed")


def test_completing_a_task_twice_says_who_completed_it(engine, as_user, filed_case):
    quality = as_user("qa.wang")
    task = _open(engine, "Task_confirm_category")[0]
    assert quality.post(f"/tasks/{task.id}/complete", {"category": "important"}).status_code == 302
    response = quality.post(f"/tasks/{task.id}/complete", {"category": "general"})
    assert response.status_code == 409
    assert "该任务已由 王强 于 2026-11-16 09:00 完成，未做任何更改" in response.get_data(as_text=True)
    assert queries.get_task(engine.db, task.id).submitted["category"] == "important"
    # A colleague who had the page open gets the same answer.
    head = as_user("qa.chen")
    assert head.post(f"/tasks/{task.id}/complete", {"category": "general"}).status_code == 409
    assert len(queries.audit_trail(engine.db, filed_case, "task_completed")) == 1


def test_claim_release_and_hand_over_within_the_department(engine, as_user, filed_case):
    wang, chen = as_user("qa.wang"), as_user("qa.chen")
    task = _open(engine, "Task_confirm_category")[0]
    assert wang.post(f"/tasks/{task.id}/claim").status_code == 302
    # Someone else's task: a member can neither claim, complete nor release it...
    assert chen.post(f"/tasks/{task.id}/claim").status_code == 409
    refused = chen.post(f"/tasks/{task.id}/complete", {"category": "general"})
    assert refused.status_code == 403 and "该任务由 王强 认领" in refused.get_data(as_text=True)
    assert queries.get_task(engine.db, task.id).state == "open"
    # ...but the head (陈静 heads Quality) may take it back to the department.
    assert chen.post(f"/tasks/{task.id}/unclaim").status_code == 302
    assert queries.get_task(engine.db, task.id).claimed_by is None
    # Hand over to a colleague of the same department, not to someone of another one.
    assert wang.post(f"/tasks/{task.id}/claim").status_code == 302
    refused = wang.post(f"/tasks/{task.id}/hand-over", {"to": "sales.li"})
    assert refused.status_code == 403 and "质量部" in refused.get_data(as_text=True)
    assert queries.get_task(engine.db, task.id).claimed_by == "qa.wang"
    assert wang.post(f"/tasks/{task.id}/hand-over", {"to": "qa.chen"}).status_code == 302
    assert queries.get_task(engine.db, task.id).claimed_by == "qa.chen"
    assert f'data-task-id="{task.id}"' not in wang.text("/inbox?view=mine")
    assert "确认信息类别" in chen.text("/inbox?view=mine")
    history = chen.text(f"/tasks/{task.id}")
    assert "任务转交" in history and "→ 陈静" in history
    handed = queries.audit_trail(engine.db, filed_case, "task_handed_over")
    assert handed[-1].detail == {"task_id": task.id, "from": "qa.wang", "to": "qa.chen"}


def test_a_user_sees_and_acts_on_tasks_of_their_departments_only(engine, as_user, filed_case):
    task = _open(engine, "Task_confirm_category")[0]
    development = as_user("dev.liu")
    assert "确认信息类别" not in development.text("/inbox?view=department")
    for response in (development.client.get(f"/tasks/{task.id}"),
                     development.post(f"/tasks/{task.id}/claim"),
                     development.post(f"/tasks/{task.id}/complete", {"category": "general"}),
                     development.post(f"/tasks/{task.id}/hand-over", {"to": "dev.sun"})):
        assert response.status_code == 403
    assert development.client.get("/inbox?view=department&department=quality").status_code == 403
    after = queries.get_task(engine.db, task.id)
    assert after.state == "open" and after.claimed_by is None
    # Admins see every department's tasks; auditors and process owners have no inbox tasks.
    assert "确认信息类别" in as_user("admin").text("/inbox?view=department")
    auditor = as_user("audit.ma")
    assert "确认信息类别" not in auditor.text("/inbox?view=department")
    assert auditor.client.get(f"/tasks/{task.id}").status_code == 403


def test_only_the_starting_department_files_a_case(engine, as_user):
    quality = as_user("qa.wang")
    assert "市场质量信息反馈处理" not in quality.text("/new")
    response = quality.post("/new/quality_feedback", FEEDBACK_FORM)
    assert response.status_code == 403 and "只有销售部可以发起该流程" in response.get_data(as_text=True)
    assert quality.client.get("/new/no_such_process").status_code == 404
    assert queries.list_instances(engine.db) == []


def test_due_soon_in_amber_overdue_in_red_and_the_due_filter(engine, as_user, filed_case, clock):
    quality = as_user("qa.wang")
    confirm = _open(engine, "Task_confirm_category")[0]
    engine.complete_task(confirm.id, "qa.wang", {"category": "important"})
    engine.complete_task(_open(engine, "Task_register_samples")[0].id, "sales.li",
                         {**SAMPLES, "sample_quantity": 2})
    task = _open(engine, "Task_imp_test")[0]
    assert task.limit_name and task.warn_at < task.due_at

    def row_class() -> str:
        page = as_user("qa.wang").text("/inbox?view=department")  # days later: signed in afresh
        start = page.index(f'data-task-id="{task.id}"')
        return page[page.rindex("<tr", 0, start):start]

    assert "on_time" in row_class()
    clock.set(task.warn_at + timedelta(minutes=1))
    assert "due_soon" in row_class()
    quality = as_user("qa.wang")
    assert "即将到期" in quality.text("/inbox?view=department&due=due_soon")
    assert f'data-task-id="{task.id}"' not in quality.text("/inbox?view=department&due=overdue")
    clock.set(task.due_at + timedelta(hours=2))
    assert "overdue" in row_class()
    quality = as_user("qa.wang")
    page = quality.text("/inbox?view=department&due=overdue")
    assert f'data-task-id="{task.id}"' in page and "已超时 2小时0分钟" in page
    assert f'data-task-id="{task.id}"' not in quality.text("/inbox?view=department&due=on_time")


def test_search_sort_and_pages(engine, as_user):
    customers = [f"客户{n:02d}" for n in range(30)]
    for name in customers:
        engine.start_instance("quality_feedback", dict(FEEDBACK_FORM, customer=name), "sales.li")
    quality = as_user("qa.wang")
    first = quality.text("/inbox?view=department")
    assert "共 30 项任务" in first and "第 1 / 2 页" in first and first.count('data-task-id="') == 25
    second = quality.text("/inbox?view=department&page=2")
    assert second.count('data-task-id="') == 5 and "上一页" in second
    found = quality.text("/inbox?view=department&q=客户07")
    assert "共 1 项任务" in found and "客户07" in found
    number = queries.list_instances(engine.db)[0].business_key
    assert "共 1 项任务" in quality.text(f"/inbox?view=department&q={number}")
    newest = quality.text("/inbox?view=department&sort=-created")
    oldest = quality.text("/inbox?view=department&sort=created")
    assert newest.index("客户29") < newest.index("客户28")
    assert oldest.index("客户00") < oldest.index("客户01")
    assert "共 30 项任务" in quality.text("/inbox?view=department&category=important")
    assert "共 0 项任务" in quality.text("/inbox?view=department&category=general")
    assert "共 0 项任务" in quality.text("/inbox?view=mine")


def test_english_pages_use_the_diagram_english_labels(engine, as_user, filed_case):
    quality = as_user("qa.wang")
    quality.post("/language", {"language": "en", "next": "/inbox"})
    task = _open(engine, "Task_confirm_category")[0]
    page = quality.text(f"/tasks/{task.id}")
    assert "Reason for overriding the derived category" in page
    assert '<option value="important" selected>Important information</option>' in page
    assert "Information Feedback Form" in page and "Quality" in page
    assert page.count("<td>Important information</td>") == 1
    assert "2026-11-16 09:00" in page  # still Beijing time


def test_the_inbox_reads_task_rows_only_never_a_workflow(engine, as_user, filed_case):
    from sqlalchemy import event

    quality = as_user("qa.wang")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    event.listen(engine.db.engine, "before_cursor_execute", record)
    try:
        page = quality.text("/inbox?view=department&due=on_time&q=杭州&sort=-due")
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", record)
    assert "确认信息类别" in page  # its 4-hour limit (company rule) runs: on time
    assert statements and not [s for s in statements if "process_instances" in s or "audit_events" in s]
    assert not [s for s in statements if "human_tasks.form" in s or "human_tasks.data" in s]
