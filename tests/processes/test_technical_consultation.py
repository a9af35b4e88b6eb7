"""P5 技术咨询: a consultation answered 及时 (the text's word; 30 minutes is the company's rule, a second either
side), recorded and filed in the customer service file; a prominent issue gives an advisory notice (忠告性通知)
drafted by the after-sales department (the text names no other), approved by the after-sales head only, sent to
every customer (e-mail, else a phone call by the business office), and a correction of the operating
instructions by technical support, each within its company limit, and who is told of each miss."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.errors import HeadsOnly
from engine.storage.models import OutboxMessage
from handlers.consultations import AdvisoryNotice, InstructionRevision, TechnicalConsultation
from handlers.customer_files import CustomerDevice, customer_service_file
from tests.conftest import BEIJING
from tests.processes.conftest import Case

SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)
CUSTOMER = "华东机电有限公司"


def consult(engine, customer: str = CUSTOMER, email: str | None = "wang@huadong.example.com") -> Case:
    form = {"customer": customer, "contact": "王经理 138-0000-1234", "contact_email": email,
            "device_model": "JZ-200", "serial_no": "JZ200-2026-0815", "channel": "phone",
            "question": "更换刀具后主轴报警 E21 如何复位？"}
    return Case(engine, engine.start_instance("technical_consultation", form, "svc.huang"))


def answer(case: Case, prominent: bool = False, **overrides) -> None:
    data = {"answer": "断电30秒后按复位键，再执行刀具长度测量", "topic": "operation", "prominent": prominent,
            "prominent_reason": "多家客户反映说明书未写明E21复位步骤" if prominent else None}
    data.update(overrides)
    case.complete("Task_answer", "ts.qian", **data)



def told(engine, subject_part: str) -> set[str]:
    with engine.db.sessions() as session:
        return {m.recipient for m in session.scalars(select(OutboxMessage)) if subject_part in m.subject}


def consultation(engine, case: Case) -> TechnicalConsultation:
    with engine.db.sessions() as session:
        return session.scalars(select(TechnicalConsultation).filter_by(instance_id=case.id)).one()


def test_a_consultation_answered_at_once_is_recorded_and_filed(deployed, clock, travel):
    case = consult(deployed)
    assert case.instance.business_key == "ZX-2026-0001"
    task = case.task("Task_answer")
    assert task.department == "tech_support" and task.due_at == clock.now() + 30 * MINUTE
    travel(by=30 * MINUTE - SECOND)
    answer(case)
    assert case.instance.status == "completed"
    assert case.limit("Timer_answer").status == "met"
    record = consultation(deployed, case)
    assert (record.consultation_no, record.answered_by, record.answered_at, record.topic, record.prominent) == \
        ("ZX-2026-0001", "ts.qian", clock.now(), "operation", False)
    with deployed.db.sessions() as session:
        [entry] = customer_service_file(session, CUSTOMER)
        assert (entry.kind, entry.document, entry.business_key, entry.serial_no) == \
            ("consultation", "《技术咨询记录》", "ZX-2026-0001", "JZ200-2026-0815")
        assert "断电30秒后按复位键" in entry.summary
        assert session.scalars(select(AdvisoryNotice)).all() == []
    assert "Task_draft_notice" not in case.open_elements()
    assert consult(deployed).instance.business_key == "ZX-2026-0002"


def test_an_answer_a_second_late_is_a_breach(deployed, clock, travel):
    received = clock.now()
    case = consult(deployed)
    task = case.task("Task_answer")
    assert task.limit_name == "公司规定：受理后30分钟内答复（程序4.6：及时响应）" and task.limit_source == "company"
    travel(by=30 * MINUTE - SECOND)
    assert case.limit("Timer_answer").status == "running"
    travel(by=2 * SECOND)  # a second past the limit
    limit = case.limit("Timer_answer")
    assert (limit.status, limit.source, limit.started_at) == ("breached", "company", received)
    assert told(deployed, "超时：公司规定：受理后30分钟") == {"department:tech_support"}  # nobody holds it yet
    assert case.task("Task_answer").state == "open"  # the answer is still owed
    answer(case)
    assert case.instance.status == "completed"


def test_a_prominent_issue_needs_its_reason(deployed):
    case = consult(deployed)
    answer(case, prominent=True, prominent_reason="")
    assert case.open_elements() == {"Task_answer"}  # back to the engineer, nothing recorded or filed
    assert [e.detail["code"] for e in case.events("bpmn_error")] == ["PROMINENT_REASON_REQUIRED"]
    assert case.events("incident_opened") == []
    assert consultation(deployed, case).answered_at is None
    with deployed.db.sessions() as session:
        assert customer_service_file(session, CUSTOMER) == []
    answer(case, prominent=True)
    assert case.open_elements() == {"Task_draft_notice", "Task_revise_instructions"}


def test_a_prominent_issue_becomes_an_advisory_notice_and_an_instructions_revision(deployed, clock, travel):
    # Customers known to the company: one by an earlier consultation with e-mail, one by a device only.
    earlier = consult(deployed, customer="北方重工", email="li@beifang.example.com")
    answer(earlier)
    with deployed.db.sessions.begin() as session:
        session.add(CustomerDevice(customer="华南电器", device_model="JZ-200", serial_no="JZ200-2025-0001",
                                   registered_at=clock.now()))
    case = consult(deployed)
    answer(case, prominent=True)
    assert case.open_elements() == {"Task_draft_notice", "Task_revise_instructions"}
    started = clock.now()
    assert case.task("Task_draft_notice").department == "after_sales"  # 4.6: 售后服务部
    assert case.task("Task_revise_instructions").department == "tech_support"
    assert case.limit("Timer_draft_notice").due_at == datetime(2026, 11, 19, 9, 0, tzinfo=BEIJING)
    assert case.limit("Timer_revise_instructions").due_at == \
        datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING)

    travel(by=timedelta(hours=2))
    case.complete("Task_draft_notice", "svc.huang", notice_title="JZ-200 主轴报警E21复位方法",
                  notice_content="更换刀具后出现E21报警时，断电30秒后按复位键", affected_models="JZ-200")
    approve = case.task("Task_approve_notice")
    assert approve.department == "after_sales"
    assert case.limit("Timer_approve_notice").due_at == datetime(2026, 11, 18, 11, 0, tzinfo=BEIJING)
    with pytest.raises(HeadsOnly):  # only the after-sales head approves
        case.complete("Task_approve_notice", "svc.huang", approval="approved")
    assert case.task("Task_approve_notice").state == "open"
    # Returned once for changes, redrafted, approved.
    case.complete("Task_approve_notice", "svc.lin", approval="returned", approval_opinion="请补充适用序列号范围")
    assert case.task("Task_draft_notice").data["approval_opinion"] == "请补充适用序列号范围"
    case.complete("Task_draft_notice", "svc.huang", notice_title="JZ-200 主轴报警E21复位方法",
                  notice_content="2025年以后出厂的JZ-200：断电30秒后按复位键", affected_models="JZ-200")
    case.complete("Task_approve_notice", "svc.lin", approval="approved", approval_opinion="同意发出")
    assert case.open_elements() == {"Task_revise_instructions"}

    with deployed.db.sessions() as session:
        notice = session.scalars(select(AdvisoryNotice).filter_by(instance_id=case.id)).one()
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == case.id)
                               .order_by(OutboxMessage.id)).all()
    assert (notice.notice_no, notice.consultation_no, notice.drafted_by, notice.approved_by) == \
        ("ZG-2026-0001", "ZX-2026-0002", "svc.huang", "svc.lin")
    assert notice.content.startswith("2025年以后出厂")
    assert notice.recipients == [
        {"customer": "北方重工", "email": "li@beifang.example.com", "by": "email"},
        {"customer": "华东机电有限公司", "email": "wang@huadong.example.com", "by": "email"},
        {"customer": "华南电器", "email": None, "by": "phone"}]
    mails = [(m.recipient, m.subject) for m in sent if "@" in m.recipient]
    assert mails == [("li@beifang.example.com", "忠告性通知 ZG-2026-0001：JZ-200 主轴报警E21复位方法"),
                     ("wang@huadong.example.com", "忠告性通知 ZG-2026-0001：JZ-200 主轴报警E21复位方法")]
    [phone] = [m for m in sent if m.recipient == "department:business_office"]
    assert "华南电器" in phone.body and "北方重工" not in phone.body

    travel(started + timedelta(days=14) - SECOND)  # 30 November 08:59:59, a second before the 10 working days
    assert case.limit("Timer_revise_instructions").status == "running"
    case.complete("Task_revise_instructions", "ts.qian", instruction_document="JZ-200 使用说明书 SM-JZ200",
                  revision_no="B/1", revision_summary="第5.3节增加E21报警复位步骤")
    assert case.instance.status == "completed"
    assert case.limit("Timer_revise_instructions").status == "met"
    with deployed.db.sessions() as session:
        revision = session.scalars(select(InstructionRevision).filter_by(instance_id=case.id)).one()
    assert (revision.revision_no, revision.revised_by, revision.consultation_no) == ("B/1", "ts.qian", "ZX-2026-0002")
    titles = [s.title for s in deployed.case_records(case.id)]
    assert {"技术咨询记录", "忠告性通知", "使用说明书修订", "客户服务档案"} <= set(titles)


def test_the_revision_a_second_past_ten_working_days_is_a_breach(deployed, clock, travel):
    case = consult(deployed)
    answer(case, prominent=True)
    travel(datetime(2026, 11, 30, 9, 0, 1, tzinfo=BEIJING))
    revise, draft = case.limit("Timer_revise_instructions"), case.limit("Timer_draft_notice")
    assert (revise.status, revise.department, revise.source) == ("breached", "tech_support", "company")
    assert (draft.status, draft.department, draft.source) == ("breached", "after_sales", "company")
    assert "Task_revise_instructions" in case.open_elements()
    assert told(deployed, "超时：公司规定：3个工作日内起草") == {"department:after_sales"}
    assert told(deployed, "超时：公司规定：10个工作日内校正") == {"department:tech_support"}


def test_the_company_limits_on_a_prominent_issue_a_second_either_side(deployed, clock, travel):
    case = consult(deployed)
    answer(case, prominent=True)  # Monday 16 November 09:00: the issue is found prominent, both works start
    flagged = clock.now()
    draft_due = datetime(2026, 11, 19, 9, 0, tzinfo=BEIJING)  # 3 working days
    travel(draft_due - SECOND)
    assert case.limit("Timer_draft_notice").status == "running"
    travel(draft_due + SECOND)
    draft = case.limit("Timer_draft_notice")
    assert (draft.status, draft.started_at) == ("breached", flagged)
    case.complete("Task_draft_notice", "svc.huang", notice_title="E21复位", notice_content="断电30秒后复位",
                  affected_models="JZ-200")
    approve_due = case.limit("Timer_approve_notice").due_at  # from the draft: Thursday 09:00:01 + 2 working days
    assert approve_due == datetime(2026, 11, 23, 9, 0, 1, tzinfo=BEIJING)
    travel(approve_due - SECOND)
    assert case.limit("Timer_approve_notice").status == "running"
    travel(approve_due + SECOND)
    approve = case.limit("Timer_approve_notice")
    assert (approve.status, approve.department, approve.source) == ("breached", "after_sales", "company")
    # nobody holds the heads-only approval: the after-sales department (its heads included) is told
    assert told(deployed, "超时：公司规定：售后服务部负责人2个工作日") == {"department:after_sales"}
