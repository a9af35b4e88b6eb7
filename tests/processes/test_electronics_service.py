"""P7 电子产品售后服务: warranty from serial number and purchase date, the remote first fix, quote and consent,
dispatch by skill, region and open load (certified engineers only), replaced parts with serial numbers,
sign-off, fee settlement, archive and the 1–3 day callback with its survey; each limit just before and after."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from engine.models import OutboxMessage
from handlers.dispatching import Engineer, EngineerAssignment, seed_demo_engineers
from handlers.electronics_service import ElectronicsServiceRequest, ReplacedPart, seed_product_warranties
from tests.processes.conftest import Case

SECOND, HOUR, DAY = timedelta(seconds=1), timedelta(hours=1), timedelta(days=1)
DESK, SUPPORT, SUPERVISOR, BUSINESS = "svc.huang", "ts.qian", "sup.luo", "biz.tang"
PARTS = "主板,MB-2503-0001,MB-2611-0456\n电源模块，PS-0001，PS-0999"


@pytest.fixture
def catalogue(database, staff):
    """Warranty rules and the demo engineers (fe.zhu, ts.qian in 华东; fe.yang 华南; fe.ye 华北; ts.dong expired)."""
    with database.sessions.begin() as session:
        seed_product_warranties(session)
        seed_demo_engineers(session)


def request_form(**overrides):
    form = {"customer_name": "王强", "identity_check": "invoice", "contact_phone": "138-0000-1234",
            "contact_email": "wang.qiang@example.com", "region": "华东", "address": "上海市浦东新区张江路 88 号",
            "model": "EM-200", "serial_no": "EM200-2503-00123", "purchase_date": "2026-03-10",
            "problem": "仪表开机后显示屏无显示"}
    form.update(overrides)
    return form


def open_request(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("electronics_service", request_form(**overrides), DESK))


def remote_fix(case: Case, resolved: bool) -> None:
    case.complete("Task_remote_fix", SUPPORT, remote_method="phone", remote_guidance="指导用户长按复位键 10 秒",
                  remote_resolved=resolved)


def diagnose(case: Case, solution: str = "part_replacement", **fees) -> None:
    fees = fees or {"labour_fee": 200, "parts_fee": 650.5}
    case.complete("Task_diagnosis", SUPPORT, knowledge_base_ref="KB-0123 显示屏无显示", diagnosis="主板供电电路损坏",
                  solution=solution, quote_note="主板 650.5 元，人工 200 元", **fees)


def to_dispatch(engine, solution: str = "part_replacement", **overrides) -> Case:
    """A request that is not fixed remotely, quoted, accepted and dispatched."""
    case = open_request(engine, **overrides)
    remote_fix(case, resolved=False)
    diagnose(case, solution)
    case.complete("Task_customer_consent", DESK, customer_consent="accepted", consent_note="客户电话同意")
    return case


def serve(case: Case, engineer: str, parts: str = PARTS, demonstrated: bool = True) -> None:
    case.complete("Task_service", engineer, work_done="更换主板和电源模块", parts_replaced=parts,
                  fix_demonstrated=demonstrated)


def sign_off(case: Case) -> None:
    case.complete("Task_sign_off", DESK, sign_off_method="signature", signed_by="王强")


def survey(case: Case) -> None:
    case.complete("Task_callback", BUSINESS, response_speed=5, professionalism=4, attitude=5, resolution=4,
                  survey_comment="工程师很专业")


def service_request(engine, case: Case) -> ElectronicsServiceRequest:
    with engine.db.sessions() as session:
        request = session.scalar(select(ElectronicsServiceRequest).filter_by(instance_id=case.id))
        session.expunge(request)
        return request


def parts(engine) -> list[tuple[str, str, str]]:
    with engine.db.sessions() as session:
        return [(p.part_name, p.old_serial_no, p.new_serial_no)
                for p in session.scalars(select(ReplacedPart).order_by(ReplacedPart.id))]


def assignments(engine, case: Case) -> list[EngineerAssignment]:
    with engine.db.sessions() as session:
        rows = list(session.scalars(select(EngineerAssignment).filter_by(instance_id=case.id)
                                    .order_by(EngineerAssignment.id)))
        session.expunge_all()
        return rows


def messages(engine, case: Case) -> list[OutboxMessage]:
    with engine.db.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == case.id)
                                    .order_by(OutboxMessage.id)))




def refusals(case: Case) -> list[tuple[str, str]]:
    return [(e.detail["code"], e.detail["message"]) for e in case.events("bpmn_error")]


# -- paths --------------------------------------------------------------------------------------------
def test_in_warranty_request_fixed_remotely_then_called_back(deployed, catalogue, clock, travel):
    case = open_request(deployed)
    task = case.task("Task_remote_fix")
    assert task.department == "tech_support" and task.customer == "王强"
    assert case.instance.business_key == "DZ-2026-0001"
    assert (task.data["in_warranty"], task.data["warranty_until"], task.data["product_name"]) == \
        (True, "2027-03-09", "电子测量仪表")
    remote_fix(case, resolved=True)
    assert case.open_elements() == {"Task_sign_off"}
    sign_off(case)
    assert case.open_elements() == set()  # archived; the callback falls due after one day
    request = service_request(deployed, case)
    assert (request.status, request.remote_resolved, request.remote_by, request.chargeable) == \
        ("archived", True, SUPPORT, False)
    assert request.work_order_no is None and assignments(deployed, case) == []
    travel(by=DAY + SECOND)
    survey(case)
    assert case.instance.status == "completed"
    request = service_request(deployed, case)
    assert (request.status, request.response_speed, request.professionalism, request.attitude, request.resolution) \
        == ("surveyed", 5, 4, 5, 4)
    titles = [s.title for s in deployed.case_records(case.id)]
    assert titles == ["电子产品服务请求", "保修核验", "回访满意度调查"]
    assert case.limit("Timer_callback_limit").status == "met"


def test_out_of_warranty_quote_consent_dispatch_parts_fee_and_survey(deployed, catalogue, clock, travel):
    case = open_request(deployed, purchase_date="2025-04-01")  # 12 months: ran out on 2026-03-31
    assert case.task("Task_remote_fix").data["in_warranty"] is False
    remote_fix(case, resolved=False)
    diagnose(case)
    consent = case.task("Task_customer_consent")
    assert consent.department == "after_sales" and consent.data["fee_total"] == 850.5
    assert consent.data["chargeable"] is True and consent.data["required_skill"] == "electronics"
    case.complete("Task_customer_consent", DESK, customer_consent="accepted")

    service = case.task("Task_service")
    assert service.claimed_by == "fe.zhu" and service.department == "tech_support"
    assert service.limit_name == "派工后约定响应时限：2天内完成服务" and service.due_at == clock.now() + 2 * DAY
    assert service.data["work_order_no"] == "GD-2026-0001" and service.data["engineer_name"] == "朱磊"
    told = {(m.recipient, m.subject) for m in messages(deployed, case)}
    assert ("user:fe.zhu", "派工通知：GD-2026-0001 王强") in told
    assert ("wang.qiang@example.com", "服务工单已派工：GD-2026-0001") in told
    [assignment] = assignments(deployed, case)
    assert (assignment.engineer, assignment.skill, assignment.region, assignment.closed_at) == \
        ("fe.zhu", "electronics", "华东", None)

    clock.advance(5 * HOUR)
    serve(case, "fe.zhu")
    assert parts(deployed) == [("主板", "MB-2503-0001", "MB-2611-0456"), ("电源模块", "PS-0001", "PS-0999")]
    sign_off(case)
    assert assignments(deployed, case)[0].closed_at == clock.now()  # released at sign-off
    settle = case.task("Task_fee_settlement")
    assert settle.department == "business_office"
    case.complete("Task_fee_settlement", BUSINESS, amount_received=850.5, payment_method="wechat",
                  fee_invoice_no="FP-88001")
    assert case.open_elements() == set()
    travel(by=DAY + SECOND)
    survey(case)
    assert case.instance.status == "completed"

    request = service_request(deployed, case)
    assert (request.labour_fee, request.parts_fee, request.fee_total, request.amount_received) == \
        (Decimal("200.00"), Decimal("650.50"), Decimal("850.50"), Decimal("850.50"))
    assert (request.customer_consent, request.engineer, request.fix_demonstrated, request.status) == \
        ("accepted", "fe.zhu", True, "surveyed")
    sections = {s.title: s for s in deployed.case_records(case.id)}
    assert set(sections) == {"电子产品服务请求", "保修核验", "更换零件", "费用", "回访满意度调查", "工程师派工"}
    assert [r["new_serial_no"] for r in sections["更换零件"].rows] == ["MB-2611-0456", "PS-0999"]
    assert sections["费用"].rows[0]["quote_note"] == "主板 650.5 元，人工 200 元"
    assert case.limit("Timer_service_limit").status == "met"


def test_customer_refusing_the_quote_closes_the_request_as_declined(deployed, catalogue):
    case = open_request(deployed, serial_no="EM200-2309-00456", purchase_date="2024-06-01")
    remote_fix(case, resolved=False)
    diagnose(case)
    case.complete("Task_customer_consent", DESK, customer_consent="declined", consent_note="费用太高，不修了")
    assert case.instance.status == "completed"
    request = service_request(deployed, case)
    assert (request.status, request.customer_consent, request.consent_note) == ("declined", "declined", "费用太高，不修了")
    assert request.work_order_no is None and request.archived_at is not None
    assert assignments(deployed, case) == []
    assert [e.detail["request_no"] for e in case.events("quote_declined")] == ["DZ-2026-0001"]


def test_out_of_warranty_diagnosis_without_a_quote_goes_back(deployed, catalogue):
    case = open_request(deployed, serial_no="EM200-2309-00456", purchase_date="2024-06-01")
    remote_fix(case, resolved=False)
    diagnose(case, labour_fee=None, parts_fee=None)
    assert case.open_elements() == {"Task_diagnosis"}
    assert refusals(case)[0][0] == "QUOTE_REQUIRED"
    assert service_request(deployed, case).solution is None
    diagnose(case, labour_fee=300)
    assert case.task("Task_customer_consent").data["fee_total"] == 300


def test_in_warranty_upgrade_is_free_and_goes_to_a_software_engineer(deployed, catalogue):
    case = to_dispatch(deployed, solution="software_upgrade")
    assert case.task("Task_service").claimed_by == "ts.qian"  # fe.zhu (华东) has no software skill
    assert service_request(deployed, case).fee_total == 0
    serve(case, "ts.qian", parts="")
    sign_off(case)
    assert "Task_fee_settlement" not in case.open_elements() and parts(deployed) == []


def test_a_product_that_cannot_be_verified_goes_back_to_the_desk_until_corrected(deployed, catalogue):
    case = open_request(deployed, model="XK-7", serial_no="XK7-2503-00001")
    assert case.open_elements() == {"Task_correct_product"}
    assert refusals(case)[-1][0] == "PRODUCT_NOT_VERIFIED" and "in no warranty rule" in refusals(case)[-1][1]
    for correction, reason in [
        ({"model": "EM-200", "serial_no": "EP100-2503-00123"}, "belongs to model code EP100"),
        ({"model": "EM-200", "serial_no": "EM200/2503/123"}, "is not <model code>"),
        ({"model": "EM-200", "serial_no": "EM200-2503-00123", "purchase_date": "2025-01-10"}, "between production"),
        ({"model": "EM-200", "serial_no": "EM200-2503-00123", "purchase_date": "2026-11-17"}, "between production"),
    ]:
        case.complete("Task_correct_product", DESK, **{"purchase_date": "2026-03-10", **correction})
        assert case.open_elements() == {"Task_correct_product"}
        assert refusals(case)[-1][0] == "PRODUCT_NOT_VERIFIED" and reason in refusals(case)[-1][1]
    with deployed.db.sessions() as session:
        assert session.scalars(select(ElectronicsServiceRequest)).all() == []
    assert case.instance.business_key is None
    case.complete("Task_correct_product", DESK, model="EM-200", serial_no="em200-2503-00123",
                  purchase_date="2026-03-10", verification_note="按发票更正")
    assert case.open_elements() == {"Task_remote_fix"} and case.instance.business_key == "DZ-2026-0001"
    assert service_request(deployed, case).serial_no == "EM200-2503-00123"


def test_the_longest_model_prefix_sets_the_warranty(deployed, catalogue):
    case = open_request(deployed, model="EM-900", serial_no="EM900-2401-00077", purchase_date="2024-02-01")
    data = case.task("Task_remote_fix").data
    assert (data["warranty_months"], data["warranty_until"], data["in_warranty"]) == (36, "2027-01-31", True)


def test_nobody_qualified_the_supervisor_chooses_and_only_a_certified_choice_is_accepted(deployed, staff, database):
    with database.sessions.begin() as session:
        seed_product_warranties(session)
        seed_demo_engineers(session)
        # Only fe.ye (no electronics skill) and ts.dong (certificate ran out) are left.
        session.execute(update(Engineer).where(Engineer.username.in_(["fe.zhu", "fe.yang", "ts.qian"]))
                        .values(active=False))
    case = to_dispatch(deployed)
    choose = case.task("Task_supervisor_choose")
    assert choose.department == "service_supervisors"
    assert refusals(case)[0][0] == "NO_ENGINEER"

    case.complete("Task_supervisor_choose", SUPERVISOR, engineer="ts.dong", choice_note="董洁熟悉该型号")
    assert case.open_elements() == {"Task_supervisor_choose"}
    assert refusals(case)[-1][0] == "ENGINEER_NOT_CERTIFIED" and "ts.dong" in refusals(case)[-1][1]
    case.complete("Task_supervisor_choose", SUPERVISOR, engineer="fe.ye")
    assert refusals(case)[-1] == ("ENGINEER_NOT_CERTIFIED", "fe.ye lacks the skill 'electronics'")
    assert assignments(deployed, case) == []

    with database.sessions.begin() as session:  # ts.dong renews his certificate (上岗证)
        session.execute(update(Engineer).where(Engineer.username == "ts.dong")
                        .values(certified_until=date(2029, 12, 31), certificate_no="SG-2026-0007"))
    case.complete("Task_supervisor_choose", SUPERVISOR, engineer="ts.dong")
    assert case.task("Task_service").claimed_by == "ts.dong"
    [assignment] = assignments(deployed, case)
    assert (assignment.engineer, assignment.manual, assignment.assigned_by) == ("ts.dong", True, SUPERVISOR)
    assert ("user:ts.dong", "派工通知：GD-2026-0001 王强") in {(m.recipient, m.subject) for m in messages(deployed, case)}


def test_dispatcher_picks_by_region_and_open_load_across_cases(deployed, catalogue):
    first = to_dispatch(deployed)
    second = to_dispatch(deployed)
    south = to_dispatch(deployed, region="华南", customer_name="李娜", contact_email="")
    assert first.task("Task_service").claimed_by == "fe.zhu"
    assert second.task("Task_service").claimed_by == "ts.qian"  # same region, fe.zhu already holds one case
    assert south.task("Task_service").claimed_by == "fe.yang"
    assert ("department:after_sales", "请电话通知客户：GD-2026-0003") in \
        {(m.recipient, m.subject) for m in messages(deployed, south)}  # no e-mail: the desk phones
    serve(first, "fe.zhu", parts="")
    sign_off(first)
    third = to_dispatch(deployed)
    assert third.task("Task_service").claimed_by == "fe.zhu"  # released at sign-off: load 0 again
    north = to_dispatch(deployed, region="华北", customer_name="赵敏")
    # 华北's fe.ye has no electronics skill; elsewhere everyone holds one case: the username breaks the tie.
    service = north.task("Task_service")
    assert service.claimed_by == "fe.yang" and service.data["dispatched_outside_region"] is True


def test_invalid_parts_list_is_refused_and_nothing_is_recorded(deployed, catalogue, clock):
    case = to_dispatch(deployed)
    due = case.task("Task_service").due_at
    for bad, reason in [("主板,MB-1", "is not 零件名称,旧序列号,新序列号"),
                        ("主板,MB-1,MB-2\n电源,PS-1,MB-2", "listed twice"),
                        ("主板,MB-1,MB-1", "the old part's serial number")]:
        serve(case, "fe.zhu", parts=bad)
        assert refusals(case)[-1][0] == "PARTS_INVALID" and reason in refusals(case)[-1][1]
        task = case.task("Task_service")
        assert task.claimed_by == "fe.zhu" and task.due_at == due  # the same limit keeps running
    request = service_request(deployed, case)
    assert parts(deployed) == [] and request.work_done is None and request.serviced_at is None
    serve(case, "fe.zhu", parts="主板,MB-1,MB-2", demonstrated=False)  # another visit is needed
    assert case.task("Task_service").claimed_by == "fe.zhu" and parts(deployed) == [("主板", "MB-1", "MB-2")]
    serve(case, "fe.zhu", parts="主板,MB-9,MB-2")  # that new part is already fitted elsewhere
    assert "already recorded" in refusals(case)[-1][1]
    serve(case, "fe.zhu", parts="")
    assert case.open_elements() == {"Task_sign_off"}


# -- limits -------------------------------------------------------------------------------------------
def test_engineer_response_limit_just_before_and_after(deployed, catalogue, clock, travel):
    case = to_dispatch(deployed)
    due = case.task("Task_service").due_at
    assert due == clock.now() + 2 * DAY
    travel(due - SECOND)
    assert "Timer_service_limit" not in case.fired()
    travel(due + SECOND)
    assert "Timer_service_limit" in case.fired()
    record = case.limit("Timer_service_limit")
    assert record.status == "breached" and record.person == "fe.zhu"
    assert "head:service_supervisors" in {m.recipient for m in messages(deployed, case)}
    serve(case, "fe.zhu")  # the engineer still finishes the work
    assert case.open_elements() == {"Task_sign_off"}


def test_callback_falls_due_after_one_day_and_is_late_after_three(deployed, catalogue, clock, travel):
    case = open_request(deployed)
    remote_fix(case, resolved=True)
    sign_off(case)
    completed = clock.now()
    travel(completed + DAY - SECOND)
    assert "Task_callback" not in case.open_elements()
    travel(completed + DAY + SECOND)
    task = case.task("Task_callback")
    assert task.department == "business_office" and task.due_at == completed + 3 * DAY
    travel(completed + 3 * DAY - SECOND)
    assert case.limit("Timer_callback_limit").status != "breached"
    travel(completed + 3 * DAY + SECOND)
    assert case.limit("Timer_callback_limit").status == "breached"
    survey(case)
    assert case.instance.status == "completed" and service_request(deployed, case).status == "surveyed"


def test_callback_just_inside_three_days_is_met(deployed, catalogue, clock, travel):
    case = open_request(deployed)
    remote_fix(case, resolved=True)
    sign_off(case)
    travel(by=3 * DAY - SECOND)
    survey(case)
    assert case.limit("Timer_callback_limit").status == "met"
