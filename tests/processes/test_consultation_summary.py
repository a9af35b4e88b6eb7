"""P5 技术咨询定期汇总: the monthly timer starts on the 1st at 09:00 Beijing time (not a second before), the
summary counts last month's consultations by topic and model with the prominent ones and the notices sent
(not this month's), and only the technical support head reviews it within 3 working days."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.errors import HeadsOnly
from engine.records import queries
from engine.storage.models import OutboxMessage
from handlers.consultations import ConsultationSummary
from tests.conftest import BEIJING
from tests.processes.conftest import Case, cases_of
from tests.processes.test_technical_consultation import answer, consult

SECOND = timedelta(seconds=1)
PROCESS = "consultation_summary"
DECEMBER_1ST = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)


def summaries(engine) -> list[Case]:
    return cases_of(engine, PROCESS)


def report_of(engine, case: Case) -> ConsultationSummary:
    with engine.db.sessions() as session:
        return session.scalars(select(ConsultationSummary).filter_by(instance_id=case.id)).one()


def test_the_summary_starts_on_the_1st_at_nine_not_a_second_before(deployed, travel):
    travel(DECEMBER_1ST - SECOND)
    assert summaries(deployed) == []
    travel(DECEMBER_1ST)
    [case] = summaries(deployed)
    assert case.instance.business_key == "ZXHZ-2026-11"
    review = case.task("Task_review")
    assert review.department == "tech_support" and review.limit_source == "company"
    assert review.limit_name == "公司规定：技术支持负责人3个工作日内审阅月度汇总"
    assert review.data["scheduled_for"] == "2026-12-01T01:00:00+00:00"


def test_novembers_consultations_are_summarised_and_reviewed_by_the_head(deployed, clock, travel):
    first = consult(deployed)
    answer(first, prominent=True)
    first.complete("Task_draft_notice", "svc.huang", notice_title="E21复位方法", notice_content="断电30秒后复位",
                   affected_models="JZ-200")
    first.complete("Task_approve_notice", "svc.lin", approval="approved")
    second = consult(deployed, customer="北方重工")
    answer(second, topic="fault", answer="检查冷却泵")
    other_model = Case(deployed, deployed.start_instance("technical_consultation", {
        "customer": "华南电器", "contact": "李工", "device_model": "XK-500", "channel": "email",
        "question": "最大行程是多少？"}, "ts.qian"))
    answer(other_model, topic="parameters", answer="X轴 800 mm")
    # 1 December 08:00 is December: next month's summary.
    travel(DECEMBER_1ST - timedelta(hours=1))
    answer(consult(deployed, customer="西部机床"))
    travel(DECEMBER_1ST)

    [case] = summaries(deployed)
    content = report_of(deployed, case).content
    assert (content["period"], content["total"], content["unanswered"]) == ("2026-11", 3, 0)
    assert content["by_topic"] == {"fault": 1, "operation": 1, "parameters": 1}
    assert content["by_model"] == {"JZ-200": 2, "XK-500": 1}
    assert [(p["consultation_no"], p["customer"]) for p in content["prominent"]] == \
        [("ZX-2026-0001", "华东机电有限公司")]
    assert [(n["notice_no"], n["title"], n["customers"]) for n in content["notices"]] == \
        [("ZG-2026-0001", "E21复位方法", 1)]  # the one customer known when it went out
    review = case.task("Task_review")
    assert "技术咨询共 3 次" in review.data["report_summary"] and "忠告性通知 1 份" in review.data["report_summary"]
    [limit] = [r for r in queries.sla_records(deployed.db, case.id) if r.element_id == "Timer_review"]
    assert limit.due_at == datetime(2026, 12, 4, 9, 0, tzinfo=BEIJING)  # 3 working days from Tuesday

    with pytest.raises(HeadsOnly):
        case.complete("Task_review", "ts.qian", review_comments="已阅")
    case.complete("Task_review", "ts.dong", review_comments="E21问题已发通知，跟踪说明书修订")
    assert case.instance.status == "completed"
    report = report_of(deployed, case)
    assert (report.reviewed_by, report.reviewed_at) == ("ts.dong", clock.now())
    [section] = [s for s in deployed.case_records(case.id) if s.title == "技术咨询月度汇总 ZXHZ-2026-11"]
    rows = [(r["item_section"], r["item"], r["figure"]) for r in section.rows]
    assert ("概况", "技术咨询（次）", 3) in rows and ("按型号", "XK-500", 1) in rows
    assert ("评审", "ts.dong", None) in rows


def test_the_review_a_second_past_three_working_days_is_a_breach(deployed, travel):
    travel(DECEMBER_1ST)
    [case] = summaries(deployed)
    due = datetime(2026, 12, 4, 9, 0, tzinfo=BEIJING)
    travel(due - SECOND)
    [limit] = [r for r in queries.sla_records(deployed.db, case.id) if r.element_id == "Timer_review"]
    assert limit.status == "running"
    travel(due + SECOND)
    [limit] = [r for r in queries.sla_records(deployed.db, case.id) if r.element_id == "Timer_review"]
    assert (limit.status, limit.department, limit.source) == ("breached", "tech_support", "company")
    assert limit.started_at == DECEMBER_1ST  # from the summary's start: the text says only 定期汇总
    with deployed.db.sessions() as session:
        told = {m.recipient for m in session.scalars(select(OutboxMessage)) if "超时：公司规定：技术支持负责人" in m.subject}
    assert told == {"department:tech_support"}  # nobody holds the heads-only review yet
    assert report_of(deployed, case).content["total"] == 0
