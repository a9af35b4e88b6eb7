"""P7 电子产品售后服务 (seed 004): warranty from serial number and purchase date, the desk's remote first fix,
diagnosis with the fee, rough duration and preparations told to the customer, consent with a confirmed service
time, dispatch by work order type, skill, region and open load (certified engineers only), the on-site, carry-in
and mail-in paths, steps, risks and data security agreed before the repair, replaced parts with serial numbers,
sign-off, fee details and settlement, archive and the 1-3 day callback timed from the end of the service; each
limit 1 s before and after the moment it runs from, with who is told of a miss."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from engine.storage.models import OutboxMessage
from handlers.dispatching import Engineer, EngineerAssignment, seed_demo_engineers
from handlers.electronics_service import ElectronicsServiceRequest, ReplacedPart
from handlers.product_warranties import seed_product_warranties
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
    form = {"customer_name": "王强", "request_channel": "hotline", "identity_check": "invoice",
            "contact_phone": "138-0000-1234", "contact_email": "wang.qiang@example.com", "region": "华东",
            "address": "上海市浦东新区张江路 88 号", "model": "EM-200", "serial_no": "EM200-2503-00123",
            "purchase_date": "2026-03-10", "problem": "仪表开机后显示屏无显示", "fault_occurred_date": "2026-11-15",
            "usage_environment": "车间室内，常温，有粉尘", "expected_service_date": "2026-11-17",
            "expected_service_slot": "morning"}
    form.update(overrides)
    return form


def open_request(engine, **overrides) -> Case:
    return Case(engine, engine.start_instance("electronics_service", request_form(**overrides), DESK))


def remote_fix(case: Case, resolved: bool) -> None:
    case.complete("Task_remote_fix", DESK, remote_method="phone", remote_guidance="指导用户长按复位键 10 秒",
                  remote_resolved=resolved)


def diagnose(case: Case, solution: str = "part_replacement", service_type: str = "on_site", **fees) -> None:
    fees = fees or {"labour_fee": 200, "parts_fee": 650.5}
    case.complete("Task_diagnosis", SUPPORT, knowledge_base_ref="KB-0123 显示屏无显示", diagnosis="主板供电电路损坏",
                  solution=solution, service_type=service_type, quote_note="主板 650.5 元，人工 200 元",
                  expected_duration="1天", preparation="请提前备份设备数据，准备购机发票", **fees)


def consent(case: Case, **overrides) -> None:
    case.complete("Task_customer_consent", DESK, **{"customer_consent": "accepted", "service_date": "2026-11-17",
                                                    "service_slot": "morning", "consent_note": "客户电话同意",
                                                    **overrides})


def to_dispatch(engine, solution: str = "part_replacement", service_type: str = "on_site", **overrides) -> Case:
    """A request that is not fixed remotely, quoted, accepted with a confirmed service time and dispatched."""
    case = open_request(engine, **overrides)
    remote_fix(case, resolved=False)
    diagnose(case, solution, service_type)
    consent(case)
    return case


def ready(case: Case, engineer: str, **explained) -> None:
    """The engineer prepares, receives a carried-in or mailed-in device, and explains steps and risks."""
    case.complete("Task_prepare_service", engineer, tools_prepared="万用表、主板备件、维修手册 EM-200",
                  visit_time_reconfirmed=True)
    if "Task_receive_device" in case.open_elements():
        case.complete("Task_receive_device", engineer, device_received_date="2026-11-17", device_serial_checked=True,
                      device_condition="外壳完好，附电源线")
    case.complete("Task_explain_risks", engineer, **{
        "work_id_shown": True, "steps_explained": "拆机检测主板，更换主板和电源模块，通电测试",
        "risks_explained": "更换主板后需重新校准，校准数据可能丢失", "repair_consent": "agreed", **explained})


def serve(case: Case, engineer: str, parts: str = PARTS, demonstrated: bool = True) -> None:
    case.complete("Task_service", engineer, work_done="更换主板和电源模块，通电测试正常", parts_replaced=parts,
                  site_restored=True, fix_demonstrated=demonstrated)


def sign_off(case: Case) -> None:
    case.complete("Task_sign_off", DESK, sign_off_method="signature", signed_by="王强", sign_off_note="服务及时，已修好")


def survey(case: Case) -> None:
    case.complete("Task_callback", BUSINESS, callback_method="phone", response_speed=5, professionalism=4, attitude=5,
                  resolution=4, survey_comment="工程师很专业", product_suggestions="希望显示屏更亮")


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


def told(engine, case: Case, recipient: str, subject: str) -> str:
    """The body of the one message with that recipient and subject."""
    [body] = [m.body for m in messages(engine, case) if (m.recipient, m.subject) == (recipient, subject)]
    return body


def refusals(case: Case) -> list[tuple[str, str]]:
    return [(e.detail["code"], e.detail["message"]) for e in case.events("bpmn_error")]


EMAIL = "wang.qiang@example.com"
POINT = "上海市浦东新区金科路 100 号 电子产品维修中心（工作日 9:00-18:00）"


# -- paths --------------------------------------------------------------------------------------------
def test_in_warranty_request_fixed_remotely_by_the_desk_then_called_back(deployed, catalogue, clock, travel):
    case = open_request(deployed)
    task = case.task("Task_remote_fix")
    assert task.department == "after_sales" and task.customer == "王强"  # 一(一)4: the desk tries first
    assert case.instance.business_key == "DZ-2026-0001"
    assert (task.data["in_warranty"], task.data["warranty_until"], task.data["product_name"]) == \
        (True, "2027-03-09", "电子测量仪表")
    assert (task.data["fault_occurred_date"], task.data["usage_environment"]) == ("2026-11-15", "车间室内，常温，有粉尘")
    remote_fix(case, resolved=True)
    assert case.open_elements() == {"Task_sign_off"}
    assert case.task("Task_sign_off").department == "after_sales"
    sign_off(case)
    assert case.open_elements() == set()  # archived; the callback falls due one day after the remote fix
    request = service_request(deployed, case)
    assert (request.status, request.remote_resolved, request.remote_by, request.chargeable) == \
        ("archived", True, DESK, False)
    assert request.work_order_no is None and assignments(deployed, case) == []
    travel(by=DAY + SECOND)
    assert case.task("Task_callback").department == "business_office"
    survey(case)
    assert case.instance.status == "completed"
    request = service_request(deployed, case)
    assert (request.status, request.response_speed, request.professionalism, request.attitude, request.resolution) \
        == ("surveyed", 5, 4, 5, 4)
    [recorded] = case.events("survey_recorded")
    assert (recorded.detail["callback_method"], recorded.detail["product_suggestions"]) == ("phone", "希望显示屏更亮")
    titles = [s.title for s in deployed.case_records(case.id)]
    assert titles == ["电子产品服务请求", "保修核验", "回访满意度调查"]
    assert case.limit("Timer_callback_limit").status == "met"


def test_out_of_warranty_quote_consent_dispatch_parts_fee_and_survey(deployed, catalogue, clock, travel):
    case = open_request(deployed, purchase_date="2025-04-01")  # 12 months: ran out on 2026-03-31
    assert case.task("Task_remote_fix").data["in_warranty"] is False
    remote_fix(case, resolved=False)
    assert case.task("Task_diagnosis").department == "tech_support"
    diagnose(case)
    # 一(二)2: the fee, the rough duration and what to prepare are told before the customer is asked.
    assert told(deployed, case, EMAIL, "服务方案及费用：DZ-2026-0001") == (
        "您的服务请求 DZ-2026-0001（EM-200 序列号 EM200-2503-00123）评估结果：\n"
        "故障分析：主板供电电路损坏\n"
        "解决方案：更换配件，服务类型：上门\n"
        "可能产生的费用：已超出保修期（至 2026-03-31），人工费 200.00 元、配件费 650.50 元，合计 850.50 元\n"
        "大致周期：1天\n"
        "所需准备事项：请提前备份设备数据，准备购机发票\n"
        "我们将与您确认是否同意该方案及服务时间。")
    asked = case.task("Task_customer_consent")
    assert asked.department == "after_sales" and asked.data["fee_total"] == 850.5
    assert asked.data["chargeable"] is True and asked.data["required_skill"] == "electronics"
    consent(case)

    prepare = case.task("Task_prepare_service")
    assert prepare.claimed_by == "fe.zhu" and prepare.department == "tech_support"
    assert prepare.limit_name == "公司规定：派工后2天内完成服务" and prepare.due_at == clock.now() + 2 * DAY
    assert prepare.data["work_order_no"] == "GD-2026-0001" and prepare.data["engineer_name"] == "朱磊"
    [order] = case.events("work_order_opened")
    assert (order.detail["expected_service"], order.detail["service_time"], order.detail["service_type"]) == \
        ("2026-11-17 morning", "2026-11-17 morning", "on_site")
    engineer_notice = told(deployed, case, "user:fe.zhu", "派工通知：GD-2026-0001 王强")
    assert engineer_notice.startswith("服务类型：上门；确认的服务时间：2026-11-17 上午（9:00-12:00）（用户期望：2026-11-17 上午")
    assert told(deployed, case, EMAIL, "服务工单已派工：GD-2026-0001") == (
        "您的服务工单 GD-2026-0001 已派工：工程师 朱磊 将于 2026-11-17 上午（9:00-12:00） 上门服务"
        "（上海市浦东新区张江路 88 号），预计处理周期：1天。")
    [assignment] = assignments(deployed, case)
    assert (assignment.engineer, assignment.skill, assignment.region, assignment.closed_at) == \
        ("fe.zhu", "electronics", "华东", None)

    clock.advance(5 * HOUR)
    ready(case, "fe.zhu")
    assert case.task("Task_service").claimed_by == "fe.zhu"
    assert told(deployed, case, EMAIL, "维修前告知：GD-2026-0001") == (
        "工单 GD-2026-0001 维修前告知：\n操作步骤：拆机检测主板，更换主板和电源模块，通电测试\n"
        "可能风险：更换主板后需重新校准，校准数据可能丢失\n您已同意按上述步骤维修。")
    serve(case, "fe.zhu")
    assert parts(deployed) == [("主板", "MB-2503-0001", "MB-2611-0456"), ("电源模块", "PS-0001", "PS-0999")]
    sign_off(case)
    assert assignments(deployed, case)[0].closed_at == clock.now()  # released at sign-off
    settle = case.task("Task_fee_settlement")
    assert settle.department == "business_office"
    case.complete("Task_fee_settlement", BUSINESS, amount_received=850.5, payment_method="wechat",
                  fee_invoice_no="FP-88001")
    assert told(deployed, case, EMAIL, "收费明细：GD-2026-0001") == (
        "收费依据：已超出保修期（至 2026-03-31），人工费 200.00 元、配件费 650.50 元，合计 850.50 元\n"
        "收费说明：主板 650.5 元，人工 200 元\n实收 850.50 元（微信支付），发票号 FP-88001。")
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


def test_carry_in_the_customer_is_told_when_and_where_to_bring_the_device(deployed, catalogue):
    case = to_dispatch(deployed, service_type="carry_in")
    assert told(deployed, case, EMAIL, "服务工单已派工：GD-2026-0001") == (
        f"您的服务工单 GD-2026-0001 已安排送修：请于 2026-11-17 上午（9:00-12:00） 将设备送至 {POINT}，"
        "由工程师 朱磊 检修，预计处理周期：1天。")
    case.complete("Task_prepare_service", "fe.zhu", tools_prepared="主板备件")
    receive = case.task("Task_receive_device")  # 送修: the engineer receives the device the customer brings
    assert (receive.department, receive.claimed_by) == ("tech_support", "fe.zhu")
    case.complete("Task_receive_device", "fe.zhu", device_received_date="2026-11-17", device_serial_checked=True,
                  device_condition="外壳完好")
    # No visit, so no work ID to show: the steps and risks are explained and agreed by phone.
    case.complete("Task_explain_risks", "fe.zhu", steps_explained="更换主板", risks_explained="校准数据可能丢失",
                  repair_consent="agreed")
    assert case.open_elements() == {"Task_service"}
    assert "您已同意按上述步骤维修。" in told(deployed, case, EMAIL, "维修前告知：GD-2026-0001")
    serve(case, "fe.zhu", parts="")
    assert case.open_elements() == {"Task_sign_off"}


def test_mail_in_is_dispatched_by_load_alone_and_the_customer_told_where_to_send_it(deployed, catalogue):
    on_site = to_dispatch(deployed)  # fe.zhu (华东) now holds one case
    mailed = to_dispatch(deployed, service_type="mail_in", customer_name="李娜")
    # 寄修: the device comes to the repair centre, so the customer's region (华东) is no criterion.
    assert on_site.task("Task_prepare_service").claimed_by == "fe.zhu"
    task = mailed.task("Task_prepare_service")
    assert task.claimed_by == "fe.yang" and task.data["dispatched_outside_region"] is False
    [assigned] = mailed.events("engineer_assigned")
    assert (assigned.detail["work_type"], assigned.detail["by_region"]) == ("mail_in", False)
    assert told(deployed, mailed, EMAIL, "服务工单已派工：GD-2026-0002") == (
        f"您的服务工单 GD-2026-0002 已安排寄修：请于 2026-11-17 前将设备寄至 {POINT}（请注明工单号），"
        "由工程师 杨帆 检修，预计处理周期：1天。")
    ready(mailed, "fe.yang", work_id_shown=False)
    assert mailed.open_elements() == {"Task_service"}


def test_data_sensitive_device_needs_backup_and_consent_and_the_customer_is_told(deployed, catalogue):
    case = to_dispatch(deployed)
    case.complete("Task_prepare_service", "fe.zhu", tools_prepared="主板备件")
    task = case.task("Task_explain_risks")  # 一(四)2: the dispatched engineer himself
    assert (task.department, task.claimed_by) == ("tech_support", "fe.zhu")
    explain = {"steps_explained": "更换主板", "risks_explained": "存储芯片在主板上，数据可能丢失",
               "repair_consent": "agreed", "data_sensitive": True}
    case.complete("Task_explain_risks", "fe.zhu", **explain, work_id_shown=False)
    assert case.open_elements() == {"Task_explain_risks"}
    code, reason = refusals(case)[-1]
    assert code == "REPAIR_CONSENT_INCOMPLETE" and "work ID" in reason and "data protection" in reason \
        and "consent to its data" in reason
    case.complete("Task_explain_risks", "fe.zhu", **explain, work_id_shown=True, data_protection="backed_up")
    assert "consent to its data" in refusals(case)[-1][1] and case.open_elements() == {"Task_explain_risks"}
    assert [m for m in messages(deployed, case) if m.subject.startswith("维修前告知")] == []
    case.complete("Task_explain_risks", "fe.zhu", **explain, work_id_shown=True, data_protection="backed_up",
                  privacy_consent=True)
    assert case.open_elements() == {"Task_service"}
    assert told(deployed, case, EMAIL, "维修前告知：GD-2026-0001") == (
        "工单 GD-2026-0001 维修前告知：\n操作步骤：更换主板\n可能风险：存储芯片在主板上，数据可能丢失\n"
        "用户数据安全：维修前已为用户备份数据；维修人员仅为维修需要接触设备数据，不复制、不留存。\n您已同意按上述步骤维修。")
    [recorded] = case.events("repair_consent_recorded")
    assert (recorded.detail["data_sensitive"], recorded.detail["data_protection"]) == (True, "backed_up")


def test_customer_refusing_the_repair_closes_the_order_and_frees_the_engineer(deployed, catalogue):
    case = to_dispatch(deployed)
    case.complete("Task_prepare_service", "fe.zhu", tools_prepared="主板备件")
    case.complete("Task_explain_risks", "fe.zhu", work_id_shown=True, steps_explained="更换主板",
                  risks_explained="校准数据可能丢失", repair_consent="declined")
    assert case.instance.status == "completed"
    assert service_request(deployed, case).status == "repair_refused"
    assert assignments(deployed, case)[0].closed_at is not None
    assert told(deployed, case, EMAIL, "维修前告知：GD-2026-0001").endswith("您未同意维修，本次不进行维修。")
    assert told(deployed, case, EMAIL, "服务工单已关闭：GD-2026-0001") == \
        "您未同意维修，服务工单 GD-2026-0001 已关闭。如需再次服务，请随时联系我们。"
    assert case.limit("Timer_service_limit").status == "met"


def test_consent_needs_a_confirmed_service_time_not_in_the_past(deployed, catalogue):
    case = open_request(deployed)
    assert case.task("Task_remote_fix").data["expected_service_date"] == "2026-11-17"
    remote_fix(case, resolved=False)
    diagnose(case)
    consent(case, service_date=None, service_slot=None)
    assert case.open_elements() == {"Task_customer_consent"}
    assert refusals(case)[-1][0] == "SERVICE_TIME_REQUIRED" and "2026-11-17" in refusals(case)[-1][1]
    consent(case, service_date="2026-11-15")
    assert "has passed" in refusals(case)[-1][1] and service_request(deployed, case).customer_consent is None
    consent(case, service_date="2026-11-18", service_slot="afternoon")
    assert case.task("Task_prepare_service").claimed_by == "fe.zhu"
    assert "将于 2026-11-18 下午（13:00-18:00） 上门服务" in told(deployed, case, EMAIL, "服务工单已派工：GD-2026-0001")


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
    assert service_request(deployed, case).solution is None and messages(deployed, case) == []
    diagnose(case, labour_fee=300)
    assert case.task("Task_customer_consent").data["fee_total"] == 300


def test_in_warranty_upgrade_is_free_and_goes_to_a_software_engineer(deployed, catalogue):
    case = to_dispatch(deployed, solution="software_upgrade")
    assert case.task("Task_prepare_service").claimed_by == "ts.qian"  # fe.zhu (华东) has no software skill
    assert service_request(deployed, case).fee_total == 0
    assert "可能产生的费用：在保修期内（至 2027-03-09），免费" in told(deployed, case, EMAIL, "服务方案及费用：DZ-2026-0001")
    ready(case, "ts.qian")
    serve(case, "ts.qian", parts="")
    sign_off(case)
    assert "Task_fee_settlement" not in case.open_elements() and parts(deployed) == []


def test_a_product_that_cannot_be_verified_goes_back_to_the_desk_until_corrected(deployed, catalogue):
    case = open_request(deployed, model="XK-7", serial_no="XK7-2503-00001")
    assert case.open_elements() == {"Task_correct_product"}
    assert case.task("Task_correct_product").department == "after_sales"
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
    assert case.task("Task_prepare_service").claimed_by == "ts.dong"
    [assignment] = assignments(deployed, case)
    assert (assignment.engineer, assignment.manual, assignment.assigned_by) == ("ts.dong", True, SUPERVISOR)
    assert ("user:ts.dong", "派工通知：GD-2026-0001 王强") in {(m.recipient, m.subject) for m in messages(deployed, case)}


def test_dispatcher_picks_by_region_and_open_load_across_cases(deployed, catalogue):
    first = to_dispatch(deployed)
    second = to_dispatch(deployed)
    south = to_dispatch(deployed, region="华南", customer_name="李娜", contact_email="")
    assert first.task("Task_prepare_service").claimed_by == "fe.zhu"
    assert second.task("Task_prepare_service").claimed_by == "ts.qian"  # same region, fe.zhu already holds one
    assert south.task("Task_prepare_service").claimed_by == "fe.yang"
    # No e-mail: the desk is asked to phone the customer the same text.
    assert told(deployed, south, "department:after_sales", "请电话告知客户：服务工单已派工：GD-2026-0003") == (
        "李娜 138-0000-1234：\n您的服务工单 GD-2026-0003 已派工：工程师 杨帆 将于 2026-11-17 上午（9:00-12:00） "
        "上门服务（上海市浦东新区张江路 88 号），预计处理周期：1天。")
    ready(first, "fe.zhu")
    serve(first, "fe.zhu", parts="")
    sign_off(first)
    third = to_dispatch(deployed)
    assert third.task("Task_prepare_service").claimed_by == "fe.zhu"  # released at sign-off: load 0 again
    north = to_dispatch(deployed, region="华北", customer_name="赵敏")
    # 华北's fe.ye has no electronics skill; elsewhere everyone holds one case: the username breaks the tie.
    task = north.task("Task_prepare_service")
    assert task.claimed_by == "fe.yang" and task.data["dispatched_outside_region"] is True


def test_invalid_parts_list_is_refused_and_nothing_is_recorded(deployed, catalogue, clock):
    case = to_dispatch(deployed)
    ready(case, "fe.zhu")
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
def test_company_service_limit_two_days_from_dispatch_just_before_and_after(deployed, catalogue, clock, travel):
    case = to_dispatch(deployed)
    dispatched = clock.now()
    record = case.limit("Timer_service_limit")
    assert (record.started_at, record.due_at, record.name) == \
        (dispatched, dispatched + 2 * DAY, "公司规定：派工后2天内完成服务")
    ready(case, "fe.zhu")  # the one limit spans preparing, explaining and the repair
    assert case.task("Task_service").due_at == dispatched + 2 * DAY
    travel(dispatched + 2 * DAY - SECOND)
    assert "Timer_service_limit" not in case.fired() and case.limit("Timer_service_limit").status == "running"
    travel(dispatched + 2 * DAY + SECOND)
    assert "Timer_service_limit" in case.fired()
    record = case.limit("Timer_service_limit")
    assert record.status == "breached" and record.person == "fe.zhu"
    breach = {m.recipient for m in messages(deployed, case) if m.subject.startswith("超时：公司规定：派工后2天内完成服务")}
    assert breach == {"user:fe.zhu", "head:tech_support", "head:service_supervisors"}
    serve(case, "fe.zhu")  # the engineer still finishes the work
    assert case.open_elements() == {"Task_sign_off"}


CALLBACK = "服务完成后的一定期限内（如1-3天）进行回访：3天内完成"


def test_callback_runs_from_the_end_of_the_service_not_from_sign_off_or_settlement(deployed, catalogue, clock,
                                                                                  travel):
    case = to_dispatch(deployed, purchase_date="2025-04-01")  # out of warranty: a fee to settle
    ready(case, "fe.zhu")
    serve(case, "fe.zhu")
    completed = clock.now()  # 一(七)1: 服务完成后 - the repair is done and shown to the customer
    record = case.limit("Timer_callback_limit")
    assert (record.started_at, record.due_at, record.name, record.department) == \
        (completed, completed + 3 * DAY, CALLBACK, "business_office")
    travel(completed + 5 * HOUR)
    sign_off(case)  # sign-off and settlement run beside the callback clock
    travel(completed + DAY - SECOND)
    assert "Task_callback" not in case.open_elements()
    travel(completed + DAY + SECOND)
    task = case.task("Task_callback")
    assert task.department == "business_office" and task.due_at == completed + 3 * DAY
    assert task.limit_name == CALLBACK
    travel(completed + 3 * DAY - SECOND)
    assert case.limit("Timer_callback_limit").status == "running"
    travel(completed + 3 * DAY + SECOND)
    assert case.limit("Timer_callback_limit").status == "breached"
    breach = {m.recipient for m in messages(deployed, case) if m.subject.startswith(f"超时：{CALLBACK}")}
    assert breach == {"department:business_office"}  # nobody holds it yet: the department and so its head
    survey(case)  # surveyed before the fee is settled
    assert case.instance.status == "running" and service_request(deployed, case).status == "open"
    case.complete("Task_fee_settlement", BUSINESS, amount_received=850.5, payment_method="cash")
    assert case.instance.status == "completed" and service_request(deployed, case).status == "surveyed"


def test_callback_after_a_remote_fix_runs_from_the_remote_fix(deployed, catalogue, clock, travel):
    case = open_request(deployed)
    remote_fix(case, resolved=True)
    completed = clock.now()
    travel(completed + 2 * DAY)  # the sign-off waits two days: the callback clock does not
    assert case.task("Task_callback").due_at == completed + 3 * DAY
    sign_off(case)
    case.task("Task_callback")
    travel(completed + 3 * DAY - SECOND)
    assert case.limit("Timer_callback_limit").status == "running"
    travel(completed + 3 * DAY + SECOND)
    assert case.limit("Timer_callback_limit").status == "breached"
    survey(case)
    assert case.instance.status == "completed" and service_request(deployed, case).status == "surveyed"


def test_callback_just_inside_three_days_is_met(deployed, catalogue, clock, travel):
    case = open_request(deployed)
    remote_fix(case, resolved=True)
    sign_off(case)
    travel(by=3 * DAY - 2 * SECOND)
    case.complete("Task_callback", BUSINESS, callback_method="sms", response_speed=4, professionalism=4, attitude=4,
                  resolution=4)
    assert case.limit("Timer_callback_limit").status == "met"
    assert case.instance.status == "completed"
