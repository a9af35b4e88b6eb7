"""P5 报修: the repair walked by department users with the injected clock: the agreed response time from the
report form as the arrival limit (two different contracts), diagnosis, the customer's consent before parts
or fees (refusal closes without a repair), retraining, the signed 《维修记录》 in the customer service file,
the callback, and the supervisor's choice of a certified engineer when nobody qualifies."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.storage.models import OutboxMessage
from handlers.customer_files import CustomerDevice, customer_service_file
from handlers.dispatching import Engineer, EngineerAssignment, seed_demo_engineers
from handlers.field_service import RepairRecord
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)
RESPONSE = "接到报修信息后在预约响应时间（合同约定）内到达客户现场"
INTAKE, SUPERVISOR, CLERK = "svc.huang", "sup.luo", "biz.tang"
CUSTOMER = "华东机电有限公司"


@pytest.fixture
def engineers(deployed, staff):
    with deployed.db.sessions.begin() as session:
        seed_demo_engineers(session)
    return deployed


def report(engine, hours: int = 4, **overrides) -> Case:
    form = {"customer": CUSTOMER, "contact": "王经理 138-0000-1234", "serial_no": "JZ200-2026-0815",
            "agreed_response_hours": hours, "fault_description": "主轴异响，加工面有振纹",
            "site_address": "苏州工业园区星湖街 88 号", "region": "华东"}
    form.update(overrides)
    return Case(engine, engine.start_instance("repair", form, INTAKE))


def diagnose(case: Case, parts: bool = False, engineer: str = "fe.zhu") -> None:
    case.complete("Task_diagnose", engineer, instruments_used="振动分析仪、百分表", fault_cause="主轴前轴承磨损",
                  cause_explained_to="王强", needs_parts_or_fees=parts,
                  parts_needed="主轴前轴承 7014C 一套" if parts else None, fee_estimate=3800.0 if parts else None)


def repair_and_sign(case: Case, retraining: bool = False, engineer: str = "fe.zhu") -> None:
    case.complete("Task_repair", engineer, repair_work="更换主轴前轴承并预紧", parts_replaced="7014C 轴承一套",
                  fees_charged=3800.0, test_result="振动值 0.8mm/s，振纹消失")
    sign(case, retraining, engineer)


def sign(case: Case, retraining: bool = False, engineer: str = "fe.zhu") -> None:
    case.complete("Task_sign_record", engineer, signed_by="王强", signed_on="2026-11-16", needs_retraining=retraining)


def call_back(case: Case) -> None:
    case.complete("Task_callback", CLERK, use_feedback="设备运行正常", installation_feedback="维修及时",
                  satisfaction="satisfied", complaint_about_staff=False)


def record(engine) -> RepairRecord:
    with engine.db.sessions() as session:
        [row] = session.scalars(select(RepairRecord)).all()
        session.expunge(row)
        return row


def file_of(engine):
    with engine.db.sessions() as session:
        entries = customer_service_file(session, CUSTOMER)
        session.expunge_all()
        return entries




# -- paths --------------------------------------------------------------------------------------------
def test_repair_without_parts_main_path(engineers, clock):
    with engineers.db.sessions.begin() as session:  # a device installed earlier: the report fills in its model
        session.add(CustomerDevice(customer=CUSTOMER, serial_no="JZ200-2026-0815", device_model="JZ-200 数控机床",
                                   registered_at=clock.now()))
    case = report(engineers)
    assert case.instance.business_key == "RP-2026-0001"
    arrive = case.task("Task_arrive")
    assert (arrive.department, arrive.claimed_by) == ("tech_support", "fe.zhu")
    assert arrive.limit_name == RESPONSE and arrive.due_at == clock.now() + 4 * HOUR
    assert arrive.limit_source == "procedure"  # 002 4.2.1: the agreed response time, the hours from the contract
    clock.advance(3 * HOUR)
    case.complete("Task_arrive", "fe.zhu", arrival_note="已到现场")
    diagnose(case)
    assert case.open_elements() == {"Task_repair"}  # no parts, no fees: no consent needed
    repair_and_sign(case)
    row = record(engineers)
    assert (row.device_model, row.agreed_response_hours, row.response_met) == ("JZ-200 数控机床", 4, True)
    assert row.arrived_at == row.reported_at + 3 * HOUR and row.engineer == "fe.zhu"
    assert (row.instruments_used, row.fault_cause, row.consent) == ("振动分析仪、百分表", "主轴前轴承磨损", None)
    assert (row.repair_work, row.signed_by, row.signed_on, row.retrained) == (
        "更换主轴前轴承并预紧", "王强", date(2026, 11, 16), False)
    with engineers.db.sessions() as session:
        assert session.scalar(select(EngineerAssignment.closed_at)) is not None
    call_back(case)
    assert case.instance.status == "completed"
    entries = file_of(engineers)
    assert [(e.kind, e.document) for e in entries] == [("repair", "《维修记录》"), ("callback", "《客户回访记录》")]
    assert "按时到场：是" in entries[0].summary and entries[0].signed_by == "王强"
    [response] = case.limits("Timer_response")
    assert (response.status, response.department, response.person) == ("met", "tech_support", "fe.zhu")
    assert {"维修记录", "客户服务档案", "工程师派工"} <= {s.title for s in engineers.case_records(case.id)}


def test_parts_and_fees_need_the_customers_consent_first(engineers):
    case = report(engineers)
    case.complete("Task_arrive", "fe.zhu")
    diagnose(case, parts=True)
    consent = case.task("Task_consent")  # 4.2.3: the engineer on site tells the customer and asks
    assert (consent.department, consent.claimed_by) == ("tech_support", "fe.zhu")
    assert case.open_elements() == {"Task_consent"}  # nothing is replaced before the customer agrees
    case.complete("Task_consent", "fe.zhu", consent="agreed", consent_by="王经理")
    repair_and_sign(case)
    row = record(engineers)
    assert (row.parts_needed, row.fee_estimate, row.consent, row.consent_by) == (
        "主轴前轴承 7014C 一套", 3800.0, "agreed", "王经理")
    assert row.parts_replaced == "7014C 轴承一套" and row.fees_charged == 3800.0


def test_consent_refused_is_recorded_and_closed_without_parts(engineers):
    case = report(engineers)
    case.complete("Task_arrive", "fe.zhu")
    diagnose(case, parts=True)
    case.complete("Task_consent", "fe.zhu", consent="refused", consent_by="王经理", consent_note="费用超预算，暂不更换")
    assert case.open_elements() == {"Task_sign_record"}  # no repair task
    sign(case)
    row = record(engineers)
    assert (row.consent, row.repair_work, row.parts_replaced, row.fees_charged) == ("refused", None, None, None)
    [entry] = file_of(engineers)
    assert "客户不同意备件/费用，未维修" in entry.summary and entry.signed_by == "王强"
    call_back(case)
    assert case.instance.status == "completed"


def test_operators_are_retrained_when_needed(engineers):
    case = report(engineers)
    case.complete("Task_arrive", "fe.zhu")
    diagnose(case)
    repair_and_sign(case, retraining=True)
    assert case.task("Task_retraining").claimed_by == "fe.zhu"
    case.complete("Task_retraining", "fe.zhu", trainees="张伟", training_content="主轴预热与润滑点检")
    row = record(engineers)
    assert (row.retrained, row.trainees) == (True, "张伟")
    assert "重新培训：张伟" in file_of(engineers)[0].summary
    assert case.open_elements() == {"Task_callback"}


# -- the agreed response time --------------------------------------------------------------------------
@pytest.mark.parametrize("hours", [4, 24])
def test_arrival_within_the_agreed_response_time_from_the_report(engineers, clock, travel, hours):
    reported = clock.now()
    case = report(engineers, hours=hours)
    due = case.task("Task_arrive").due_at
    assert due == reported + hours * HOUR  # the contract's hours, counted from the report
    travel(due - SECOND)
    assert case.fired() == []
    travel(due + SECOND)
    assert case.fired() == ["Timer_response"]
    [limit] = case.limits("Timer_response")
    assert (limit.status, limit.department, limit.person) == ("breached", "tech_support", "fe.zhu")
    assert (limit.name, limit.source, limit.started_at) == (RESPONSE, "procedure", reported)
    assert record(engineers).response_met is False
    with engineers.db.sessions() as session:
        told = {m.recipient for m in session.scalars(select(OutboxMessage)) if m.subject.startswith(f"超时：{RESPONSE}")}
    assert {"user:fe.zhu", "head:tech_support", "head:service_supervisors"} <= told
    case.complete("Task_arrive", "fe.zhu")  # late, but the engineer still arrives and the repair goes on
    row = record(engineers)
    assert row.arrived_at == due + SECOND and row.response_met is False
    assert case.open_elements() == {"Task_diagnose"}


def test_arrival_limit_includes_the_supervisors_choice(engineers, clock, travel):
    with engineers.db.sessions.begin() as session:
        for row in session.scalars(select(Engineer).where(Engineer.username.in_(["fe.zhu", "fe.yang"]))):
            row.active = False
    case = report(engineers, hours=8)
    choose = case.task("Task_choose_engineer")
    assert choose.department == "service_supervisors" and choose.due_at == clock.now() + 8 * HOUR
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="ts.dong")  # 上岗证 expired 2025-12-31
    assert case.open_elements() == {"Task_choose_engineer"}
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="fe.ye")  # certified, but no repair skill
    assert case.open_elements() == {"Task_choose_engineer"}
    with engineers.db.sessions.begin() as session:
        session.scalar(select(Engineer).where(Engineer.username == "fe.yang")).active = True
    clock.advance(HOUR)
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="fe.yang", choice_note="华南工程师跨区支援")
    arrive = case.task("Task_arrive")
    assert arrive.claimed_by == "fe.yang" and arrive.due_at == clock.now() + 7 * HOUR
    travel(by=7 * HOUR - SECOND)
    case.complete("Task_arrive", "fe.yang")
    assert record(engineers).response_met is True
    assert [r.status for r in case.limits("Timer_response")] == ["met"]


# -- the callback (a company rule: the text gives no number) -------------------------------------------
def told(engine, subject_part: str) -> set[str]:
    with engine.db.sessions() as session:
        return {m.recipient for m in session.scalars(select(OutboxMessage)) if subject_part in m.subject}


def test_callback_a_company_rule_of_3_working_days_from_filing(engineers, clock, travel):
    case = report(engineers)
    case.complete("Task_arrive", "fe.zhu")
    diagnose(case)
    clock.set(datetime(2026, 11, 20, 15, 0, tzinfo=BEIJING))  # filed on a Friday afternoon
    repair_and_sign(case)
    callback = case.task("Task_callback")
    assert callback.department == "business_office" and callback.limit_source == "company"
    assert callback.limit_name == "公司规定：维修归档后3个工作日内电话回访"
    due = datetime(2026, 11, 25, 15, 0, tzinfo=BEIJING)  # the weekend does not count
    assert callback.due_at == due
    travel(due - SECOND)
    assert case.fired() == []
    travel(due + SECOND)
    assert case.fired() == ["Timer_callback"]
    [limit] = case.limits("Timer_callback")
    assert (limit.status, limit.department, limit.source) == ("breached", "business_office", "company")
    assert told(engineers, "超时：公司规定：维修归档后") == {"department:business_office"}  # nobody holds it yet
    call_back(case)
    assert case.instance.status == "completed"


def test_a_complaint_about_staff_goes_to_the_supervisor(engineers):
    case = report(engineers)
    case.complete("Task_arrive", "fe.zhu")
    diagnose(case)
    repair_and_sign(case)
    case.complete("Task_callback", CLERK, use_feedback="正常", installation_feedback="维修拖延",
                  satisfaction="dissatisfied", complaint_about_staff=True, complained_staff="朱磊",
                  complaint_details="工程师态度生硬")
    handling = case.task("Task_handle_complaint")  # 4.5: reported to the after-sales supervisor
    assert handling.department == "service_supervisors"
    case.complete("Task_handle_complaint", SUPERVISOR, penalty="通报批评", internal_notice="服务态度通报")
    assert told(engineers, "内部通报") == {"department:after_sales", "department:tech_support"}
    assert case.instance.status == "completed"
