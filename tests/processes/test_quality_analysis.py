"""P3 产品售后质量问题分析及改善 (seed 000, last part): the monthly start for the previous month, the pasted
figures (and a malformed paste refused with nothing stored), the service-system count, verification of
doubtful records, abnormal-fluctuation detection against the trailing months with the diagram's
thresholds, After-sales' investigation reported to Quality (5.1.3), the data Quality and Engineering ask
After-sales for (5.1.4), the reports down to Development with Engineering following the fix up, the
department at fault taking its remedial measures, and every limit 1 s before and 1 s after its due time
counted from the moment it starts, with who holds the step and who is told of the miss."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import select

from engine.records import queries
from engine.storage.models import OutboxMessage
from handlers.quality_analysis import QualityAnalysisMonth
from handlers.quality_figures import QualityAnomaly, QualityFigure
from handlers.service_desk import ServiceCase
from tests.conftest import BEIJING, PROCESSES
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
FIRST_RUN = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)  # the timer's first occurrence, analysing November
SPECIALIST, QUALITY, ENGINEER, DEVELOPER = "svc.huang", "qa.wang", "eng.lu", "dev.liu"
DIAGRAM = (PROCESSES / "quality_analysis.bpmn").read_bytes()

# A month of hotline and repair-station figures as an Excel export pastes them.
PASTE = "\n".join([
    "来源,类别,型号,故障,数量",
    "维修站,整机维修,JZ-200,电机烧毁,12",
    "400/800热线,热线数据,JZ-200,异响,6",
    "维修站,板级维修,KB-10,主板短路,6",
    "维修站\t开箱不良\tKB-10\t外壳破损\t4",
])
# Their three trailing months: a spike (4/5/6 → 12), a steady figure (5/6/5 → 6), a small one (1/1/1 → 4);
# 主板短路 appears for the first time.
HISTORY = {
    "2026-08": [("repair_station", "unit_repair", "JZ-200", "电机烧毁", 4), ("hotline", "hotline_data", "JZ-200", "异响", 5),
                ("repair_station", "obf", "KB-10", "外壳破损", 1)],
    "2026-09": [("repair_station", "unit_repair", "JZ-200", "电机烧毁", 5), ("hotline", "hotline_data", "JZ-200", "异响", 6),
                ("repair_station", "obf", "KB-10", "外壳破损", 1)],
    "2026-10": [("repair_station", "unit_repair", "JZ-200", "电机烧毁", 6), ("hotline", "hotline_data", "JZ-200", "异响", 5),
                ("repair_station", "obf", "KB-10", "外壳破损", 1)],
}


@pytest.fixture
def p3(deployed):
    """The engine with every diagram deployed (on Monday 16 November): P3's schedule waits for 1 December."""
    return deployed


@pytest.fixture
def start_month(p3, travel):
    """The worker reaches 09:00 on the 1st and starts the month's case, as production does."""
    def start(moment: datetime = FIRST_RUN) -> Case:
        travel(moment)
        instances = queries.list_instances(p3.db, "quality_analysis")
        return Case(p3, max(i.id for i in instances))
    return start


def seed(engine, history: dict[str, list[tuple]]) -> None:
    with engine.db.sessions.begin() as session:
        for month, rows in history.items():
            for source, category, model, fault, count in rows:
                session.add(QualityFigure(month=month, source=source, category=category, model=model, fault=fault,
                                          count=count, reported_count=count, status="accepted", entered_by="svc.lin",
                                          entered_at=FIRST_RUN - timedelta(days=40)))


def records(engine, model, *where):
    with engine.db.sessions() as session:
        rows = session.scalars(select(model).where(*where).order_by(model.id)).all()
        session.expunge_all()
        return rows


def month_record(engine) -> QualityAnalysisMonth:
    [record] = records(engine, QualityAnalysisMonth)
    return record


def outbox(engine) -> list[OutboxMessage]:
    return records(engine, OutboxMessage)




def collect(case: Case, paste: str = PASTE) -> None:
    case.complete("Task_collect", SPECIALIST, pasted_figures=paste, collection_note="11月热线及12个维修站数据")


def report(case: Case) -> None:
    case.complete("Task_initial_report", QUALITY, key_problems="JZ-200 电机烧毁增多",
                  initial_report="11月整机维修以电机烧毁为主，建议工程部分析绕组温升")


def engineering(case: Case, design_cause: bool) -> None:
    case.complete("Task_engineering_analysis", ENGINEER, comprehensive_analysis="绕组漆包线耐温等级不足",
                  handling_proposal="更换H级漆包线；在用产品巡检", design_cause=design_cause,
                  design_issue="绕组绝缘设计裕量不足" if design_cause else None)


def investigate(case: Case) -> None:
    case.complete("Task_investigate", SPECIALIST, investigation_findings="12台中9台为同一批次B2610",
                  suspected_cause="绕组漆包线批次问题", immediate_actions="冻结B2610批次库存")


# -- the monthly run and the data ---------------------------------------------------------------------
def cases(engine) -> list[Case]:
    return [Case(engine, i.id) for i in sorted(queries.list_instances(engine.db, "quality_analysis"), key=lambda i: i.id)]


def test_each_month_starts_at_0900_on_the_1st_and_analyses_the_month_before(p3, travel):
    travel(FIRST_RUN - SECOND)
    assert cases(p3) == []
    travel(FIRST_RUN)  # due at 09:00 exactly
    [november] = cases(p3)
    assert november.instance.business_key == "QA-2026-11"
    assert november.events("instance_started")[0].detail["data"] == {"scheduled_for": "2026-12-01T01:00:00+00:00"}
    record = month_record(p3)
    assert (record.month, record.status, record.scheduled_for) == ("2026-11", "collecting", FIRST_RUN)
    task = november.task("Task_collect")
    assert task.department == "after_sales" and task.created_at == FIRST_RUN
    assert task.data["month_label"] == "2026年11月"
    assert task.data["service_system_summary"] == "本月服务系统无已归档记录"

    january = datetime(2027, 1, 1, 9, 0, tzinfo=BEIJING)  # a public holiday: the schedule still runs
    travel(january - SECOND)
    assert len(cases(p3)) == 1
    travel(january)
    december = cases(p3)[1]
    assert december.instance.business_key == "QA-2026-12"
    assert [r.month for r in records(p3, QualityAnalysisMonth)] == ["2026-11", "2026-12"]
    assert december.task("Task_collect").data["month_label"] == "2026年12月"


def test_a_run_now_for_an_analysed_month_stops_with_a_clear_incident(p3, clock, start_month):
    first = start_month()
    clock.advance(timedelta(hours=2))
    second = Case(p3, p3.start_scheduled_now("quality_analysis", "admin"))  # an administrator's extra run
    [incident] = queries.list_incidents(p3.db)
    assert (incident.instance_id, incident.element_id) == (second.id, "Task_open_month")
    assert incident.error.startswith(f"ValueError: 2026-11 already has a quality analysis (case {first.id})")
    assert month_record(p3).instance_id == first.id and second.open_tasks() == []


def test_no_history_month_runs_straight_to_the_closed_analysis(p3, clock, start_month):
    case = start_month()
    collect(case)
    assert case.open_elements() == {"Task_initial_report"}  # no doubtful records, no baseline to compare with
    task = case.task("Task_initial_report")
    assert task.department == "quality" and task.data["anomaly_list"] == "无异常波动"
    assert month_record(p3).status == "reporting"
    assert "前3个月无历史数据" in task.data["detection_basis"]
    assert task.data["data_summary"].splitlines()[:3] == [
        "2026年11月售后质量数据（已核实）共28件",
        "按类别：板级维修 6件；整机维修 12件；开箱不良 4件；热线数据 6件",
        "按来源：服务系统 0件；400/800热线 6件；维修站 22件；客户反馈 0件"]
    report(case)
    task = case.task("Task_engineering_analysis")
    assert task.department == "engineering" and task.data["initial_report"].startswith("11月整机维修")
    engineering(case, design_cause=False)
    assert case.instance.status == "completed"

    record = month_record(p3)
    assert (record.status, record.figure_count, record.anomaly_count, record.design_cause) == ("closed", 28, 0, False)
    assert record.reported_by == QUALITY and record.handling_proposal.startswith("更换H级漆包线")
    figures = records(p3, QualityFigure)
    assert [(f.source, f.category, f.model, f.fault, f.count, f.status) for f in figures] == [
        ("repair_station", "unit_repair", "JZ-200", "电机烧毁", 12, "accepted"),
        ("hotline", "hotline_data", "JZ-200", "异响", 6, "accepted"),
        ("repair_station", "board_repair", "KB-10", "主板短路", 6, "accepted"),
        ("repair_station", "obf", "KB-10", "外壳破损", 4, "accepted")]
    assert records(p3, QualityAnomaly) == []
    closing = [m for m in outbox(p3) if "售后质量分析已完成" in m.subject]
    assert {m.recipient for m in closing} == {"department:after_sales", "department:quality", "department:engineering"}
    titles = [s.title for s in p3.case_records(case.id)]
    assert titles == ["月度质量分析", "月度质量数据"]
    assert all(r.status == "met" for r in queries.sla_records(p3.db, case.id))


def test_a_malformed_paste_is_sent_back_with_every_error_and_nothing_stored(p3, start_month):
    case = start_month()
    collect(case, "\n".join(["维修站,整机维修,JZ-200,电机烧毁,十二", "热线,热线数据,JZ-200,异响",
                             "门店,整机维修,JZ-200,异响,3", "维修站,整机维修,JZ-200,轴承磨损,2"]))
    task = case.task("Task_collect")  # back with the errors, the paste kept for correcting
    assert task.data["data_errors"].splitlines() == [
        "第1行：数量“十二”应为不小于0的整数",
        "第2行：应有5项（来源,类别,型号,故障,数量），实际4项：热线,热线数据,JZ-200,异响",
        "第3行：来源“门店”应为服务系统/400/800热线/维修站/客户反馈"]
    assert task.data["pasted_figures"].startswith("维修站,整机维修,JZ-200,电机烧毁,十二")
    assert records(p3, QualityFigure) == [] and month_record(p3).status == "collecting"
    [sent_back] = case.events("bpmn_error")  # the audit trail shows the check that sent the task back
    assert (sent_back.detail["code"], sent_back.detail["errors"][0]) == ("QUALITY_DATA_INVALID",
                                                                          "第1行：数量“十二”应为不小于0的整数")

    collect(case)
    assert case.open_elements() == {"Task_initial_report"}
    assert case.task("Task_initial_report").data["data_errors"] == ""
    assert len(records(p3, QualityFigure)) == 4


def test_archived_service_cases_of_the_month_are_counted_as_service_system_figures(p3, start_month):
    def service_case(no: int, product: str, request_type: str, archived: datetime) -> ServiceCase:
        return ServiceCase(case_no=f"SR-2026-{no:04d}", instance_id=1000 + no, channel="hotline", customer="客户",
                           customer_type="enterprise", contact="-", product_service=product, content="-",
                           received_at=archived - timedelta(hours=2), received_by=SPECIALIST, request_type=request_type,
                           urgency="general", archived_at=archived, departments=[], people=[], measures=[],
                           time_points=[], demands=[], restarts=0)
    november = datetime(2026, 11, 10, 10, 0, tzinfo=BEIJING)
    with p3.db.sessions.begin() as session:
        session.add_all([
            service_case(1, "JZ-200", "complaint", november), service_case(2, "JZ-200", "complaint", november),
            service_case(3, "KB-10", "complaint", datetime(2026, 11, 1, 0, 0, tzinfo=BEIJING)),  # first minute
            service_case(4, "JZ-200", "consultation", november),  # not a complaint: the diagram counts complaints
            service_case(5, "JZ-200", "complaint", datetime(2026, 10, 31, 23, 59, tzinfo=BEIJING)),  # October
            service_case(6, "JZ-200", "complaint", datetime(2026, 12, 1, 0, 0, tzinfo=BEIJING)),  # December
        ])
    case = start_month()
    assert case.task("Task_collect").data["service_system_summary"] == "JZ-200 投诉 2\nKB-10 投诉 1"
    assert month_record(p3).service_records == 3
    figures = records(p3, QualityFigure, QualityFigure.source == "service_system")
    assert [(f.category, f.model, f.fault, f.count) for f in figures] == [
        ("hotline_data", "JZ-200", "投诉", 2), ("hotline_data", "KB-10", "投诉", 1)]
    collect(case)
    assert "按来源：服务系统 3件；400/800热线 6件；维修站 22件；客户反馈 0件" in case.task("Task_initial_report").data["data_summary"]


def test_doubtful_records_are_verified_corrected_or_dropped(p3, start_month):
    seed(p3, {"2026-10": [("repair_station", "unit_repair", "JZ-200", "电机烧毁", 3)]})
    case = start_month()
    collect(case, "\n".join(["维修站,整机维修,JZ-200,电机烧毁,30", "维修站,板级维修,,主板短路,2",
                             "400/800热线,热线数据,JZ-200,异响,5", "400/800热线,热线数据,JZ-200,异响,5"]))
    spike, no_model, _, duplicate = records(p3, QualityFigure, QualityFigure.month == "2026-11")
    assert [(f.status, f.doubt_reason) for f in (spike, no_model, duplicate)] == [
        ("doubtful", "数量突增（上月3件）"), ("doubtful", "缺少型号"), ("doubtful", "同一来源重复录入")]
    task = case.task("Task_verify")
    assert task.department == "after_sales" and month_record(p3).status == "verifying"
    assert task.data["doubtful_records"].splitlines() == [
        f"#{spike.id} 维修站 整机维修 JZ-200 电机烧毁 30 —— 数量突增（上月3件）",
        f"#{no_model.id} 维修站 板级维修 （未知型号） 主板短路 2 —— 缺少型号",
        f"#{duplicate.id} 400/800热线 热线数据 JZ-200 异响 5 —— 同一来源重复录入"]

    case.complete("Task_verify", SPECIALIST, verified_with="杭州维修站 陈站长",
                  verification_results=f"{spike.id},更正,12,重复计数\n{no_model.id},待定,,")
    task = case.task("Task_verify")  # back, and nothing applied
    assert task.data["verification_errors"] == "第2行：结果“待定”应为属实/更正/剔除"
    case.complete("Task_verify", SPECIALIST, verified_with="杭州维修站 陈站长",
                  verification_results=f"{spike.id},更正,12,重复计数\n{no_model.id},属实,,型号待维修站补报")
    assert case.task("Task_verify").data["verification_errors"] == f"以下记录未给出核实结果：#{duplicate.id}"
    assert {f.status for f in records(p3, QualityFigure, QualityFigure.month == "2026-11")} == {"doubtful", "accepted"}

    case.complete("Task_verify", SPECIALIST, verified_with="杭州维修站 陈站长；客户王经理",
                  verification_results=f"#{spike.id},更正,12,重复计数\n{no_model.id},属实,,型号待维修站补报\n"
                                       f"{duplicate.id},剔除,,热线重复登记")
    spike, no_model, _, duplicate = records(p3, QualityFigure, QualityFigure.month == "2026-11")
    assert (spike.status, spike.count, spike.reported_count, spike.verified_by) == ("corrected", 12, 30, SPECIALIST)
    assert spike.note == "杭州维修站 陈站长；客户王经理；重复计数"
    assert (no_model.status, duplicate.status) == ("verified", "dropped")
    assert not duplicate.verified and spike.verified
    assert month_record(p3).figure_count == 19  # the corrected count; the dropped duplicate is not counted
    assert "核实剔除1条记录" in month_record(p3).data_summary
    assert case.task("Task_investigate").data["anomaly_list"].splitlines() == [  # detection uses verified counts
        "热线数据 JZ-200 异响：首次出现：5件 ≥ 5件（前3个月：0/0/0）",
        "整机维修 JZ-200 电机烧毁：12件 > 前3个月均值1.0×1.5=1.5，且 ≥ 5件（前3个月：0/0/3）"]


# -- abnormal fluctuation ------------------------------------------------------------------------------
def test_a_spike_and_a_first_appearance_send_after_sales_to_investigate_and_report_to_quality(p3, clock, start_month):
    seed(p3, HISTORY)
    case = start_month()
    clock.set(FIRST_RUN + timedelta(hours=1))
    collect(case)
    anomalies = records(p3, QualityAnomaly)
    assert [(a.category, a.model, a.fault, a.count, a.trailing_counts, a.trailing_mean, a.rule) for a in anomalies] == [
        ("board_repair", "KB-10", "主板短路", 6, [0, 0, 0], 0.0, "first_appearance"),
        ("unit_repair", "JZ-200", "电机烧毁", 12, [4, 5, 6], 5.0, "spike")]
    # 异响 6 against 5/6/5 is steady; 外壳破损 4 against 1/1/1 stays under the minimum of 5
    task = case.task("Task_investigate")  # 5.1.3: After-sales steps in to investigate
    assert task.department == "after_sales" and task.created_at == clock.now()
    assert task.data["anomaly_list"].splitlines() == [
        "板级维修 KB-10 主板短路：首次出现：6件 ≥ 5件（前3个月：0/0/0）",
        "整机维修 JZ-200 电机烧毁：12件 > 前3个月均值5.0×1.5=7.5，且 ≥ 5件（前3个月：4/5/6）"]
    assert task.data["detection_basis"] == ("与前3个月（2026-08至2026-10）比较：超过月均值×1.5且不少于5件，"
                                            "或首次出现且不少于5件，为异常波动")
    notices = [m for m in outbox(p3) if m.subject.startswith("通知售后服务部主动介入调查")]
    assert {m.recipient for m in notices} == {"department:after_sales", "head:after_sales", "head:quality"}
    assert notices[0].subject == "通知售后服务部主动介入调查：2026年11月 2项异常波动（QA-2026-11）"
    assert "电机烧毁" in notices[0].body
    assert month_record(p3).status == "investigating"

    investigate(case)
    [feedback] = [m for m in outbox(p3) if m.subject.startswith("登记调查情况并及时反馈质量部")]
    assert feedback.recipient == "department:quality"  # 并将了解的情况及时反馈质量部
    assert feedback.body.startswith("调查结果：12台中9台为同一批次B2610")
    assert [e.actor for e in case.events("task_completed") if e.element_id == "Task_investigate"] == [SPECIALIST]
    task = case.task("Task_initial_report")
    assert task.department == "quality" and task.data["investigation_findings"] == "12台中9台为同一批次B2610"
    record = month_record(p3)
    assert record.investigation.splitlines() == ["调查结果：12台中9台为同一批次B2610", "初步原因：绕组漆包线批次问题",
                                                 "临时措施：冻结B2610批次库存"]
    section = {s.title: s for s in p3.case_records(case.id)}["异常波动"]
    assert [(r["category"], r["model"], r["count"]) for r in section.rows] == [
        (("板级维修", "Board repair"), "KB-10", 6), (("整机维修", "Whole-unit repair"), "JZ-200", 12)]


def test_thresholds_come_from_the_detection_task_properties(p3, start_month):
    stricter = DIAGRAM.replace(b'name="threshold_ratio" value="1.5"', b'name="threshold_ratio" value="3"')
    stricter = stricter.replace(b'name="min_count" value="5"', b'name="min_count" value="7"')
    assert stricter != DIAGRAM
    p3.deploy(stricter, "process.owner", filename="quality_analysis.bpmn")
    seed(p3, HISTORY)
    case = start_month()
    collect(case)
    assert records(p3, QualityAnomaly) == []  # 12 ≤ 5×3, and 主板短路 6 < 7
    task = case.task("Task_initial_report")
    assert task.data["anomaly_list"] == "无异常波动"
    assert "超过月均值×3且不少于7件" in task.data["detection_basis"]


def test_the_trailing_window_is_the_diagrams_number_of_months(p3, start_month):
    one_month = DIAGRAM.replace(b'name="trailing_months" value="3"', b'name="trailing_months" value="1"')
    p3.deploy(one_month, "process.owner", filename="quality_analysis.bpmn")
    seed(p3, {**HISTORY, "2026-10": [("hotline", "hotline_data", "JZ-200", "异响", 5)]})
    case = start_month()
    collect(case)  # only October counts: 电机烧毁 and 主板短路 are new there, 异响 6 ≤ 5×1.5
    assert [(a.fault, a.rule, a.trailing_counts) for a in records(p3, QualityAnomaly)] == [
        ("主板短路", "first_appearance", [0]), ("电机烧毁", "first_appearance", [0])]
    assert case.task("Task_investigate").data["detection_basis"].startswith("与前1个月（2026-10至2026-10）比较")


# -- the reports down to Development -----------------------------------------------------------------
def test_a_design_cause_goes_to_development_until_the_fix_is_effective_and_shared(p3, start_month):
    seed(p3, HISTORY)
    case = start_month()
    collect(case)
    investigate(case)
    report(case)
    engineering(case, design_cause=True)
    task = case.task("Task_design_improvement")
    assert task.department == "development" and task.data["design_issue"] == "绕组绝缘设计裕量不足"
    case.complete("Task_design_improvement", DEVELOPER, design_analysis="绕组温升设计裕量仅5K",
                  improvement_measures="改用H级漆包线并加大散热筋", task_force=True, task_force_members="孙伟、刘洋、陆工")
    task = case.task("Task_verify_fix")  # Engineering follows up how the improvement is carried out and works
    assert task.department == "engineering" and task.data["improvement_measures"] == "改用H级漆包线并加大散热筋"
    case.complete("Task_verify_fix", ENGINEER, fix_effective=False, fix_verification_note="小批试装仍有2台温升超标")
    task = case.task("Task_design_improvement")  # back to Development
    assert task.data["fix_verification_note"] == "小批试装仍有2台温升超标"
    assert not [m for m in outbox(p3) if m.subject.startswith("开发部在内部分享和推广")]
    case.complete("Task_design_improvement", DEVELOPER, design_analysis="绕组温升设计裕量仅5K，散热筋不足",
                  improvement_measures="改用H级漆包线，端盖增加散热筋", task_force=True, task_force_members="孙伟、刘洋、陆工")
    case.complete("Task_verify_fix", ENGINEER, fix_effective=True, fix_verification_note="200台试装温升合格")
    assert case.instance.status == "completed"

    record = month_record(p3)
    assert (record.design_cause, record.task_force, record.task_force_members) == (True, True, "孙伟、刘洋、陆工")
    assert (record.improvement_rounds, record.fix_effective, record.status) == (2, True, "closed")
    assert record.shared_at is not None
    shared = [m for m in outbox(p3) if m.subject.startswith("开发部在内部分享和推广有效措施")]
    assert {m.recipient for m in shared} == {f"department:{d}" for d in (
        "quality", "engineering", "development", "production", "after_sales", "tech_support")}
    assert "改用H级漆包线，端盖增加散热筋" in shared[0].body and "200台试装温升合格" in shared[0].body
    assert [e.detail["round"] for e in case.events("design_fix_ineffective")] == [1]


def test_no_design_cause_closes_the_month_without_development(p3, start_month):
    seed(p3, HISTORY)
    case = start_month()
    collect(case)
    investigate(case)
    report(case)
    engineering(case, design_cause=False)
    assert case.instance.status == "completed"
    assert "Task_design_improvement" not in {e.element_id for e in case.events("task_ready")}
    assert month_record(p3).shared_at is None


# -- the data Quality and Engineering ask After-sales for (5.1.4), the department at fault -------------
def supply(case: Case, element_id: str, supplied: str, database_update: bool = False) -> None:
    case.complete(element_id, SPECIALIST, supplied_data=supplied, database_update=database_update,
                  database_update_note="服务系统增加绕组批次号字段" if database_update else None)


def test_quality_asks_after_sales_for_more_data_before_writing_its_report(p3, start_month):
    case = start_month()
    collect(case)
    case.complete("Task_initial_report", QUALITY)  # neither a report nor a data request
    task = case.task("Task_initial_report")
    assert task.data["report_errors"].splitlines() == ["请填写主要质量问题", "请填写产品质量初步分析报告"]
    assert case.events("bpmn_error")[-1].detail["code"] == "REPORT_INCOMPLETE"

    case.complete("Task_initial_report", QUALITY, data_request="JZ-200电机烧毁的维修站名单及生产批次")
    task = case.task("Task_supply_data_quality")
    assert task.department == "after_sales" and task.data["data_request"] == "JZ-200电机烧毁的维修站名单及生产批次"
    supply(case, "Task_supply_data_quality", "杭州、宁波站共9台，批次B2610", database_update=True)
    task = case.task("Task_initial_report")  # back to Quality with the data, the request cleared
    assert task.data["data_request"] == ""
    assert task.data["supplementary_data"].splitlines() == [
        "【质量部要求】JZ-200电机烧毁的维修站名单及生产批次", "【售后服务部补充】杭州、宁波站共9台，批次B2610",
        "【售后服务系统数据库需重新设计或更新】服务系统增加绕组批次号字段"]
    [supplied] = case.events("data_supplied")
    assert (supplied.actor, supplied.detail["requested_by"], supplied.detail["database_update"]) == (
        SPECIALIST, "quality", True)
    report(case)
    task = case.task("Task_engineering_analysis")
    assert task.department == "engineering" and "批次B2610" in task.data["supplementary_data"]
    assert case.limit("Timer_report_limit").status == "met"


def test_engineering_asks_for_data_and_names_the_department_at_fault(p3, start_month):
    case = start_month()
    collect(case)
    report(case)
    case.complete("Task_engineering_analysis", ENGINEER, data_request="近三个月同批次整机返修明细")
    assert case.task("Task_supply_data_engineering").department == "after_sales"
    supply(case, "Task_supply_data_engineering", "同批次返修21台，均为绕组击穿")
    task = case.task("Task_engineering_analysis")
    assert "【工程部要求】近三个月同批次整机返修明细" in task.data["supplementary_data"]
    assert task.data["data_request"] == ""
    case.complete("Task_engineering_analysis", ENGINEER, comprehensive_analysis="绕线工序漆包线划伤",
                  handling_proposal="绕线工装加护套；在用产品巡检", liable_department="production")
    assert case.task("Task_engineering_analysis").data["analysis_errors"] == \
        "指定了责任部门，请填写其须吸取的教训及补救要求"
    case.complete("Task_engineering_analysis", ENGINEER, comprehensive_analysis="绕线工序漆包线划伤",
                  handling_proposal="绕线工装加护套；在用产品巡检", liable_department="production",
                  liable_issue="绕线工序划伤漆包线", design_cause=False)
    task = case.task("Task_remedy")  # 其它相关部门: the department Engineering names
    assert task.department == "production" and task.data["liable_issue"] == "绕线工序划伤漆包线"
    case.complete("Task_remedy", "prod.zhou", lessons_learned="绕线工装无护套", remedial_measures="加装护套，库存复检")
    assert case.instance.status == "completed"
    assert [e.detail["requested_by"] for e in case.events("data_supplied")] == ["engineering"]
    assert month_record(p3).handling_proposal == "绕线工装加护套；在用产品巡检"


# -- the limits: each 1 s before and 1 s after, from the moment it starts -------------------------
def breach_notices(engine, sla_name: str) -> set[str]:
    return {m.recipient for m in outbox(engine) if m.subject == f"超时：{sla_name}（QA-2026-11）"}


def check_limit(engine, travel, case: Case, element_id: str, timer_id: str, due: datetime, department: str,
                told: set[str]) -> None:
    """The guarded step is `department`'s and due at `due`; nothing fires 1 s before, the miss is recorded
    1 s after and told to `told`; the work goes on."""
    task = case.task(element_id)
    assert task.department == department and task.due_at == due
    travel(due - SECOND)
    assert timer_id not in case.fired() and case.limit(timer_id).status == "running"
    travel(due + SECOND)
    assert timer_id in case.fired()
    assert element_id in case.open_elements()
    record = case.limit(timer_id)
    assert record.status == "breached"
    assert breach_notices(engine, record.name) == told


def test_data_collection_company_limit_3_working_days_from_the_monthly_start(p3, travel, start_month):
    case = start_month()  # Tuesday 1 December 09:00: the 3 working days run from here
    assert case.limit("Timer_data_limit").name == "公司规定：每月前3个工作日内完成质量数据收集、核实与汇整分类"
    check_limit(p3, travel, case, "Task_collect", "Timer_data_limit", datetime(2026, 12, 4, 9, 0, tzinfo=BEIJING),
                "after_sales", {"department:after_sales"})
    assert case.limit("Timer_data_limit").department == "after_sales"
    assert "Timer_report_limit" not in case.fired()


def test_initial_report_company_limit_5_working_days_from_the_monthly_start(p3, travel, clock, start_month):
    case = start_month()
    clock.set(datetime(2026, 12, 3, 15, 0, tzinfo=BEIJING))
    collect(case)  # the 5 days count from the monthly start, across the weekend, not from the data
    check_limit(p3, travel, case, "Task_initial_report", "Timer_report_limit",
                datetime(2026, 12, 8, 9, 0, tzinfo=BEIJING), "quality", {"department:quality"})
    assert case.limit("Timer_report_limit").name == "公司规定：每月前5个工作日内形成产品质量初步分析报告"
    assert case.limit("Timer_data_limit").status == "met"


def test_a_miss_while_after_sales_supplies_the_data_is_told_to_after_sales(p3, travel, clock, start_month):
    case = start_month()
    collect(case)
    case.complete("Task_initial_report", QUALITY, data_request="维修站名单")
    due = datetime(2026, 12, 8, 9, 0, tzinfo=BEIJING)  # still 5 working days from the start: one limit on the span
    check_limit(p3, travel, case, "Task_supply_data_quality", "Timer_report_limit", due, "after_sales",
                {"department:after_sales"})
    assert [h["department"] for h in case.events("sla_breached")[-1].detail["holders"]] == ["after_sales"]


def test_investigation_company_limit_2_working_days_from_the_fluctuation_found(p3, travel, clock, start_month):
    seed(p3, HISTORY)
    case = start_month()
    clock.set(datetime(2026, 12, 3, 14, 0, tzinfo=BEIJING))  # Thursday: the fluctuation is found now
    collect(case)
    record = case.limit("Timer_investigation_limit")
    assert record.name == "公司规定：发现异常波动后2个工作日内调查了解并反馈质量部（原文：及时反馈）"
    check_limit(p3, travel, case, "Task_investigate", "Timer_investigation_limit",
                datetime(2026, 12, 7, 14, 0, tzinfo=BEIJING), "after_sales",
                {"department:after_sales", "head:quality"})  # the diagram's sla_notify: Quality waits for it


def test_engineering_company_limit_5_working_days_from_the_report_spans_its_data_requests(
        p3, travel, clock, start_month):
    case = start_month()
    collect(case)
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=BEIJING))
    report(case)  # Engineering receives the report now
    due = datetime(2026, 12, 9, 10, 0, tzinfo=BEIJING)
    clock.set(datetime(2026, 12, 3, 10, 0, tzinfo=BEIJING))
    case.complete("Task_engineering_analysis", ENGINEER, data_request="同批次返修明细")
    clock.set(datetime(2026, 12, 4, 10, 0, tzinfo=BEIJING))
    supply(case, "Task_supply_data_engineering", "返修21台")
    assert case.task("Task_engineering_analysis").due_at == due  # the request did not restart the clock
    check_limit(p3, travel, case, "Task_engineering_analysis", "Timer_engineering_limit", due, "engineering",
                {"department:engineering"})
    assert case.limit("Timer_report_limit").status == "met"


def test_design_improvement_company_limit_10_working_days_from_engineerings_feedback(
        p3, travel, clock, start_month):
    case = start_month()
    collect(case)
    report(case)
    clock.set(datetime(2026, 12, 9, 10, 0, tzinfo=BEIJING))  # Wednesday: Engineering feeds the design cause back
    engineering(case, design_cause=True)
    check_limit(p3, travel, case, "Task_design_improvement", "Timer_design_limit",
                datetime(2026, 12, 23, 10, 0, tzinfo=BEIJING), "development", {"department:development"})


def test_the_text_gives_the_monthly_rhythm_and_the_company_every_day_count():
    """The P3 text says 每月 (5.1.1, 5.2.1) but names no number of days: every limit is a company rule."""
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}
    root = etree.fromstring(DIAGRAM)
    sources = {}
    for timer in root.iterfind(".//bpmn:timerEventDefinition", ns):
        event = timer.getparent()
        props = {p.get("name"): p.get("value") for p in event.iterfind(".//camunda:property", ns)}
        sources[event.get("id")] = (props.get("sla_source"), props.get("sla_clause"),
                                    (props.get("sla_name") or "").startswith("公司规定："))
    assert sources == {
        "StartEvent_monthly": ("procedure", "000 产品售后质量问题分析及改善流程 5.1.1, 5.2.1", False),
        **{timer: ("company", None, True) for timer in (
            "Timer_data_limit", "Timer_investigation_limit", "Timer_report_limit", "Timer_engineering_limit",
            "Timer_design_limit")}}
