"""P5 technical consultations (售后服务控制程序): each consultation answered at once, recorded and filed in the
customer service file; a prominent issue becomes an advisory notice (忠告性通知) to all customers and a
revision of the operating instructions; the month's consultations are summarised for the technical support
head. Limits, forms and routes live in the diagrams technical_consultation and consultation_summary."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, BpmnError, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.customer_files import CustomerDevice, CustomerServiceFileEntry, file_record
from handlers.numbering import BEIJING, next_number

registry = HandlerRegistry()

TOPICS = {"operation": ("操作使用", "Operation"), "fault": ("故障排除", "Troubleshooting"),
          "maintenance": ("保养维护", "Maintenance"), "parameters": ("技术参数", "Specifications"),
          "software": ("软件", "Software"), "other": ("其他", "Other")}


class TechnicalConsultation(Base):
    """One consultation (技术咨询记录): the question, the answer given at once, and whether it is prominent."""

    __tablename__ = "technical_consultations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    contact: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    device_model: Mapped[str] = mapped_column(String(120), index=True)
    serial_no: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(20))
    question: Mapped[str] = mapped_column(Text)
    received_by: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    topic: Mapped[str | None] = mapped_column(String(40))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    prominent: Mapped[bool] = mapped_column(Boolean, default=False)
    prominent_reason: Mapped[str | None] = mapped_column(Text)


class AdvisoryNotice(Base):
    """The 《忠告性通知》 on a prominent issue: drafted, approved, and to whom it went (e-mail or a phone call)."""

    __tablename__ = "advisory_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    consultation_no: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    affected_models: Mapped[str] = mapped_column(String(500))
    drafted_by: Mapped[str] = mapped_column(String(120))
    approved_by: Mapped[str] = mapped_column(String(120))
    approval_opinion: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    @property
    def emailed(self) -> int:
        return sum(1 for r in self.recipients if r["by"] == "email")

    @property
    def to_phone(self) -> str:
        return "、".join(r["customer"] for r in self.recipients if r["by"] == "phone")


class InstructionRevision(Base):
    """A revision of the operating instructions (使用说明书) made because of a prominent consultation."""

    __tablename__ = "instruction_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    consultation_no: Mapped[str] = mapped_column(String(40), index=True)
    document: Mapped[str] = mapped_column(String(200))
    revision_no: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    revised_by: Mapped[str] = mapped_column(String(120))
    revised_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsultationSummary(Base):
    """One month's consultation summary (技术咨询月度汇总) and the technical support head's review."""

    __tablename__ = "consultation_summaries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    review_comments: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _consultation(ctx: HandlerContext) -> TechnicalConsultation:
    record = ctx.session.scalar(select(TechnicalConsultation).where(TechnicalConsultation.instance_id
                                                                     == ctx.instance_id))
    if record is None:
        raise LookupError(f"instance {ctx.instance_id} has no technical consultation")
    return record


def _lines(*pairs: tuple[str, Any]) -> str:
    return "；".join(f"{label}：{value}" for label, value in pairs if value not in (None, ""))


@registry.handler("consultations.register")
def register(ctx: HandlerContext) -> dict[str, Any]:
    """Number the consultation (ZX-2026-0001) as the case's business key when it comes in."""
    data = ctx.data
    number = next_number(ctx.session, TechnicalConsultation.consultation_no, "ZX", ctx.now)
    ctx.session.add(TechnicalConsultation(
        consultation_no=number, instance_id=ctx.instance_id, customer=data["customer"], contact=data["contact"],
        contact_email=data.get("contact_email") or None, device_model=data["device_model"],
        serial_no=data.get("serial_no") or None, channel=data["channel"], question=data["question"],
        received_by=ctx.actor, received_at=ctx.now))
    ctx.assign_business_key(number)
    return {"consultation_no": number}


@registry.handler("consultations.record_answer")
def record_answer(ctx: HandlerContext) -> dict[str, Any]:
    """Keep the answer and file the consultation in the customer service file; a prominent issue without its
    reason goes back to the engineer (the diagram catches PROMINENT_REASON_REQUIRED)."""
    data = ctx.data
    prominent = bool(data.get("prominent"))
    if prominent and not (data.get("prominent_reason") or "").strip():
        raise BpmnError("PROMINENT_REASON_REQUIRED", "a prominent issue needs the reason it is prominent")
    record = _consultation(ctx)
    record.topic, record.answer = data["topic"], data["answer"]
    record.answered_by, record.answered_at = ctx.actor, ctx.now
    record.prominent, record.prominent_reason = prominent, (data.get("prominent_reason") or None) if prominent else None
    file_record(ctx, "consultation", ctx.property("document") or "《技术咨询记录》",
                _lines(("咨询单号", record.consultation_no), ("型号", record.device_model),
                       ("问题", record.question), ("答复", record.answer),
                       ("突出问题", record.prominent_reason if prominent else None)), serial_no=record.serial_no)
    return {"prominent": prominent}


def notice_customers(session: Session) -> list[tuple[str, str | None]]:
    """Every customer the company serves (the customer service file, the devices, the consultations) with
    the latest e-mail a consultation left for them, or None."""
    customers = set(session.scalars(select(CustomerServiceFileEntry.customer)))
    customers |= set(session.scalars(select(CustomerDevice.customer)))
    emails: dict[str, str] = {}
    for customer, email in session.execute(select(TechnicalConsultation.customer, TechnicalConsultation.contact_email)
                                           .order_by(TechnicalConsultation.received_at, TechnicalConsultation.id)):
        customers.add(customer)
        if email:
            emails[customer] = email
    return [(customer, emails.get(customer)) for customer in sorted(customers)]


@registry.handler("consultations.send_advisory_notice")
def send_advisory_notice(ctx: HandlerContext) -> dict[str, Any]:
    """The approved 《忠告性通知》 goes to every customer: by e-mail where one is known; the customers without
    one are listed for the department the `phone_by` property names to phone."""
    phone_by = ctx.property("phone_by")
    if phone_by is None:
        raise ValueError("the task needs the property phone_by (e.g. business_office)")
    data = ctx.data
    record = _consultation(ctx)
    number = next_number(ctx.session, AdvisoryNotice.notice_no, "ZG", ctx.now)
    subject = f"忠告性通知 {number}：{data['notice_title']}"
    body = f"{data['notice_content']}\n\n适用型号：{data['affected_models']}"
    recipients = []
    for customer, email in notice_customers(ctx.session):
        if email:
            ctx.outbox.notify(email, subject, f"{customer}：\n\n{body}")
        recipients.append({"customer": customer, "email": email, "by": "email" if email else "phone"})
    to_phone = [r["customer"] for r in recipients if r["by"] == "phone"]
    if to_phone:
        ctx.outbox.notify(f"department:{phone_by}", f"请电话通知客户：{subject}",
                          f"以下客户无电子邮箱，请电话告知忠告性通知内容：{'、'.join(to_phone)}\n\n{body}")
    ctx.session.add(AdvisoryNotice(
        notice_no=number, instance_id=ctx.instance_id, consultation_no=record.consultation_no,
        title=data["notice_title"], content=data["notice_content"], affected_models=data["affected_models"],
        drafted_by=data.get("drafted_by") or "", approved_by=ctx.actor, approval_opinion=data.get("approval_opinion"),
        sent_at=ctx.now, recipients=recipients))
    ctx.audit("advisory_notice_sent", {"notice_no": number, "customers": len(recipients), "to_phone": to_phone})
    return {"notice_no": number}


@registry.handler("consultations.record_notice_draft")
def record_notice_draft(ctx: HandlerContext) -> dict[str, Any]:
    """Who drafted the notice, for the record kept when it is sent."""
    return {"drafted_by": ctx.actor}


@registry.handler("consultations.record_instruction_revision")
def record_instruction_revision(ctx: HandlerContext) -> dict[str, Any]:
    """The correction of the operating instructions (P5 4.6), recorded against the consultation."""
    data = ctx.data
    ctx.session.add(InstructionRevision(
        instance_id=ctx.instance_id, consultation_no=_consultation(ctx).consultation_no,
        document=data["instruction_document"], revision_no=data["revision_no"], summary=data["revision_summary"],
        revised_by=ctx.actor, revised_at=ctx.now))
    return {}


# -- the monthly summary -----------------------------------------------------------------------------
def previous_month(scheduled_for: Any) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month before the occurrence, midnight to midnight Beijing time."""
    if not scheduled_for:
        raise ValueError("the summary starts from its timer: the case variable scheduled_for is missing")
    moment = scheduled_for if isinstance(scheduled_for, datetime) else datetime.fromisoformat(str(scheduled_for))
    end = moment.astimezone(BEIJING).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (end - timedelta(days=1)).replace(day=1), end


def month_content(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The month's consultations counted by topic and model, the prominent ones and the notices sent."""
    consultations = list(session.scalars(select(TechnicalConsultation).where(
        TechnicalConsultation.received_at >= start, TechnicalConsultation.received_at < end)
        .order_by(TechnicalConsultation.consultation_no)))
    notices = list(session.scalars(select(AdvisoryNotice).where(AdvisoryNotice.sent_at >= start,
                                                                AdvisoryNotice.sent_at < end)
                                   .order_by(AdvisoryNotice.notice_no)))
    return {
        "period": f"{start:%Y-%m}", "total": len(consultations),
        "unanswered": sum(1 for c in consultations if c.answered_at is None),
        "by_topic": dict(sorted(Counter(c.topic or "unanswered" for c in consultations).items())),
        "by_model": dict(sorted(Counter(c.device_model for c in consultations).items())),
        "prominent": [{"consultation_no": c.consultation_no, "customer": c.customer, "model": c.device_model,
                       "reason": c.prominent_reason} for c in consultations if c.prominent],
        "notices": [{"notice_no": n.notice_no, "title": n.title, "customers": len(n.recipients)} for n in notices],
    }


def summary_text(content: dict[str, Any]) -> str:
    topics = "、".join(f"{TOPICS.get(k, (k,))[0]} {v}" for k, v in content["by_topic"].items()) or "无"
    models = "、".join(f"{k} {v}" for k, v in content["by_model"].items()) or "无"
    return (f"{content['period']} 技术咨询共 {content['total']} 次（未答复 {content['unanswered']} 次）；"
            f"按类别：{topics}；按型号：{models}；突出问题 {len(content['prominent'])} 个；"
            f"发出忠告性通知 {len(content['notices'])} 份")


@registry.handler("consultations.summarise_month")
def summarise_month(ctx: HandlerContext) -> dict[str, Any]:
    """The summary of last month's consultations (ZXHZ-2026-11), numbered as the case's business key."""
    start, end = previous_month(ctx.data.get("scheduled_for"))
    content = month_content(ctx.session, start, end)
    stem = f"ZXHZ-{start:%Y-%m}"
    taken = set(ctx.session.scalars(select(ConsultationSummary.report_no)
                                    .where(ConsultationSummary.report_no.like(f"{stem}%"))))
    report_no = stem if stem not in taken else f"{stem}-{len(taken) + 1}"
    ctx.session.add(ConsultationSummary(report_no=report_no, instance_id=ctx.instance_id, period_start=start,
                                        period_end=end, content=content))
    ctx.assign_business_key(report_no)
    return {"report_no": report_no, "report_summary": summary_text(content)}


@registry.handler("consultations.record_summary_review")
def record_summary_review(ctx: HandlerContext) -> dict[str, Any]:
    """The technical support head's review of the month's summary."""
    report = ctx.session.scalar(select(ConsultationSummary).where(ConsultationSummary.instance_id == ctx.instance_id))
    if report is None:
        raise LookupError(f"instance {ctx.instance_id} has no consultation summary")
    report.review_comments, report.reviewed_by, report.reviewed_at = ctx.data["review_comments"], ctx.actor, ctx.now
    return {}


# -- what the case pages show -----------------------------------------------------------------------
@registry.case_records
def consultation_record(session: Session, instance_id: int) -> RecordSection | None:
    records = list(session.scalars(select(TechnicalConsultation).where(TechnicalConsultation.instance_id
                                                                        == instance_id)))
    return RecordSection.of("技术咨询记录", "Technical consultation", [
        ("consultation_no", "咨询单号", "Number"), ("customer", "客户", "Customer"), ("contact", "联系人", "Contact"),
        ("device_model", "型号", "Model"), ("question", "问题", "Question"), ("topic", "类别", "Topic"),
        ("answer", "答复", "Answer"), ("answered_by", "答复人", "Answered by"), ("answered_at", "答复时间", "Answered at"),
        ("prominent", "突出问题", "Prominent"), ("prominent_reason", "原因", "Reason"),
    ], records, labels={"topic": TOPICS})


@registry.case_records
def advisory_notice_record(session: Session, instance_id: int) -> RecordSection | None:
    notices = list(session.scalars(select(AdvisoryNotice).where(AdvisoryNotice.instance_id == instance_id)))
    return RecordSection.of("忠告性通知", "Advisory notice", [
        ("notice_no", "通知编号", "Number"), ("title", "标题", "Title"), ("affected_models", "适用型号", "Models"),
        ("drafted_by", "起草", "Drafted by"), ("approved_by", "批准", "Approved by"), ("sent_at", "发出时间", "Sent at"),
        ("emailed", "邮件发送（家）", "E-mailed"), ("to_phone", "待电话通知", "To phone"),
    ], notices)


@registry.case_records
def instruction_revision_record(session: Session, instance_id: int) -> RecordSection | None:
    revisions = list(session.scalars(select(InstructionRevision).where(InstructionRevision.instance_id
                                                                       == instance_id)))
    return RecordSection.of("使用说明书修订", "Operating instructions revision", [
        ("document", "说明书", "Document"), ("revision_no", "修订号", "Revision"), ("summary", "修订内容", "Summary"),
        ("revised_by", "修订人", "Revised by"), ("revised_at", "修订时间", "Revised at"),
    ], revisions)


@registry.case_records
def consultation_summary_record(session: Session, instance_id: int) -> RecordSection | None:
    """The month's summary as rows: figures by topic and model, prominent issues, notices, the review."""
    report = session.scalar(select(ConsultationSummary).where(ConsultationSummary.instance_id == instance_id))
    if report is None:
        return None
    content = report.content
    rows = [{"item_section": "概况", "item": "技术咨询（次）", "figure": content["total"]}]
    rows += [{"item_section": "按类别", "item": TOPICS.get(k, (k,))[0], "figure": v}
             for k, v in content["by_topic"].items()]
    rows += [{"item_section": "按型号", "item": k, "figure": v} for k, v in content["by_model"].items()]
    rows += [{"item_section": "突出问题", "item": p["consultation_no"], "figure": None,
              "remark": f"{p['customer']} {p['model']}：{p['reason']}"} for p in content["prominent"]]
    rows += [{"item_section": "忠告性通知", "item": n["notice_no"], "figure": n["customers"], "remark": n["title"]}
             for n in content["notices"]]
    if report.review_comments:
        rows.append({"item_section": "评审", "item": report.reviewed_by, "figure": None,
                     "remark": report.review_comments})
    return RecordSection(f"技术咨询月度汇总 {report.report_no}", f"Monthly consultation summary {report.report_no}", [
        ("item_section", "栏目", "Section"), ("item", "项目", "Item"), ("figure", "数值", "Figure"),
        ("remark", "说明", "Remark")], [{"remark": None, **row} for row in rows])
