"""The customer service file (《客户服务档案》, P5): every installation sheet, repair record, maintenance record,
logistics claim and callback filed per customer and device, so an auditor opens one customer and sees them
all; the customer devices that maintenance plans refer to; the business office's callbacks and the
after-sales supervisor's handling of complaints about staff."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, Text, distinct, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime

registry = HandlerRegistry()

FILE_KINDS = {"installation": ("装机", "Installation"), "repair": ("维修", "Repair"),
              "maintenance": ("保养", "Maintenance"), "logistics_claim": ("物流索赔", "Logistics claim"),
              "callback": ("回访", "Callback"), "complaint": ("投诉处理", "Complaint handling"),
              "consultation": ("技术咨询", "Consultation")}


class CustomerDevice(Base):
    """A device at a customer's site: installed through P5 (or entered when a plan names an older one)."""

    __tablename__ = "customer_devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    device_model: Mapped[str | None] = mapped_column(String(120))
    serial_no: Mapped[str] = mapped_column(String(120), unique=True)
    contract_no: Mapped[str | None] = mapped_column(String(120))
    configuration: Mapped[str | None] = mapped_column(Text)
    site_address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(40))
    installation_no: Mapped[str | None] = mapped_column(String(40))
    installed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerServiceFileEntry(Base):
    """One signed record filed in a customer's service file (《客户服务档案》)."""

    __tablename__ = "customer_service_file_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    serial_no: Mapped[str | None] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    document: Mapped[str] = mapped_column(String(120))  # the record's name, e.g. 《装机单》
    business_key: Mapped[str | None] = mapped_column(String(40), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    summary: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[str | None] = mapped_column(String(120))
    signed_on: Mapped[date | None] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(120))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ServiceCallback(Base):
    """The business office's call to the customer after the work, and the handling of a staff complaint."""

    __tablename__ = "service_callbacks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(40), index=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    case_kind: Mapped[str] = mapped_column(String(40))
    called_by: Mapped[str] = mapped_column(String(120))
    called_at: Mapped[datetime] = mapped_column(UtcDateTime)
    use_feedback: Mapped[str | None] = mapped_column(Text)
    installation_feedback: Mapped[str | None] = mapped_column(Text)
    training_feedback: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(40))
    complaint_about_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    complained_staff: Mapped[str | None] = mapped_column(String(200))
    complaint_details: Mapped[str | None] = mapped_column(Text)
    penalty: Mapped[str | None] = mapped_column(Text)
    internal_notice: Mapped[str | None] = mapped_column(Text)
    handled_by: Mapped[str | None] = mapped_column(String(120))
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def parse_day(value: Any) -> date | None:
    """A form's date field (ISO text) as a date."""
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def file_record(ctx: HandlerContext, kind: str, document: str, summary: str, serial_no: str | None = None,
                signed_by: str | None = None, signed_on: date | None = None) -> CustomerServiceFileEntry:
    """File one record of this case in the customer's service file."""
    if kind not in FILE_KINDS:
        raise ValueError(f"unknown file kind '{kind}'; known: {', '.join(FILE_KINDS)}")
    customer = ctx.data.get("customer")
    if not customer:
        raise ValueError("the case has no customer to file the record under")
    entry = CustomerServiceFileEntry(customer=customer, serial_no=serial_no or ctx.data.get("serial_no"), kind=kind,
                                     document=document, business_key=ctx.business_key, instance_id=ctx.instance_id,
                                     summary=summary, signed_by=signed_by, signed_on=signed_on, filed_by=ctx.actor,
                                     filed_at=ctx.now)
    ctx.session.add(entry)
    return entry


def customer_service_file(session: Session, customer: str) -> list[CustomerServiceFileEntry]:
    """Everything filed for one customer, oldest first: what an auditor opens per customer."""
    return list(session.scalars(select(CustomerServiceFileEntry).where(CustomerServiceFileEntry.customer == customer)
                                .order_by(CustomerServiceFileEntry.filed_at, CustomerServiceFileEntry.id)))


def device(session: Session, serial_no: str) -> CustomerDevice | None:
    return session.scalar(select(CustomerDevice).where(CustomerDevice.serial_no == serial_no))


def _lines(*pairs: tuple[str, Any]) -> str:
    return "；".join(f"{label}：{value}" for label, value in pairs if value not in (None, ""))


@registry.handler("customer_files.record_callback")
def record_callback(ctx: HandlerContext) -> dict[str, Any]:
    """The business office's callback (use, installation, training, satisfaction) kept and filed."""
    data = ctx.data
    kind = ctx.property("case_kind") or ctx.process_key
    callback = ServiceCallback(instance_id=ctx.instance_id, business_key=ctx.business_key, customer=data["customer"],
                               case_kind=kind, called_by=ctx.actor, called_at=ctx.now,
                               use_feedback=data.get("use_feedback"),
                               installation_feedback=data.get("installation_feedback"),
                               training_feedback=data.get("training_feedback"), satisfaction=data.get("satisfaction"),
                               complaint_about_staff=bool(data.get("complaint_about_staff")),
                               complained_staff=data.get("complained_staff"),
                               complaint_details=data.get("complaint_details"))
    ctx.session.add(callback)
    summary = _lines(("使用情况", callback.use_feedback), ("安装/维修情况", callback.installation_feedback),
                     ("培训情况", callback.training_feedback), ("满意度", callback.satisfaction),
                     ("投诉服务人员", callback.complained_staff if callback.complaint_about_staff else None))
    file_record(ctx, "callback", ctx.property("document") or "《客户回访记录》", summary)
    return {}


@registry.handler("customer_files.record_staff_complaint")
def record_staff_complaint(ctx: HandlerContext) -> dict[str, Any]:
    """The supervisor's penalty and internal notice on a complaint about staff; the notice goes to the
    departments the task's `notice_to` property names (e.g. department:after_sales,department:tech_support)."""
    callback = ctx.session.scalars(select(ServiceCallback).where(ServiceCallback.instance_id == ctx.instance_id)
                                   .order_by(ServiceCallback.id.desc())).first()
    if callback is None:
        raise LookupError(f"instance {ctx.instance_id} has no callback holding the complaint")
    recipients = ctx.property_list("notice_to")
    if not recipients:
        raise ValueError("the task needs the property notice_to (e.g. department:after_sales)")
    callback.penalty, callback.internal_notice = ctx.data.get("penalty"), ctx.data.get("internal_notice")
    callback.handled_by, callback.handled_at = ctx.actor, ctx.now
    subject = f"内部通报：{ctx.business_key or ''} {callback.customer} 投诉 {callback.complained_staff or ''}".strip()
    for recipient in dict.fromkeys(recipients):
        ctx.outbox.notify(recipient, subject, _lines(("投诉内容", callback.complaint_details),
                                                     ("处理", callback.penalty), ("通报", callback.internal_notice)))
    file_record(ctx, "complaint", ctx.property("document") or "《投诉处理及内部通报》",
                _lines(("被投诉人员", callback.complained_staff), ("投诉内容", callback.complaint_details),
                       ("处罚", callback.penalty), ("内部通报", callback.internal_notice)))
    ctx.audit("staff_complaint_handled", {"staff": callback.complained_staff, "notice_to": recipients})
    return {}


@registry.case_records
def service_file_record(session: Session, instance_id: int) -> RecordSection | None:
    """The records this case filed in the customer service file."""
    kinds = {k: v for k, v in FILE_KINDS.items()}
    return RecordSection.of("客户服务档案", "Customer service file", [
        ("filed_at", "归档时间", "Filed at"), ("kind", "类别", "Kind"), ("document", "记录", "Record"),
        ("customer", "客户", "Customer"), ("serial_no", "设备序列号", "Serial no."),
        ("summary", "内容", "Summary"), ("signed_by", "客户签字", "Signed by"), ("signed_on", "签字日期", "Signed on"),
        ("filed_by", "归档人", "Filed by"),
    ], list(session.scalars(select(CustomerServiceFileEntry).where(CustomerServiceFileEntry.instance_id == instance_id)
                            .order_by(CustomerServiceFileEntry.id))), labels={"kind": kinds})


_FILE_COLUMNS = [
    ("filed_at", "归档时间", "Filed at"), ("kind", "类别", "Kind"), ("document", "记录", "Record"),
    ("business_key", "单号", "Number"), ("serial_no", "设备序列号", "Serial no."), ("summary", "内容", "Summary"),
    ("signed_by", "客户签字", "Signed by"), ("signed_on", "签字日期", "Signed on"), ("filed_by", "归档人", "Filed by"),
]


@dataclass(frozen=True)
class _CustomerFileIndexRow:
    customer: str
    entries: int
    devices: int
    last_filed_at: datetime


@registry.record_book("customer_service_file", "客户服务档案", "Customer service files", key_column="customer",
                      key_label=("客户名称", "Customer"), viewers=("after_sales", "business_office", "tech_support", "service_supervisors", "sales"))
def customer_service_file_book(session: Session, customer: str | None) -> RecordSection | None:
    """Every customer with a file (index), or everything filed for one customer, oldest first."""
    if customer is not None:
        return RecordSection.of(f"客户服务档案：{customer}", f"Customer service file: {customer}", _FILE_COLUMNS,
                                customer_service_file(session, customer), labels={"kind": FILE_KINDS})
    entry = CustomerServiceFileEntry
    rows = session.execute(select(entry.customer, func.count(entry.id), func.count(distinct(entry.serial_no)),
                                  func.max(entry.filed_at)).group_by(entry.customer).order_by(entry.customer))
    return RecordSection.of("客户服务档案", "Customer service files", [
        ("customer", "客户", "Customer"), ("entries", "记录数", "Records"), ("devices", "设备数", "Devices"),
        ("last_filed_at", "最近归档", "Last filed"),
    ], [_CustomerFileIndexRow(*row) for row in rows])
