"""P5 装机: the installation walked by department users with the injected clock: dispatch of a certified
engineer (and the supervisor's choice when nobody qualifies), the three-party unpacking inspection, the
logistics claim on damaged packaging with its limit, the contract check with a supplement, commissioning,
training, the signed 《装机单》 filed in the customer service file, the callback with its limit and a
complaint about staff."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.records import queries
from engine.storage.models import OutboxMessage
from handlers.customer_files import CustomerDevice, ServiceCallback, customer_service_file
from handlers.dispatching import Engineer, EngineerAssignment, seed_demo_engineers
from handlers.field_service import InstallationSheet, LogisticsClaim
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND = timedelta(seconds=1)
CLAIM = "公司规定：包装破损3个工作日内由销售人员反馈物流企业并要求赔付"
REQUESTER, SUPERVISOR, CLERK = "sales.li", "sup.luo", "biz.tang"
CUSTOMER = "华东机电有限公司"


@pytest.fixture
def engineers(deployed, staff):
    with deployed.db.sessions.begin() as session:
        seed_demo_engineers(session)
    return deployed


def request(**overrides):
    form = {"customer": CUSTOMER, "contact": "王经理 138-0000-1234", "device_model": "JZ-200 数控机床",
            "serial_no": "JZ200-2026-0815", "contract_no": "HT-2026-118", "configuration": "主机1台、刀库1套、冷却系统1套",
            "site_address": "苏州工业园区星湖街 88 号", "region": "华东"}
    form.update(overrides)
    return form


def start(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("installation", request(**overrides), REQUESTER))


def unpack(case: Case, packaging: str = "intact", seller: str = REQUESTER) -> None:
    case.complete("Task_unpacking", seller, sales_representative="李明（销售部）",
                  logistics_representative="冯涛（物流）", customer_representative="王强（客户设备科）",
                  packaging=packaging, packaging_damage="木箱一角破裂" if packaging == "damaged" else None)


def check_goods(case: Case, result: str = "matches", engineer: str = "fe.zhu") -> None:
    case.complete("Task_contract_check", engineer, customer_checker="王强", goods_check=result,
                  discrepancies="缺冷却泵1台" if result == "discrepancy" else None)


def install_to_signature(case: Case, engineer: str = "fe.zhu") -> None:
    case.complete("Task_install", engineer, procedure_no="AZ-JZ200-03", installation_notes="水平度 0.02mm/m")
    case.complete("Task_commissioning", engineer, parameters="主轴跳动 0.003mm；定位精度 0.008mm", parameters_result="pass")
    case.complete("Task_training", engineer, trainees="张伟、刘洋", training_content="开关机、换刀、日常点检",
                  training_hours=4)
    case.complete("Task_sign_sheet", engineer, signed_by="王强", signed_on="2026-11-16")


def call_back(case: Case, complaint: bool = False) -> None:
    case.complete("Task_callback", CLERK, use_feedback="运行正常", installation_feedback="安装规范",
                  training_feedback="操作人员已掌握", satisfaction="dissatisfied" if complaint else "very_satisfied",
                  complaint_about_staff=complaint, complained_staff="朱磊" if complaint else None,
                  complaint_details="工程师迟到且态度生硬" if complaint else None)


def rows(engine, model):
    with engine.db.sessions() as session:
        found = list(session.scalars(select(model).order_by(model.id)))
        session.expunge_all()
        return found


def file_of(engine, customer: str = CUSTOMER):
    with engine.db.sessions() as session:
        entries = customer_service_file(session, customer)
        session.expunge_all()
        return entries




def outbox_to(engine, subject_part: str) -> set[str]:
    with engine.db.sessions() as session:
        return {m.recipient for m in session.scalars(select(OutboxMessage)) if subject_part in m.subject}


# -- the main path ------------------------------------------------------------------------------------
def test_installation_main_path_files_the_signed_sheet_and_registers_the_device(engineers, clock):
    case = start(engineers)
    assert case.instance.business_key == "IN-2026-0001"
    unpacking = case.task("Task_unpacking")  # 4.1.1: the sales person records the three-party unpacking
    assert (unpacking.department, unpacking.claimed_by) == ("sales", None)
    unpack(case)
    assert case.open_elements() == {"Task_contract_check"}  # intact packaging: no claim
    check = case.task("Task_contract_check")
    assert (check.department, check.claimed_by) == ("tech_support", "fe.zhu")  # 华东, certified installer
    check_goods(case)
    install_to_signature(case)
    [sheet] = rows(engineers, InstallationSheet)
    assert sheet.filed_at == clock.now() and sheet.signed_by == "王强" and sheet.signed_on == date(2026, 11, 16)
    assert sheet.inspection_parties == "李明（销售部）、冯涛（物流）、王强（客户设备科）"
    assert (sheet.engineer, sheet.packaging, sheet.procedure_no) == ("fe.zhu", "intact", "AZ-JZ200-03")
    assert sheet.trainees == "张伟、刘洋" and "主轴跳动" in sheet.parameters
    assert [c["result"] for c in sheet.contract_checks] == ["matches"]
    [unit] = rows(engineers, CustomerDevice)
    assert (unit.customer, unit.serial_no, unit.device_model, unit.installation_no) == (
        CUSTOMER, "JZ200-2026-0815", "JZ-200 数控机床", "IN-2026-0001")
    assert unit.installed_at == clock.now()
    [assignment] = rows(engineers, EngineerAssignment)
    assert (assignment.engineer, assignment.kind, assignment.closed_at) == ("fe.zhu", "installation", clock.now())
    assert rows(engineers, LogisticsClaim) == []

    callback = case.task("Task_callback")
    assert callback.department == "business_office" and callback.limit_name == "公司规定：装机归档后3个工作日内电话回访"
    assert callback.limit_source == "company"
    call_back(case)
    assert case.instance.status == "completed"
    entries = file_of(engineers)
    assert [(e.kind, e.document, e.business_key) for e in entries] == [
        ("installation", "《装机单》", "IN-2026-0001"), ("callback", "《客户回访记录》", "IN-2026-0001")]
    assert entries[0].signed_by == "王强" and entries[0].serial_no == "JZ200-2026-0815"
    assert "开箱检验三方：李明（销售部）、冯涛（物流）、王强（客户设备科）" in entries[0].summary
    [call] = rows(engineers, ServiceCallback)
    assert (call.case_kind, call.satisfaction, call.complaint_about_staff) == ("installation", "very_satisfied", False)
    titles = [s.title for s in engineers.case_records(case.id)]
    assert {"装机单", "客户服务档案", "工程师派工"} <= set(titles)
    assert all(r.status == "met" for r in queries.sla_records(engineers.db, case.id))


def test_damaged_packaging_is_reported_to_the_logistics_company_by_sales_before_the_sheet_is_filed(engineers, clock):
    case = start(engineers)
    unpack(case, "damaged")
    claim = case.task("Task_logistics_claim")  # 4.1.1: the sales person reports it and asks for compensation
    assert claim.department == "sales" and claim.limit_name == CLAIM and claim.limit_source == "company"
    assert case.open_elements() == {"Task_logistics_claim", "Task_contract_check"}  # installation goes on
    check_goods(case)
    install_to_signature(case)
    assert case.open_elements() == {"Task_logistics_claim"}  # the sheet waits for the claim
    assert rows(engineers, InstallationSheet)[0].filed_at is None
    case.complete("Task_logistics_claim", "sales.li", carrier="顺丰物流", waybill_no="SF1234567890",
                  reported_to="顺丰苏州网点 陈经理 电话", damage_description="木箱一角破裂，防护膜撕裂，刀库护罩变形",
                  product_damaged=True, claim_amount=1200.0)
    [row] = rows(engineers, LogisticsClaim)
    assert (row.claim_no, row.installation_no, row.carrier, row.amount) == ("LC-2026-0001", "IN-2026-0001", "顺丰物流", 1200.0)
    [sheet] = rows(engineers, InstallationSheet)
    assert sheet.packaging == "damaged" and sheet.packaging_damage == "木箱一角破裂" and sheet.filed_at is not None
    entries = file_of(engineers)
    assert [(e.kind, e.document) for e in entries] == [("logistics_claim", "《物流索赔单》"), ("installation", "《装机单》")]
    assert "已反馈：顺丰苏州网点 陈经理 电话" in entries[0].summary and "产品受损要求赔付：是" in entries[0].summary
    assert case.open_elements() == {"Task_callback"}


def test_logistics_claim_a_company_rule_of_3_working_days_from_the_damage_record(engineers, clock, travel, staff):
    case = start(engineers)
    unpack(case, "damaged")  # Monday 2026-11-16 09:00: the damage is recorded, the report becomes possible
    due = case.task("Task_logistics_claim").due_at
    assert due == datetime(2026, 11, 19, 9, 0, tzinfo=BEIJING)
    travel(due - SECOND)
    assert case.fired() == []
    travel(due + SECOND)
    assert case.fired() == ["Timer_claim"]
    [record] = case.limits("Timer_claim")
    assert (record.status, record.department, record.source) == ("breached", "sales", "company")
    assert record.started_at == datetime(2026, 11, 16, 9, 0, tzinfo=BEIJING)
    # nobody holds the report yet: the sales department (its head included) is told of the miss
    assert outbox_to(engineers, "超时：公司规定：包装破损") == {"department:sales"}
    assert "Task_logistics_claim" in case.open_elements()  # the claim is still owed


def test_goods_not_matching_the_contract_are_supplemented_by_sales_and_checked_again(engineers):
    case = start(engineers)
    unpack(case)
    check_goods(case, "discrepancy")
    supplement = case.task("Task_supplement")
    assert supplement.department == "sales"
    case.complete("Task_supplement", "sales.zhao", supplement_arrangement="补发冷却泵1台", supplement_expected_on="2026-11-20")
    assert case.task("Task_contract_check").claimed_by == "fe.zhu"
    check_goods(case)
    assert case.open_elements() == {"Task_install"}
    [sheet] = rows(engineers, InstallationSheet)
    assert [(c["result"], c["discrepancies"]) for c in sheet.contract_checks] == [
        ("discrepancy", "缺冷却泵1台"), ("matches", None)]
    assert sheet.contract_checks[1]["supplement"] == "补发冷却泵1台"


def test_parameters_out_of_tolerance_go_back_to_installation(engineers):
    case = start(engineers)
    unpack(case)
    check_goods(case)
    case.complete("Task_install", "fe.zhu", procedure_no="AZ-JZ200-03")
    case.complete("Task_commissioning", "fe.zhu", parameters="定位精度 0.02mm 超差", parameters_result="fail")
    assert case.open_elements() == {"Task_install"}
    install_to_signature(case)
    assert case.open_elements() == {"Task_callback"}


def test_callback_within_3_working_days_of_filing(engineers, clock, travel):
    case = start(engineers)
    unpack(case)
    check_goods(case)
    clock.set(datetime(2026, 11, 20, 15, 0, tzinfo=BEIJING))  # filed on a Friday afternoon
    install_to_signature(case)
    due = case.task("Task_callback").due_at
    assert due == datetime(2026, 11, 25, 15, 0, tzinfo=BEIJING)  # the weekend does not count
    travel(due - SECOND)
    assert case.fired() == []
    travel(due + SECOND)
    assert case.fired() == ["Timer_callback"]
    [record] = case.limits("Timer_callback")
    assert (record.status, record.department, record.source) == ("breached", "business_office", "company")
    assert outbox_to(engineers, "超时：公司规定：装机归档后") == {"department:business_office"}
    call_back(case)
    assert case.instance.status == "completed"


def test_a_complaint_about_staff_goes_to_the_supervisor_for_penalty_and_internal_notice(engineers):
    case = start(engineers)
    unpack(case)
    check_goods(case)
    install_to_signature(case)
    call_back(case, complaint=True)
    handling = case.task("Task_handle_complaint")
    assert handling.department == "service_supervisors"
    case.complete("Task_handle_complaint", SUPERVISOR, penalty="扣当月服务绩效 10%", internal_notice="服务守时与礼仪通报")
    assert case.instance.status == "completed"
    [call] = rows(engineers, ServiceCallback)
    assert (call.complained_staff, call.penalty, call.handled_by) == ("朱磊", "扣当月服务绩效 10%", SUPERVISOR)
    assert outbox_to(engineers, "内部通报") == {"department:after_sales", "department:tech_support"}
    assert [e.kind for e in file_of(engineers)] == ["installation", "callback", "complaint"]


def test_nobody_certified_the_supervisor_chooses_and_an_uncertified_choice_is_refused(engineers, clock):
    with engineers.db.sessions.begin() as session:
        for row in session.scalars(select(Engineer).where(Engineer.username.in_(["fe.zhu", "fe.ye"]))):
            row.active = row.username != "fe.zhu"
            if row.username == "fe.ye":
                row.certified_until = date(2026, 11, 1)  # 上岗证 expired
    case = start(engineers)
    assert case.open_elements() == {"Task_choose_engineer"}
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="fe.ye", choice_note="华北工程师支援")
    assert case.open_elements() == {"Task_choose_engineer"}  # refused: no valid certificate
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="ts.qian")
    assert case.open_elements() == {"Task_choose_engineer"}  # refused: certified, but not an installer
    with engineers.db.sessions.begin() as session:
        session.scalar(select(Engineer).where(Engineer.username == "fe.ye")).certified_until = date(2029, 11, 1)
    case.complete("Task_choose_engineer", SUPERVISOR, engineer="fe.ye")
    unpack(case)
    assert case.task("Task_contract_check").claimed_by == "fe.ye"
    [assignment] = rows(engineers, EngineerAssignment)
    assert (assignment.engineer, assignment.manual, assignment.outside_region) == ("fe.ye", True, True)
    assert [e.element_id for e in case.events("task_completed")].count("Task_choose_engineer") == 3
