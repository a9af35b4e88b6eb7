"""P1 第11步 市场质量信息月度汇总 (seed 000 5.1.2.11): the timer starts it on the 1st at 09:00 Beijing time
(not a second before), the summary counts last month's feedback forms (not this month's), the Sales clerk
(销售部内勤) completes it within the company's 3 working days and it goes as input to the management review
(the review itself is not part of this procedure), and a month without feedback still gets a report."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.storage.models import OutboxMessage
from engine.timing import attainment
from handlers.monthly_reviews import MonthlyReviewReport
from tests.conftest import BEIJING
from tests.processes.conftest import Case, cases_of
from tests.processes.test_quality_feedback import file_feedback, intake, walk_important_measures

SECOND = timedelta(seconds=1)
PROCESS = "market_quality_monthly"
DECEMBER_1ST = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)


def monthly_cases(engine) -> list[Case]:
    return cases_of(engine, PROCESS)


def report_of(engine, case: Case) -> MonthlyReviewReport:
    with engine.db.sessions() as session:
        return session.scalars(select(MonthlyReviewReport).filter_by(instance_id=case.id)).one()


def readable_rows(engine, case: Case) -> list[tuple]:
    [section] = [s for s in engine.case_records(case.id) if s.title.startswith("市场质量信息月度汇总")]
    return [tuple(v[0] if isinstance(v, tuple) else v for v in (r[k] for k, _, _ in section.columns))
            for r in section.rows]



def test_the_summary_starts_on_the_1st_at_nine_not_a_second_before(deployed, travel):
    travel(DECEMBER_1ST - SECOND)
    assert monthly_cases(deployed) == []
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    assert case.instance.business_key == "YB-2026-11-SC"
    clerk = case.task("Task_clerk_review")
    assert clerk.department == "sales"
    assert clerk.data["scheduled_for"] == "2026-12-01T01:00:00+00:00"  # 09:00 Beijing time
    # The next occurrence reports on December.
    travel(datetime(2027, 1, 1, 9, 0, tzinfo=BEIJING) - SECOND)
    assert len(monthly_cases(deployed)) == 1
    travel(datetime(2027, 1, 1, 9, 0, tzinfo=BEIJING))
    assert [c.instance.business_key for c in monthly_cases(deployed)] == ["YB-2026-11-SC", "YB-2026-12-SC"]


def test_last_months_feedback_is_summarised_and_handed_to_the_management_review(deployed, staff, travel, clock):
    # November: an important batch-return case whose measures are met and whose tracking runs late.
    november = file_feedback(deployed)
    intake(november, "important")
    walk_important_measures(november)
    # 1 December 08:00 is December: this case belongs to next month's summary.
    travel(DECEMBER_1ST - timedelta(hours=1))
    file_feedback(deployed, customer="华南电器", quantity_nonconforming=10, consequence="claim")
    travel(DECEMBER_1ST)

    [case] = monthly_cases(deployed)
    report = report_of(deployed, case)
    content = report.content
    assert (report.kind, report.status, content["period"]["label"], content["total"]) == \
        ("market_quality", "draft", "2026-11", 1)
    assert content["by_category"] == {"important": 1} and content["by_consequence"] == {"batch_return": 1}
    [batch] = content["batch_problems"]
    assert (batch["customer"], batch["reasons"], batch["improvement_status"]) == \
        ("华东机电有限公司", ["nonconforming_share", "batch_return"], "report_issued")
    expected = attainment.sla_attainment(deployed.db, datetime(2026, 11, 1, tzinfo=BEIJING), DECEMBER_1ST,
                                      process_key="quality_feedback", by_source=True)
    # Quality met the category confirmation (company rule) and the 3-day measures limit; Sales the sample
    # registration. The 7-day tracking limit ran out while Sales (the reply) and the sample room (the
    # acknowledgement) both held work: it counts against the responsible department, Quality.
    # One line per department and source: the procedure's limits never summed with company rules.
    assert [(a["department"], a["source"], a["met"], a["breached"]) for a in content["sla_attainment"]] == \
        [(a.who, a.source, a.met, a.breached) for a in expected] == \
        [("quality", "procedure", 1, 1), ("quality", "company", 1, 0), ("sales", "company", 1, 0)]
    assert "市场质量信息共 1 份" in case.task("Task_clerk_review").data["report_summary"]

    case.complete("Task_clerk_review", "sales.li", clerk_comments="批量退货一起，整改报告已发出",
                  additional_information="客户口头反映包装破损一次")
    # The clerk's summary goes at once as management review input: no review step of this procedure.
    assert case.instance.status == "completed"
    report = report_of(deployed, case)
    assert (report.status, report.reviewed_by, report.finalised_by) == ("finalised", "sales.li", "sales.li")
    assert report.finalised_at == clock.now()

    rows = readable_rows(deployed, case)
    assert ("概况", "市场质量信息（份）", 1, "", None) in rows
    assert ("不合格特性排列图", "1. 关键特性", 1, "100.0%", "累计 100.0%，关键少数") in rows

    with deployed.db.sessions() as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == case.id)).all()
    assert {m.recipient for m in sent} == {"head:sales", "head:quality", "head:development", "head:production"}
    assert all(m.subject.startswith("管理评审信息：") and "YB-2026-11-SC" in m.subject for m in sent)
    assert all("批量退货一起，整改报告已发出" in m.body and "客户口头反映包装破损一次" in m.body for m in sent)


def test_a_month_without_feedback_still_gets_a_report_saying_so(deployed, travel):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    assert report_of(deployed, case).content["total"] == 0
    assert "本月无市场质量信息反馈" in case.task("Task_clerk_review").data["report_summary"]
    assert ("概况", "市场质量信息（份）", 0, "", "本月无市场质量信息反馈") in readable_rows(deployed, case)


def test_the_clerk_has_three_working_days(deployed, staff, travel):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    limit = case.limit("Timer_clerk_review")
    # Tuesday 1 December 09:00 + 3 working days.
    assert limit.due_at == datetime(2026, 12, 4, 9, 0, tzinfo=BEIJING)
    travel(limit.due_at - SECOND)
    assert case.limit("Timer_clerk_review").status == "running"
    travel(limit.due_at + SECOND)
    assert case.limit("Timer_clerk_review").status == "breached"
    # Late is recorded and escalated; the clerk still completes the summary.
    assert case.open_elements() == {"Task_clerk_review"}
    case.complete("Task_clerk_review", "sales.li", clerk_comments="迟交")
    assert case.instance.status == "completed"


def test_the_clerk_who_finishes_in_time_meets_the_limit_and_the_summary_is_handed_over(deployed, travel):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    travel(case.limit("Timer_clerk_review").due_at - SECOND)
    case.complete("Task_clerk_review", "sales.li", clerk_comments="本月无异常")
    assert case.limit("Timer_clerk_review").status == "met"
    assert case.instance.status == "completed"


def test_a_late_clerk_is_told_with_the_sales_head(deployed, travel):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    travel(case.limit("Timer_clerk_review").due_at + SECOND)
    with deployed.db.sessions() as session:
        late = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == case.id,
                                                           OutboxMessage.subject.like("超时：%"))).all()
    # Nobody had claimed the summary: all of Sales is told (its head included).
    assert {m.recipient for m in late} == {"department:sales"}
    assert late[0].subject == "超时：公司规定：销售部内勤3个工作日内完成月度汇总（YB-2026-11-SC）"


def test_run_now_summarises_the_month_before_today_and_a_second_run_is_a_new_edition(deployed, travel):
    deployed.start_scheduled_now(PROCESS, "admin")  # Monday 16 November: October's summary
    deployed.start_scheduled_now(PROCESS, "admin")
    travel(DECEMBER_1ST)  # the schedule itself is unchanged
    assert [c.instance.business_key for c in monthly_cases(deployed)] == \
        ["YB-2026-10-SC", "YB-2026-10-SC-2", "YB-2026-11-SC"]
