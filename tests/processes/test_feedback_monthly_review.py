"""P6 第10步 月度反馈分析: the timer starts it on the 1st at 09:00 Beijing time (not a second before), the
draft finds last month's problems that came more than 5 times, quality, development, after-sales and
product management give their opinions in parallel, each within the company's limit, and the product manager, who
organises the review (003 二(五)), compiles the 《月度反馈分析报告》 and sends it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.errors import HeadsOnly
from engine.storage.models import OutboxMessage
from engine.timing import attainment
from handlers.monthly_reviews import MonthlyReviewReport
from handlers.product_improvement import CustomerFeedback
from tests.conftest import BEIJING
from tests.processes.conftest import Case, cases_of

SECOND = timedelta(seconds=1)
PROCESS = "feedback_monthly_review"
DECEMBER_1ST = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)
REVIEWERS = {"quality": "qa.chen", "development": "dev.sun", "after_sales": "svc.lin",
             "product_management": "pm.deng"}  # the departments' heads review


def monthly_cases(engine) -> list[Case]:
    return cases_of(engine, PROCESS)


def report_of(engine, case: Case) -> MonthlyReviewReport:
    with engine.db.sessions() as session:
        return session.scalars(select(MonthlyReviewReport).filter_by(instance_id=case.id)).one()


def readable_rows(engine, case: Case) -> list[tuple]:
    [section] = [s for s in engine.case_records(case.id) if s.title.startswith("月度反馈分析报告")]
    return [tuple(v[0] if isinstance(v, tuple) else v for v in (r[k] for k, _, _ in section.columns))
            for r in section.rows]



def told_of_miss(engine, case: Case, limit_name: str) -> set[str]:
    """Who was sent the breach notice of one limit of the case."""
    with engine.db.sessions() as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == case.id)).all()
    return {m.recipient for m in sent if m.subject.startswith(f"超时：{limit_name}")}


def seed_feedback(engine, received: list[datetime], problem_key: str = "X1:充电口松动") -> None:
    with engine.db.sessions.begin() as session:
        for n, at in enumerate(received):
            session.add(CustomerFeedback(
                feedback_no=f"KF-SEED-{problem_key[-2:]}-{n}", instance_id=0, channel="phone", customer=f"客户{n}",
                product_model="X1", received_at=at, feedback_class="important" if n == 0 else "general",
                cause_category="material", problem_key=problem_key, satisfaction=3 if n == 0 else 5,
                handling_rounds=2 if n == 0 else 1))


def test_the_analysis_starts_on_the_1st_at_nine_not_a_second_before(deployed, travel):
    travel(DECEMBER_1ST - SECOND)
    assert monthly_cases(deployed) == []
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    assert case.instance.business_key == "YB-2026-11-FK"
    assert {t.element_id: t.department for t in case.open_tasks()} == {
        f"Task_review_{code}": code for code in REVIEWERS}


def test_frequent_problems_are_reviewed_by_four_departments_and_the_report_is_sent(deployed, staff, travel, clock):
    # Six times in November (more than 5), once more on 1 December 08:00 (December: not counted).
    seed_feedback(deployed, [datetime(2026, 11, 2 + n, 10, tzinfo=BEIJING) for n in range(6)])
    seed_feedback(deployed, [datetime(2026, 11, 1, tzinfo=BEIJING) - SECOND, datetime(2026, 12, 1, 8, tzinfo=BEIJING)],
                  problem_key="X1:屏幕闪烁")
    # A November case whose 1-working-day record limit runs late: after-sales' attainment.
    deployed.start_instance("feedback_improvement", {
        "channel": "phone", "customer": "星海科技", "contact": "王先生 138", "product_model": "X2",
        "summary": "无法开机"}, "svc.huang")
    travel(DECEMBER_1ST)

    [case] = monthly_cases(deployed)
    content = report_of(deployed, case).content
    assert (content["period"]["label"], content["total"]) == ("2026-11", 7)
    assert content["frequent_problems"] == [{"problem_key": "X1:充电口松动", "count": 6, "solution": None}]
    assert content["by_class"] == {"general": 5, "important": 1, "unclassified": 1}  # the new case: not yet
    assert content["second_handling"] == 1 and content["satisfaction"]["average"] == 4.67
    expected = attainment.sla_attainment(deployed.db, datetime(2026, 11, 1, tzinfo=BEIJING), DECEMBER_1ST,
                                      process_key="feedback_improvement", by_source=True)
    # The November case's record-form limit ran out at after-sales (nobody worked it).
    assert [(a["department"], a["source"], a["met"], a["breached"]) for a in content["sla_attainment"]] == \
        [(a.who, a.source, a.met, a.breached) for a in expected] == [("after_sales", "procedure", 0, 1)]

    with pytest.raises(HeadsOnly, match="head of department 'after_sales'"):  # a member may not review
        case.complete("Task_review_after_sales", "svc.huang", department_opinion="成员意见")
    assert case.task("Task_review_after_sales").state == "open"
    for code, user in REVIEWERS.items():
        task = case.task(f"Task_review_{code}")
        assert "频发问题：X1:充电口松动（6次）" in task.data["report_summary"]
        case.complete(f"Task_review_{code}", user, department_opinion=f"{code} 意见",
                      department_actions=f"{code} 措施" if code == "development" else "")
        if code != "product_management":
            assert "Task_conclude" not in case.open_elements()
    opinions = report_of(deployed, case).department_opinions
    assert [(o["department"], o["by"], o["opinion"]) for o in opinions] == [
        (code, user, f"{code} 意见") for code, user in REVIEWERS.items()]

    assert case.task("Task_conclude").department == "product_management"  # the product manager compiles it
    case.complete("Task_conclude", "pm.han", review_conclusions="充电口松动列为本月重点问题",
                  plan_effectiveness="轴承更换方案有效，本月未复发", next_quarter_focus="充电口结构加强",
                  improvement_decisions="开发部12月完成结构加强", reviewers="质量、开发、售后、产品经理")
    assert case.instance.status == "completed"
    report = report_of(deployed, case)
    assert (report.status, report.finalised_by, report.finalised_at) == ("finalised", "pm.han", clock.now())
    assert (report.content["plan_effectiveness"], report.content["next_quarter_focus"]) == (
        "轴承更换方案有效，本月未复发", "充电口结构加强")
    rows = readable_rows(deployed, case)
    assert ("频发问题（每月>5次）", "X1:充电口松动", 6, "", "知识库无记录") in rows
    assert ("原因类别排列图", "1. 零部件/材料（含批次问题）", 6, "100.0%", "累计 100.0%，关键少数") in rows
    assert ("部门评审意见", "开发部", "dev.sun", "", "development 意见\n改进措施：development 措施") in rows
    assert ("部门时限达成", "售后服务部（程序规定时限）", "0/1", "0.0%", "超时 1 次") in rows
    assert ("评审", "下一季度产品优化重点", None, "", "充电口结构加强") in rows
    with deployed.db.sessions() as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == case.id)).all()
    assert {m.recipient for m in sent} == {"head:quality", "head:development", "head:after_sales",
                                           "head:product_management"}
    assert all(m.subject.startswith("月度反馈分析报告 YB-2026-11-FK") for m in sent)
    assert all("下一季度产品优化重点：充电口结构加强" in m.body for m in sent)


def test_a_month_without_feedback_still_gets_a_report_saying_so(deployed, travel):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    assert report_of(deployed, case).content["total"] == 0
    assert "本月无客户反馈" in case.task("Task_review_quality").data["report_summary"]
    rows = readable_rows(deployed, case)
    assert ("概况", "客户反馈（条）", 0, "", "本月无客户反馈") in rows
    assert ("频发问题（每月>5次）", "无", None, "", None) in rows


@pytest.mark.parametrize("department", ["quality", "product_management"])
def test_each_department_has_three_working_days_to_review(deployed, staff, travel, department):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    timer = f"Timer_review_{department}"
    limit = case.limit(timer)
    assert (limit.due_at, limit.department) == (datetime(2026, 12, 4, 9, 0, tzinfo=BEIJING), department)
    travel(limit.due_at - SECOND)
    assert case.limit(timer).status == "running"
    assert told_of_miss(deployed, case, limit.name) == set()
    travel(limit.due_at + SECOND)
    assert case.limit(timer).status == "breached"
    assert limit.name.startswith("公司规定：")  # the procedure gives the review no limit
    assert told_of_miss(deployed, case, limit.name) == {f"department:{department}"}
    # Late is recorded and escalated; the department still gives its opinion.
    case.complete(f"Task_review_{department}", REVIEWERS[department], department_opinion="迟交意见")
    assert f"Task_review_{department}" not in case.open_elements()


def test_the_report_is_concluded_within_two_working_days_of_the_last_opinion(deployed, staff, travel):
    travel(DECEMBER_1ST)
    [case] = monthly_cases(deployed)
    for code, user in REVIEWERS.items():
        case.complete(f"Task_review_{code}", user, department_opinion="无意见")
    assert case.limit("Timer_review_quality").status == "met"
    limit = case.limit("Timer_conclude")
    assert (limit.due_at, limit.department) == (datetime(2026, 12, 3, 9, 0, tzinfo=BEIJING), "product_management")
    assert case.task("Task_conclude").department == "product_management"
    travel(limit.due_at - SECOND)
    assert case.limit("Timer_conclude").status == "running"
    travel(limit.due_at + SECOND)
    assert case.limit("Timer_conclude").status == "breached"
    assert told_of_miss(deployed, case, limit.name) == {"department:product_management"}
    case.complete("Task_conclude", "pm.deng", review_conclusions="本月无高频问题", plan_effectiveness="无新方案",
                  next_quarter_focus="维持", improvement_decisions="无", reviewers="产品经理邓")
    assert case.instance.status == "completed"
