"""The task page shows the case's response limits: which, due when, met or missed, and against whom."""
from __future__ import annotations

from datetime import datetime, timedelta

from engine.records import queries
from tests.conftest import BEIJING
from tests.webapp.test_inbox_flow import SAMPLES, _open


def test_a_missed_limit_shows_on_the_task_page_in_both_languages(engine, as_user, filed_case, clock):
    quality, sales = as_user("qa.wang"), as_user("sales.li")
    confirm = _open(engine, "Task_confirm_category")[0]
    assert quality.post(f"/tasks/{confirm.id}/complete", {"category": "important"}).status_code == 302
    samples = _open(engine, "Task_register_samples")[0]
    assert sales.post(f"/tasks/{samples.id}/complete", SAMPLES).status_code == 302
    test_task = _open(engine, "Task_imp_test")[0]
    assert quality.post(f"/tasks/{test_task.id}/claim").status_code == 302

    page = quality.text(f"/tasks/{test_task.id}")
    assert "响应时限" in page and "重要信息：3天内回复测试结果、分析改进措施" in page and "计时中" in page
    assert "2026-11-19 09:00" in page  # three calendar days after filing on Monday 09:00, Beijing time

    clock.set(datetime(2026, 11, 19, 9, 0, tzinfo=BEIJING) + timedelta(seconds=1))
    engine.fire_due_timers()
    quality = as_user("qa.wang")  # three days later: a new session
    page = quality.text(f"/tasks/{test_task.id}")
    assert "超时 2026-11-19 09:00" in page and "王强" in page  # missed, against the one holding the task
    [missed] = [r for r in queries.sla_records(engine.db, filed_case) if r.status == "breached"]
    assert missed.person == "qa.wang"
    quality.post("/language", {"language": "en", "next": "/inbox"})
    english = quality.text(f"/tasks/{test_task.id}")
    assert "Response limits" in english and "Missed" in english and "Limit missed" in english
