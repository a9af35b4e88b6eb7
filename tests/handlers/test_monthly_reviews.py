"""What the monthly review reports count, from seeded records: the previous month in Beijing time, counts
by category, the Pareto order with cumulative shares, batch problems with their improvement status,
frequent problems, SLA attainment by department, and how the report reads on the case page."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.handler_api import HandlerContext
from engine.notifications.outbox import OutboxWriter
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import OutboxMessage
from engine.timing.attainment import Attainment
from handlers import build_registry
from handlers.feedback import FeedbackForm
from handlers.monthly_review_contents import (
    feedback_analysis_content,
    market_quality_content,
    pareto,
    previous_month,
)
from handlers.monthly_review_rows import KINDS
from handlers.monthly_reviews import (
    MonthlyReviewReport,
    analyse_feedback,
    finalise_report,
    monthly_review_record,
    record_department_opinion,
    summarise_market_quality,
)
from handlers.product_improvement import CustomerFeedback, KnowledgeEntry
from handlers.rectification import RectificationReport
from tests.conftest import BEIJING, PROCESSES

NOVEMBER = (datetime(2026, 11, 1, tzinfo=BEIJING), datetime(2026, 12, 1, tzinfo=BEIJING))


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.mark.parametrize(("scheduled_for", "month"), [
    (beijing(2026, 12, 1, 9), (beijing(2026, 11, 1), beijing(2026, 12, 1))),
    (beijing(2027, 1, 1, 9), (beijing(2026, 12, 1), beijing(2027, 1, 1))),
    (beijing(2027, 3, 1, 9), (beijing(2027, 2, 1), beijing(2027, 3, 1))),
    # 00:30 on 1 December in Beijing is still 30 November in UTC: the month is Beijing's.
    (datetime(2026, 11, 30, 16, 30, tzinfo=UTC), (beijing(2026, 11, 1), beijing(2026, 12, 1))),
])
def test_the_period_is_the_previous_calendar_month_in_beijing_time(scheduled_for, month):
    assert previous_month(scheduled_for) == month


def test_a_time_without_zone_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        previous_month(datetime(2026, 12, 1, 9))


def test_pareto_sorts_causes_and_marks_the_vital_few_up_to_80_percent():
    items = pareto({"precision": 1, "key": 3, "appearance": 1})
    assert [(i["cause"], i["count"], i["share"], i["cumulative_share"], i["vital"]) for i in items] == [
        ("key", 3, 0.6, 0.6, True), ("appearance", 1, 0.2, 0.8, True), ("precision", 1, 0.2, 1.0, False)]
    assert pareto({}) == []


def add_form(session, form_no: str, filed_at: datetime, characteristic: str, shipped: int, nonconforming: int,
             consequence: str, category: str | None, recurring: bool = False, closed: bool = False) -> None:
    session.add(FeedbackForm(
        form_no=form_no, instance_id=1, customer=f"客户{form_no[-1]}", product_name="减速电机", spec_model="JZ-200",
        batch_no=f"B{form_no[-2:]}", quantity_shipped=shipped, quantity_nonconforming=nonconforming,
        recurring=recurring, characteristic=characteristic, consequence=consequence, problem_description="异响",
        suggested_category=category or "general", category=category, filed_by="sales.li", filed_at=filed_at,
        closed_at=filed_at if closed else None))


@pytest.fixture
def market_quality(database):
    with database.sessions.begin() as session:
        add_form(session, "QF-2026-0001", beijing(2026, 11, 1), "key", 1000, 260, "batch_return", "important",
                 closed=True)
        add_form(session, "QF-2026-0002", beijing(2026, 11, 30, 23, 59, 59), "appearance", 1000, 50, "complaint",
                 "general")
        add_form(session, "QF-2026-0003", beijing(2026, 11, 10), "key", 1000, 10, "claim", "important",
                 recurring=True)
        add_form(session, "QF-2026-0004", beijing(2026, 11, 11), "precision", 500, 5, "rectification_reply", None)
        add_form(session, "QF-2026-0005", beijing(2026, 11, 12), "key", 1000, 200, "corrective_action", "important")
        add_form(session, "QF-2026-0006", beijing(2026, 10, 31, 23, 59, 59), "key", 10, 10, "claim", "important")
        add_form(session, "QF-2026-0007", beijing(2026, 12, 1), "key", 10, 10, "claim", "important")
        session.add(RectificationReport(report_no="ZG-2026-0001", instance_id=1, business_key="QF-2026-0003",
                                        content="更换轴承", issued_by="qa.wang", issued_at=beijing(2026, 11, 12)))
    return database


def test_market_quality_summary_counts_the_month_and_lists_batch_problems(market_quality):
    attainment = [{"who": "quality", "met": 3, "breached": 1}, {"who": "sales", "met": 2, "breached": 0}]
    with market_quality.sessions() as session:
        content = market_quality_content(session, *NOVEMBER, 0.2, attainment)
    # 1 November 00:00 and 30 November 23:59:59 are in; 31 October 23:59:59 and 1 December 00:00 are out.
    assert content["total"] == 5
    assert content["by_category"] == {"important": 3, "general": 2}
    assert content["by_consequence"] == {"batch_return": 1, "complaint": 1, "claim": 1, "rectification_reply": 1,
                                         "corrective_action": 1}
    assert [(p["cause"], p["count"], p["cumulative_share"], p["vital"]) for p in content["pareto"]] == [
        ("key", 3, 0.6, True), ("appearance", 1, 0.8, True), ("precision", 1, 1.0, False)]
    # ≥ 20 % nonconforming (exactly 20 % counts) or a batch return or claim; with the improvement status.
    assert [(b["form_no"], b["reasons"], b["improvement_status"]) for b in content["batch_problems"]] == [
        ("QF-2026-0001", ["nonconforming_share", "batch_return"], "closed"),
        ("QF-2026-0003", ["claim"], "report_issued"),
        ("QF-2026-0005", ["nonconforming_share"], "open")]
    assert content["batch_problems"][0]["nonconforming_share"] == 0.26
    assert [p["form_no"] for p in content["serious_problems"]] == ["QF-2026-0001", "QF-2026-0003", "QF-2026-0005"]
    assert [(c["form_no"], c["consequence"]) for c in content["complaints_and_claims"]] == [
        ("QF-2026-0003", "claim"), ("QF-2026-0002", "complaint")]  # in the order they were filed
    assert [(a["department"], a["name_zh"], a["met"], a["breached"], a["rate"]) for a in content["sla_attainment"]] \
        == [("quality", "质量部", 3, 1, 0.75), ("sales", "销售部", 2, 0, 1.0)]


def add_feedback(session, number: int, received_at: datetime, problem_key: str | None, cause: str | None,
                 feedback_class: str = "general", satisfaction: int | None = None, rounds: int = 1,
                 closed: bool = False) -> None:
    session.add(CustomerFeedback(
        feedback_no=f"KF-2026-{number:04d}", instance_id=1, channel="phone", customer=f"客户{number}",
        product_model="X1", batch="B01", received_at=received_at, feedback_class=feedback_class,
        cause_category=cause, problem_key=problem_key, satisfaction=satisfaction, handling_rounds=rounds,
        closed_at=received_at if closed else None))


@pytest.fixture
def feedback_month(database):
    with database.sessions.begin() as session:
        for n in range(6):  # six times in November: more than 5, a frequent problem
            add_feedback(session, n + 1, beijing(2026, 11, 2 + n), "充电口松动", "supplier",
                         satisfaction=5 if n else 3, rounds=2 if n == 0 else 1, closed=True)
        for n in range(5):  # five times: not more than 5
            add_feedback(session, n + 11, beijing(2026, 11, 10 + n), "屏幕闪烁", "design" if n < 2 else "software",
                         feedback_class="important" if n == 0 else "general")
        add_feedback(session, 20, beijing(2026, 11, 20), None, None, feedback_class="urgent")
        add_feedback(session, 21, beijing(2026, 10, 31, 23, 59, 59), "充电口松动", "supplier")
        add_feedback(session, 22, beijing(2026, 12, 1), "充电口松动", "supplier")
        session.add(KnowledgeEntry(key="充电口松动", problem="充电口松动", cause="供应商插座公差",
                                   solution="更换插座供应商", source_feedback_no="KF-2026-0001",
                                   created_at=beijing(2026, 11, 3)))
    return database


def test_feedback_analysis_finds_problems_more_than_five_times_a_month(feedback_month):
    with feedback_month.sessions() as session:
        content = feedback_analysis_content(session, *NOVEMBER, 5, [{"who": "after_sales", "met": 4, "breached": 0}])
    assert content["total"] == 12
    assert content["by_class"] == {"general": 10, "important": 1, "urgent": 1}
    assert content["frequent_problems"] == [{"problem_key": "充电口松动", "count": 6, "solution": "更换插座供应商"}]
    assert [(p["cause"], p["count"], p["cumulative_share"], p["vital"]) for p in content["pareto"]] == [
        ("supplier", 6, 0.5455, True), ("software", 3, 0.8182, True), ("design", 2, 1.0, False)]
    assert content["without_cause"] == 1
    assert content["satisfaction"] == {"rated": 6, "average": 4.67, "below_4": 1}
    assert content["second_handling"] == 1 and content["closed"] == 6
    assert [(p["feedback_no"], p["improvement_status"]) for p in content["serious_problems"]] == [
        ("KF-2026-0011", "open"), ("KF-2026-0020", "open")]
    assert content["sla_attainment"][0]["name_zh"] == "售后服务部"


def section_of(database, kind: str, content: dict, **review) -> list[tuple]:
    # The report names categories and causes as the counted process's diagram does: deploy it.
    WorkflowEngine(database, build_registry()).deploy(
        (PROCESSES / f"{KINDS[kind]['source_process']}.bpmn").read_bytes(), "process.owner")
    report_no = "YB-2026-11-SC" if kind == "market_quality" else "YB-2026-11-FK"
    with database.sessions.begin() as session:
        session.add(MonthlyReviewReport(
            report_no=report_no, instance_id=7, kind=kind, period_start=NOVEMBER[0], period_end=NOVEMBER[1],
            generated_at=beijing(2026, 12, 1, 9), content=content, status="draft", **review))
    with database.sessions() as session:
        section = monthly_review_record(session, 7)
        assert monthly_review_record(session, 8) is None
    assert section.title == {"market_quality": "市场质量信息月度汇总 YB-2026-11-SC",
                             "feedback_analysis": "月度反馈分析报告 YB-2026-11-FK"}[kind]
    return [tuple(r[key] for key, _, _ in section.columns) for r in section.rows]


def zh(value):
    return value[0] if isinstance(value, tuple) else value


def test_the_summary_reads_one_row_per_figure_and_pareto_item(market_quality):
    with market_quality.sessions() as session:
        content = market_quality_content(session, *NOVEMBER, 0.2, [{"who": "quality", "met": 3, "breached": 1}])
    content["period"] = {"first_day": "2026-11-01", "last_day": "2026-11-30", "label": "2026-11"}
    rows = section_of(market_quality, "market_quality", content, clerk_comments="本月批量问题集中在轴承",
                      review_conclusions="轴承供应商列入重点监控")
    readable = [tuple(zh(v) for v in r) for r in rows]
    assert readable[0] == ("概况", "统计期间", "2026-11-01 至 2026-11-30", "", None)
    assert readable[1][:3] == ("概况", "市场质量信息（份）", 5)
    assert ("信息类别", "重要信息", 3, "60.0%", None) in readable
    pareto_rows = [r for r in readable if r[0] == "不合格特性排列图"]
    assert pareto_rows == [("不合格特性排列图", "1. 关键特性", 3, "60.0%", "累计 60.0%，关键少数"),
                           ("不合格特性排列图", "2. 外观", 1, "20.0%", "累计 80.0%，关键少数"),
                           ("不合格特性排列图", "3. 精度", 1, "20.0%", "累计 100.0%")]
    batch = [r for r in readable if r[0] == "批量问题"]
    assert batch[0] == ("批量问题", "QF-2026-0001 客户1 JZ-200 批次 B01", "260/1000", "26.0%",
                        "不合格比例达到重要信息界限、批量退货；已关闭")
    assert ("部门时限达成", "质量部", "3/4", "75.0%", "超时 1 次") in readable
    assert ("销售部内勤汇总", "汇总意见", None, "", "本月批量问题集中在轴承") in readable
    assert readable[-1] == ("评审", "评审结论", None, "", "轴承供应商列入重点监控")
    # English is carried alongside for the English UI.
    assert rows[0][1] == ("统计期间", "Period")


def test_a_month_without_data_still_reads_as_a_report_saying_so(database):
    with database.sessions() as session:
        content = market_quality_content(session, *NOVEMBER, 0.2, [])
    assert content["total"] == 0 and content["pareto"] == [] and content["batch_problems"] == []
    content["period"] = {"first_day": "2026-11-01", "last_day": "2026-11-30", "label": "2026-11"}
    readable = [tuple(zh(v) for v in r) for r in section_of(database, "market_quality", content)]
    assert readable[1] == ("概况", "市场质量信息（份）", 0, "", "本月无市场质量信息反馈")
    assert {r[0] for r in readable if r[1] == "无"} == {"不合格特性排列图", "批量问题", "重大问题", "投诉与索赔",
                                                       "部门时限达成"}


def test_the_feedback_analysis_reads_frequent_problems_and_each_department_opinion(feedback_month):
    with feedback_month.sessions() as session:
        content = feedback_analysis_content(session, *NOVEMBER, 5, [])
    content["period"] = {"first_day": "2026-11-01", "last_day": "2026-11-30", "label": "2026-11"}
    opinions = [{"department": "development", "name_zh": "开发部", "name_en": "Development", "by": "dev.sun",
                 "at": "2026-12-02T09:00:00+08:00", "opinion": "充电口结构需加强", "actions": "12月完成设计变更"}]
    readable = [tuple(zh(v) for v in r) for r in section_of(feedback_month, "feedback_analysis", content,
                                                            department_opinions=opinions)]
    assert ("频发问题（每月>5次）", "充电口松动", 6, "", "知识库：更换插座供应商") in readable
    assert [r for r in readable if r[0] == "原因类别排列图"] == [
        ("原因类别排列图", "1. 供应商/供应链", 6, "54.5%", "累计 54.5%，关键少数"),
        ("原因类别排列图", "2. 软件漏洞", 3, "27.3%", "累计 81.8%，关键少数"),
        ("原因类别排列图", "3. 设计缺陷", 2, "18.2%", "累计 100.0%")]
    assert ("概况", "满意度平均分（5分制）", 4.67, "", "评分 6 条，低于4分 1 条") in readable
    assert ("概况", "二次处理", 1, "", None) in readable
    assert ("部门评审意见", "开发部", "dev.sun", "", "充电口结构需加强\n改进措施：12月完成设计变更") in readable


def run(session, function, data=None, instance_id=7, actor="system", **properties):
    asked = []

    def attainment(start, end, by, process_key, by_source=False):
        asked.append((start, end, by, process_key, by_source))
        return [Attainment("quality", 3, 1, "procedure")]
    ctx = HandlerContext(topic="", element_id="Task", element_name="月度汇总", process_key="market_quality_monthly",
                        instance_id=instance_id, business_key=None, actor=actor, data=data or {},
                        properties=properties, session=session, now=beijing(2026, 12, 1, 9),
                        outbox=OutboxWriter(session, beijing(2026, 12, 1, 9), None, f"test:{instance_id}:{actor}"),
                        _open_tasks=lambda: [], _audit=lambda kind, detail: None, _attainment=attainment)
    ctx.asked = asked
    return ctx, function(ctx)


def test_the_report_is_numbered_by_month_and_a_rerun_gets_the_next_edition(market_quality):
    with market_quality.sessions.begin() as session:
        ctx, result = run(session, summarise_market_quality, {"scheduled_for": "2026-12-01T09:00:00+08:00"},
                          important_share="0.2", sla_process="quality_feedback")
        # Split by source: the report never sums the procedure's limits with company rules.
        assert ctx.asked == [(*NOVEMBER, "department", "quality_feedback", True)]
        assert ctx.business_key == result["report_no"] == "YB-2026-11-SC"
        assert "市场质量信息共 5 份" in result["report_summary"]
        second, _ = run(session, summarise_market_quality, {"scheduled_for": "2026-12-01T09:00:00+08:00"},
                        instance_id=8, important_share="0.2", sla_process="quality_feedback")
        assert second.business_key == "YB-2026-11-SC-2"
        feedback, _ = run(session, analyse_feedback, {"scheduled_for": "2026-12-01T09:00:00+08:00"}, instance_id=9,
                          frequent_threshold="5", sla_process="feedback_improvement")
        assert feedback.business_key == "YB-2026-11-FK"


@pytest.mark.parametrize(("data", "properties", "message"), [
    ({}, {"important_share": "0.2", "sla_process": "quality_feedback"}, "scheduled_for is missing"),
    ({"scheduled_for": "2026-12-01T09:00:00"}, {"important_share": "0.2", "sla_process": "quality_feedback"},
     "time zone"),
    ({"scheduled_for": "2026-12-01T09:00:00+08:00"}, {"sla_process": "quality_feedback"}, "important_share"),
    ({"scheduled_for": "2026-12-01T09:00:00+08:00"}, {"important_share": "0.2"}, "sla_process"),
])
def test_a_summary_without_its_settings_is_refused_and_stores_nothing(database, data, properties, message):
    with database.sessions() as session:
        with pytest.raises(ValueError, match=message):
            run(session, summarise_market_quality, data, **properties)
        session.flush()
        assert session.scalars(select(MonthlyReviewReport)).all() == []


def test_opinions_and_conclusions_complete_the_report_and_it_is_sent(database):
    with database.sessions.begin() as session:
        run(session, analyse_feedback, {"scheduled_for": "2026-12-01T09:00:00+08:00"},
            frequent_threshold="5", sla_process="feedback_improvement")
        run(session, record_department_opinion, {"department_opinion": "加强来料检验", "department_actions": ""},
            actor="qa.wang", department="quality")
        run(session, record_department_opinion, {"department_opinion": "无"}, actor="pm.han",
            department="product_management")
        run(session, finalise_report, {"review_conclusions": "本月无高频问题", "improvement_decisions": "无",
                                       "reviewers": "质量部陈"}, actor="qa.chen", send_to="head:quality,head:development")
    with database.sessions() as session:
        report = session.scalars(select(MonthlyReviewReport)).one()
        sent = session.scalars(select(OutboxMessage)).all()
    assert [(o["department"], o["name_zh"], o["by"], o["actions"]) for o in report.department_opinions] == [
        ("quality", "质量部", "qa.wang", None), ("product_management", "产品经理", "pm.han", None)]
    assert (report.status, report.finalised_by, report.review_conclusions) == ("finalised", "qa.chen", "本月无高频问题")
    assert [m.recipient for m in sent] == ["head:quality", "head:development"]
    assert sent[0].subject == "月度反馈分析报告 YB-2026-11-FK（2026-11）"
    assert "本月无客户反馈" in sent[0].body and "评审结论：本月无高频问题" in sent[0].body


def test_a_process_owner_renaming_an_option_renames_it_in_the_report(market_quality):
    """Categories and causes are named by the counted diagram's options, not by a copy in Python."""
    diagram = (PROCESSES / "quality_feedback.bpmn").read_bytes()
    renamed = diagram.replace('id="key" name="关键特性"'.encode(), 'id="key" name="关键特性（KC）"'.encode())
    assert renamed != diagram
    WorkflowEngine(market_quality, build_registry()).deploy(renamed, "process.owner")
    with market_quality.sessions() as session:
        content = market_quality_content(session, *NOVEMBER, 0.2, [])
    content["period"] = {"first_day": "2026-11-01", "last_day": "2026-11-30", "label": "2026-11"}
    with market_quality.sessions.begin() as session:
        session.add(MonthlyReviewReport(
            report_no="YB-2026-11-SC", instance_id=7, kind="market_quality", period_start=NOVEMBER[0],
            period_end=NOVEMBER[1], generated_at=beijing(2026, 12, 1, 9), content=content, status="draft"))
    with market_quality.sessions() as session:
        section = monthly_review_record(session, 7)
    assert ("不合格特性排列图", "1. 关键特性（KC）") in [(r["review_section"][0], r["review_item"][0])
                                                   for r in section.rows]
