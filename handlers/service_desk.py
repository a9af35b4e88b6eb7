"""P4 service requests (售后服务响应): the service case record kept along the way and archived at the end
(P4 step 7), the notices to the supervisor and department heads, and the progress reports. Limits and
forms live in the diagram; the handlers only record when the feedback was received, which the diagram's
limits count from (`feedback_received_at`)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.numbering import next_number

registry = HandlerRegistry()
_VARIABLE = re.compile(r"\$\{(\w+)\}")


class ServiceCase(Base):
    """One customer service request from intake to archive: who did what when, and how it ended."""

    __tablename__ = "service_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    channel: Mapped[str] = mapped_column(String(40))
    customer: Mapped[str] = mapped_column(String(200), index=True)
    customer_type: Mapped[str] = mapped_column(String(40), index=True)
    contact: Mapped[str] = mapped_column(String(200))
    product_service: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    received_by: Mapped[str] = mapped_column(String(120))
    first_response: Mapped[str | None] = mapped_column(Text)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    request_type: Mapped[str | None] = mapped_column(String(40), index=True)
    urgency: Mapped[str | None] = mapped_column(String(40), index=True)
    urgency_basis: Mapped[str | None] = mapped_column(Text)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    time_points: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    demands: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)
    customer_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(40))
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    @property
    def departments_text(self) -> str:
        return "、".join(self.departments)

    @property
    def people_text(self) -> str:
        return "、".join(self.people)

    @property
    def progress_reports(self) -> list[dict[str, Any]]:
        """The progress reports made (time points that carry the reported text and whom it went to)."""
        return [point for point in self.time_points if point.get("progress")]

    @property
    def progress_text(self) -> str:
        return "\n".join(f"{p['at'][:16]} {p['by']} → {p['to']}：{p['progress']}" for p in self.progress_reports)

    def mark(self, point: str, at: datetime, person: str, department: str | None = None,
             **details: Any) -> None:
        """Add a time point and whoever acted (lists are replaced, so the JSON change is saved)."""
        self.time_points = [*self.time_points, {"point": point, "at": at.isoformat(), "by": person,
                                                "department": department, **details}]
        if person and person not in self.people:
            self.people = [*self.people, person]
        if department and department not in self.departments:
            self.departments = [*self.departments, department]


def _case(ctx: HandlerContext) -> ServiceCase:
    case = ctx.session.query(ServiceCase).filter_by(instance_id=ctx.instance_id).one_or_none()
    if case is None:
        raise LookupError(f"instance {ctx.instance_id} has no registered service case")
    return case


def expand(text: str, data: Any) -> str | None:
    """Fill `${variable}` from the case data; None when a variable has no value yet."""
    missing = [name for name in _VARIABLE.findall(text) if data.get(name) in (None, "")]
    if missing:
        return None
    return _VARIABLE.sub(lambda m: str(data[m.group(1)]), text)


def _department(ctx: HandlerContext) -> str | None:
    """The department a time point is credited to: the task's `department` property (may be `${var}`)."""
    return expand(ctx.property("department") or "", ctx.data) or None


@registry.handler("service_desk.register_case")
def register_case(ctx: HandlerContext) -> dict[str, Any]:
    """Number the request (SR-2026-0001) as the case's business key and record the receipt: the case is
    filed when the request comes in, and the diagram's limits named 接到反馈后 count from
    `feedback_received_at`."""
    data = ctx.data
    case_no = next_number(ctx.session, ServiceCase.case_no, "SR", ctx.now)
    case = ServiceCase(case_no=case_no, instance_id=ctx.instance_id, channel=data["channel"],
                       customer=data["customer"], customer_type=data["customer_type"], contact=data["contact"],
                       product_service=data["product_service"], content=data["content"], received_at=ctx.now,
                       received_by=ctx.actor, departments=[], people=[], measures=[], time_points=[],
                       demands=[], restarts=0)
    case.mark("接入", ctx.now, ctx.actor, _department(ctx))
    ctx.session.add(case)
    ctx.assign_business_key(case_no)
    return {"case_no": case_no, "received_at": ctx.now.isoformat(), "feedback_received_at": ctx.now.isoformat()}


@registry.handler("service_desk.record_classification")
def record_classification(ctx: HandlerContext) -> dict[str, Any]:
    """The first response and the class the specialist gave the request (P4 steps 1–2)."""
    case = _case(ctx)
    case.first_response = ctx.data.get("first_response")
    case.first_response_at = ctx.now
    case.request_type, case.urgency = ctx.data.get("request_type"), ctx.data.get("urgency")
    case.urgency_basis = ctx.data.get("urgency_basis")
    case.mark("首次响应并分类", ctx.now, ctx.actor, _department(ctx))
    return {}


@registry.handler("service_desk.record_step")
def record_step(ctx: HandlerContext) -> dict[str, Any]:
    """A time point of the case, with the department (property `department`, may name `${variable}`)
    and the measure the form just gave (property `measure_field` names the field)."""
    point = ctx.property("time_point") or ctx.element_name
    department = _department(ctx)
    case = _case(ctx)
    case.mark(point, ctx.now, ctx.actor, department)
    field = ctx.property("measure_field")
    if field and ctx.data.get(field):
        case.measures = [*case.measures, {"point": point, "at": ctx.now.isoformat(), "by": ctx.actor,
                                          "department": department, "text": ctx.data[field]}]
    if ctx.data.get("result"):
        case.result = ctx.data["result"]
    return {}


@registry.handler("service_desk.notify_leaders")
def notify_leaders(ctx: HandlerContext) -> dict[str, Any]:
    """Tell the supervisors and department heads named by the task's `recipients` property at once."""
    recipients = [r for r in (expand(item, ctx.data) for item in ctx.property_list("recipients")) if r]
    if not recipients:
        raise ValueError("the task needs the property recipients (e.g. head:service_supervisors)")
    case = _case(ctx)
    subject = f"{ctx.property('subject') or ctx.element_name}：{case.case_no} {case.customer}"
    details = [("紧急程度", case.urgency), ("问题类型", case.request_type), ("产品/服务", case.product_service),
               ("问题内容", case.content), ("说明", ctx.data.get("emergency_summary") or ctx.data.get("report_summary"))]
    body = "\n".join(f"{label}：{value}" for label, value in details if value)
    for recipient in dict.fromkeys(recipients):
        ctx.outbox.notify(recipient, subject, body)
    case.mark(ctx.element_name, ctx.now, ctx.actor, None)
    ctx.audit("leaders_notified", {"recipients": list(dict.fromkeys(recipients))})
    return {}


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def _customer_email(ctx: HandlerContext) -> str | None:
    for text in (ctx.data.get("customer_email"), ctx.data.get("contact")):
        found = _EMAIL.search(str(text or ""))
        if found:
            return found.group(0)
    return None


@registry.handler("service_desk.report_progress")
def report_progress(ctx: HandlerContext) -> dict[str, Any]:
    """A progress report reaches whom the task's `recipients` property names (`head:…`, `department:…`,
    `customer` = the customer's e-mail from the intake) and stays on the service record. A customer
    without an e-mail was told by the specialist directly (the report says how): it is recorded only."""
    field = ctx.property("progress_field")
    recipients = ctx.property_list("recipients")
    if not field or not recipients:
        raise ValueError("the task needs the properties progress_field and recipients")
    progress = ctx.data.get(field)
    if not progress:
        raise ValueError(f"the progress report has no text in {field}")
    case = _case(ctx)
    subject = f"{ctx.property('subject') or ctx.element_name}：{case.case_no} {case.customer}"
    sent = []
    for recipient in dict.fromkeys(r for r in (expand(item, ctx.data) for item in recipients) if r):
        address = _customer_email(ctx) if recipient == "customer" else recipient
        if address:
            body = f"{case.customer}：\n\n{progress}" if recipient == "customer" else \
                f"问题内容：{case.content}\n处理进度：{progress}\n汇报人：{ctx.actor}"
            ctx.outbox.notify(address, subject, body)
        sent.append(address or "customer (no e-mail)")
    case.mark(ctx.property("time_point") or ctx.element_name, ctx.now, ctx.actor, _department(ctx),
              progress=progress, to="、".join(sent))
    ctx.audit("progress_reported", {"to": sent})
    return {}


@registry.handler("service_desk.record_restart")
def record_restart(ctx: HandlerContext) -> dict[str, Any]:
    """An unsatisfied customer's demands; the handling starts again (P4 step 6), its limits counted from
    the demands received now (`feedback_received_at`)."""
    case = _case(ctx)
    case.restarts += 1
    case.demands = [*case.demands, {"at": ctx.now.isoformat(), "by": ctx.actor,
                                    "satisfaction": ctx.data.get("satisfaction"),
                                    "demands": ctx.data.get("unsatisfied_demands")}]
    case.mark(f"客户不满意，第{case.restarts}次重新处理", ctx.now, ctx.actor, _department(ctx))
    return {"restarts": case.restarts, "feedback_received_at": ctx.now.isoformat()}


@registry.handler("service_desk.archive")
def archive(ctx: HandlerContext) -> dict[str, Any]:
    """Close the record with the result and the customer's confirmation and rating (P4 step 7)."""
    case = _case(ctx)
    case.result = ctx.data.get("result_feedback") or case.result
    if ctx.data.get("compensation_plan"):
        case.result = f"{case.result}\n补偿方案：{ctx.data['compensation_plan']}"
    case.customer_confirmed = bool(ctx.data.get("customer_confirmed"))
    case.satisfaction = ctx.data.get("satisfaction")
    case.archived_at = ctx.now
    case.mark("归档", ctx.now, ctx.actor, _department(ctx))
    return {"archived_at": ctx.now.isoformat()}


@registry.case_records
def service_case_record(session: Session, instance_id: int) -> RecordSection | None:
    """The service record as the people working the case and the auditors read it."""
    return RecordSection.of("服务记录", "Service record", [
        ("case_no", "编号", "Number"), ("channel", "接入渠道", "Channel"), ("customer", "客户", "Customer"),
        ("customer_type", "客户类型", "Customer type"), ("contact", "联系方式", "Contact"),
        ("product_service", "产品/服务", "Product / service"), ("content", "问题内容", "Request"),
        ("received_at", "接到反馈时间", "Feedback received at"), ("first_response_at", "首次响应时间", "First response at"),
        ("request_type", "问题类型", "Request type"), ("urgency", "紧急程度", "Urgency"),
        ("departments_text", "处理部门", "Departments"), ("people_text", "处理人员", "People"),
        ("progress_text", "处理进度汇报", "Progress reports"),
        ("result", "处理结果", "Result"), ("satisfaction", "满意度", "Satisfaction"),
        ("restarts", "重新处理次数", "Restarts"), ("archived_at", "归档时间", "Archived at"),
    ], session.query(ServiceCase).filter_by(instance_id=instance_id).all())
