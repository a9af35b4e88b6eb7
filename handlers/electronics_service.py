"""P7 electronic product service requests (电子产品售后服务): warranty check from the serial number and
purchase date, remote first fix, quote and consent with the confirmed service time, work order, replaced parts
with serial numbers, sign-off, archive and the satisfaction survey of the callback (what the customer is told:
electronics_service_notices). Limits and routes live in the diagram."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, BpmnError, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.numbering import next_number
from handlers.product_warranties import check_warranty

registry = HandlerRegistry()
BEIJING = ZoneInfo("Asia/Shanghai")
class ElectronicsServiceRequest(Base):
    """One service request from intake to callback: the product and its warranty, the quote and consent,
    the work order and engineer, the service, sign-off, fee and the customer's survey."""

    __tablename__ = "electronics_service_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # open, declined, archived, surveyed
    customer_name: Mapped[str] = mapped_column(String(200), index=True)
    identity_check: Mapped[str] = mapped_column(String(40))
    contact_phone: Mapped[str] = mapped_column(String(60))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(300))
    model: Mapped[str] = mapped_column(String(60), index=True)
    serial_no: Mapped[str] = mapped_column(String(60), index=True)
    purchase_date: Mapped[date] = mapped_column(Date)
    problem: Mapped[str] = mapped_column(Text)
    received_by: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    product_name: Mapped[str] = mapped_column(String(120))
    warranty_months: Mapped[int] = mapped_column(Integer)
    warranty_until: Mapped[date] = mapped_column(Date)
    in_warranty: Mapped[bool] = mapped_column(Boolean)
    remote_guidance: Mapped[str | None] = mapped_column(Text)
    remote_resolved: Mapped[bool | None] = mapped_column(Boolean)
    remote_by: Mapped[str | None] = mapped_column(String(120))
    diagnosis: Mapped[str | None] = mapped_column(Text)
    knowledge_base_ref: Mapped[str | None] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(String(40))
    labour_fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    parts_fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    fee_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    quote_note: Mapped[str | None] = mapped_column(Text)
    chargeable: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_consent: Mapped[str | None] = mapped_column(String(20))
    consent_note: Mapped[str | None] = mapped_column(Text)
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    work_order_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    engineer: Mapped[str | None] = mapped_column(String(120), index=True)
    engineer_name: Mapped[str | None] = mapped_column(String(120))
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    work_done: Mapped[str | None] = mapped_column(Text)
    fix_demonstrated: Mapped[bool | None] = mapped_column(Boolean)
    serviced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sign_off_method: Mapped[str | None] = mapped_column(String(20))
    signed_by: Mapped[str | None] = mapped_column(String(120))
    online_rating: Mapped[int | None] = mapped_column(Integer)
    signed_off_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    amount_received: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    payment_method: Mapped[str | None] = mapped_column(String(20))
    fee_invoice_no: Mapped[str | None] = mapped_column(String(60))
    settled_by: Mapped[str | None] = mapped_column(String(120))
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    response_speed: Mapped[int | None] = mapped_column(Integer)
    professionalism: Mapped[int | None] = mapped_column(Integer)
    attitude: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[int | None] = mapped_column(Integer)
    survey_comment: Mapped[str | None] = mapped_column(Text)
    surveyed_by: Mapped[str | None] = mapped_column(String(120))
    surveyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ReplacedPart(Base):
    """A part the engineer replaced: the old part's and the new part's serial numbers (P7 step 5)."""

    __tablename__ = "replaced_parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("electronics_service_requests.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    part_name: Mapped[str] = mapped_column(String(120))
    old_serial_no: Mapped[str] = mapped_column(String(80), index=True)
    new_serial_no: Mapped[str] = mapped_column(String(80), unique=True)
    engineer: Mapped[str] = mapped_column(String(120))
    replaced_at: Mapped[datetime] = mapped_column(UtcDateTime)


def today_in_china(ctx: HandlerContext) -> date:
    return ctx.now.astimezone(BEIJING).date()


def service_request(ctx: HandlerContext) -> ElectronicsServiceRequest:
    request = ctx.session.scalar(select(ElectronicsServiceRequest).filter_by(instance_id=ctx.instance_id))
    if request is None:
        raise LookupError(f"instance {ctx.instance_id} has no registered electronics service request")
    return request


def money(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value)).quantize(Decimal("0.01"))


@registry.handler("electronics_service.register_request")
def register_request(ctx: HandlerContext) -> dict[str, Any]:
    """Number the request (DZ-2026-0001) and check the warranty (P7 step 1); a product that cannot be
    verified raises PRODUCT_NOT_VERIFIED so the desk checks model, serial number and date with the customer."""
    data = ctx.data
    purchase_date = date.fromisoformat(data["purchase_date"])
    try:
        status = check_warranty(ctx.session, data["model"], data["serial_no"], purchase_date, today_in_china(ctx))
    except ValueError as err:
        raise BpmnError("PRODUCT_NOT_VERIFIED", str(err)) from None
    request_no = next_number(ctx.session, ElectronicsServiceRequest.request_no, ctx.property("prefix", "DZ"), ctx.now)
    ctx.session.add(ElectronicsServiceRequest(
        request_no=request_no, instance_id=ctx.instance_id, status="open", customer_name=data["customer_name"],
        identity_check=data["identity_check"], contact_phone=data["contact_phone"],
        contact_email=data.get("contact_email") or None, region=data["region"], address=data["address"],
        model=data["model"].strip().upper(), serial_no=data["serial_no"].strip().upper(), purchase_date=purchase_date,
        problem=data["problem"], received_by=ctx.actor, received_at=ctx.now, product_name=status.product_name,
        warranty_months=status.warranty_months, warranty_until=status.warranty_until,
        in_warranty=status.in_warranty, fee_total=Decimal("0"), chargeable=False))
    ctx.assign_business_key(request_no)
    return {"request_no": request_no, "product_name": status.product_name, "in_warranty": status.in_warranty,
            "warranty_until": status.warranty_until.isoformat(), "warranty_months": status.warranty_months,
            "chargeable": False}


@registry.handler("electronics_service.record_remote_fix")
def record_remote_fix(ctx: HandlerContext) -> dict[str, Any]:
    """What tech support guided the customer through by phone or online, and whether it fixed it (step 2)."""
    request = service_request(ctx)
    request.remote_guidance = ctx.data.get("remote_guidance")
    request.remote_resolved = bool(ctx.data.get("remote_resolved"))
    request.remote_by = ctx.actor
    return {}


@registry.handler("electronics_service.record_quote")
def record_quote(ctx: HandlerContext) -> dict[str, Any]:
    """Diagnosis, solution and - out of warranty - the quoted fee (step 3). The skill the solution needs
    comes from the task's properties (`skill.<solution>`, else `default_skill`). Out of warranty without a
    quote raises QUOTE_REQUIRED; in warranty nothing is charged."""
    data, request = ctx.data, service_request(ctx)
    labour, parts = money(data.get("labour_fee")), money(data.get("parts_fee"))
    if not request.in_warranty and labour is None and parts is None:
        raise BpmnError("QUOTE_REQUIRED", f"{request.request_no} is out of warranty: quote the labour and parts fee")
    if any(fee is not None and fee < 0 for fee in (labour, parts)):
        raise BpmnError("QUOTE_REQUIRED", "fees cannot be negative")
    skill = ctx.property(f"skill.{data['solution']}") or ctx.property("default_skill")
    if not skill:
        raise ValueError("the task needs the property default_skill (or skill.<solution>)")
    if request.in_warranty:
        labour = parts = None
    total = (labour or Decimal("0")) + (parts or Decimal("0"))
    request.diagnosis, request.knowledge_base_ref = data.get("diagnosis"), data.get("knowledge_base_ref")
    request.solution, request.labour_fee, request.parts_fee = data["solution"], labour, parts
    request.fee_total, request.chargeable, request.quote_note = total, total > 0, data.get("quote_note")
    return {"fee_total": float(total), "chargeable": total > 0, "required_skill": skill}


@registry.handler("electronics_service.record_consent")
def record_consent(ctx: HandlerContext) -> dict[str, Any]:
    """The customer's answer to the solution and fee, and - when accepted - the service time agreed with
    them (004 一(二)3, the work order's expected time 一(三)1). Accepted without a date, or with one already
    past, raises SERVICE_TIME_REQUIRED and records nothing; a refusal closes the request as declined."""
    request, consent = service_request(ctx), ctx.data["customer_consent"]
    result: dict[str, Any] = {}
    if consent == "accepted":
        if not ctx.data.get("service_date") or not ctx.data.get("service_slot"):
            raise BpmnError("SERVICE_TIME_REQUIRED", f"{request.request_no}: confirm the service date and time of day "
                            f"with the customer (expected: {ctx.data.get('expected_service_date')})")
        service_date = date.fromisoformat(ctx.data["service_date"])
        if service_date < today_in_china(ctx):
            raise BpmnError("SERVICE_TIME_REQUIRED", f"{request.request_no}: the service date {service_date} has passed")
        result["service_time_confirmed"] = True
    request.customer_consent, request.consent_note = consent, ctx.data.get("consent_note")
    request.consent_at = ctx.now
    if consent == "declined":
        request.status, request.archived_at = "declined", ctx.now
        ctx.audit("quote_declined", {"request_no": request.request_no, "fee_total": float(request.fee_total)})
    return result


@registry.handler("electronics_service.open_work_order")
def open_work_order(ctx: HandlerContext) -> dict[str, Any]:
    """The work order (004 一(三)1): user, product, fault, the customer's expected and the confirmed service
    time and the service type (上门/送修/寄修); its number is what the engineer and the customer refer to."""
    request, data = service_request(ctx), ctx.data
    request.work_order_no = next_number(ctx.session, ElectronicsServiceRequest.work_order_no,
                                        ctx.property("prefix", "GD"), ctx.now)
    ctx.audit("work_order_opened", {
        "work_order_no": request.work_order_no, "request_no": request.request_no,
        "customer": request.customer_name, "contact_phone": request.contact_phone, "address": request.address,
        "model": request.model, "serial_no": request.serial_no, "problem": request.problem,
        "expected_service": f"{data.get('expected_service_date')} {data.get('expected_service_slot')}",
        "service_time": f"{data.get('service_date')} {data.get('service_slot')}",
        "service_type": data.get("service_type"), "solution": request.solution})
    return {"work_order_no": request.work_order_no}


def parse_parts(text: str | None) -> list[tuple[str, str, str]]:
    """`零件名称,旧序列号,新序列号` one per line (a full-width comma works too); raises ValueError naming the line."""
    parts: list[tuple[str, str, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.replace("，", ",").split(",")]
        if len(fields) != 3 or not all(fields):
            raise ValueError(f"line {number} '{line.strip()}' is not 零件名称,旧序列号,新序列号")
        name, old, new = fields[0], fields[1].upper(), fields[2].upper()
        if old == new:
            raise ValueError(f"line {number}: the new part has the old part's serial number {old}")
        if any(new in (o, n) or old in (o, n) for _, o, n in parts):
            raise ValueError(f"line {number}: serial number {old} or {new} is listed twice")
        parts.append((name, old, new))
    return parts


@registry.handler("electronics_service.record_service")
def record_service(ctx: HandlerContext) -> dict[str, Any]:
    """The engineer's visit: the parts replaced with their serial numbers and whether the fix was shown to
    the customer (step 5). A malformed or duplicate parts list raises PARTS_INVALID and records nothing."""
    request = service_request(ctx)
    try:
        parts = parse_parts(ctx.data.get("parts_replaced"))
    except ValueError as err:
        raise BpmnError("PARTS_INVALID", str(err)) from None
    fitted = set(ctx.session.scalars(select(ReplacedPart.new_serial_no).where(
        ReplacedPart.new_serial_no.in_([new for _, _, new in parts]))))
    if fitted:
        raise BpmnError("PARTS_INVALID", f"new part serial number(s) {', '.join(sorted(fitted))} already recorded")
    for name, old, new in parts:
        ctx.session.add(ReplacedPart(request_id=request.id, instance_id=ctx.instance_id, part_name=name,
                                     old_serial_no=old, new_serial_no=new, engineer=ctx.actor, replaced_at=ctx.now))
    request.work_done, request.fix_demonstrated = ctx.data.get("work_done"), bool(ctx.data.get("fix_demonstrated"))
    request.serviced_at = ctx.now
    return {"parts_recorded": len(parts)}


@registry.handler("electronics_service.record_sign_off")
def record_sign_off(ctx: HandlerContext) -> dict[str, Any]:
    """The customer's signature on the service record or online rating (step 6)."""
    request = service_request(ctx)
    request.sign_off_method, request.signed_by = ctx.data["sign_off_method"], ctx.data.get("signed_by")
    request.online_rating, request.signed_off_at = ctx.data.get("online_rating"), ctx.now
    return {}


@registry.handler("electronics_service.archive")
def archive(ctx: HandlerContext) -> dict[str, Any]:
    """The request's record is complete (004 一(六)); the callback runs beside it from the service's end, so a
    survey already taken keeps the status "surveyed"."""
    request = service_request(ctx)
    request.status = "surveyed" if request.surveyed_at else "archived"
    request.archived_at = ctx.now
    return {"archived_at": ctx.now.isoformat()}


@registry.handler("electronics_service.record_survey")
def record_survey(ctx: HandlerContext) -> dict[str, Any]:
    """The callback's satisfaction survey, 1-5 for each aspect the procedure names, and the customer's
    suggestions on the product (004 一(七)2-3)."""
    request = service_request(ctx)
    for aspect in ("response_speed", "professionalism", "attitude", "resolution"):
        setattr(request, aspect, int(ctx.data[aspect]))
    request.survey_comment, request.surveyed_by, request.surveyed_at = ctx.data.get("survey_comment"), ctx.actor, ctx.now
    if request.archived_at:
        request.status = "surveyed"
    ctx.audit("survey_recorded", {"request_no": request.request_no, "callback_method": ctx.data.get("callback_method"),
                                  "product_suggestions": ctx.data.get("product_suggestions")})
    return {}


def _requests(session: Session, instance_id: int) -> list[ElectronicsServiceRequest]:
    return list(session.scalars(select(ElectronicsServiceRequest).filter_by(instance_id=instance_id)))


STATUSES = {"open": ("处理中", "Open"), "declined": ("客户拒绝方案", "Declined by the customer"),
            "repair_refused": ("用户不同意维修", "Repair refused by the customer"),
            "archived": ("已归档", "Archived"), "surveyed": ("已回访", "Surveyed")}


@registry.case_records
def request_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("电子产品服务请求", "Electronics service request", [
        ("request_no", "编号", "Number"), ("status", "状态", "Status"), ("customer_name", "客户", "Customer"),
        ("contact_phone", "联系电话", "Phone"), ("region", "区域", "Region"), ("address", "地址", "Address"),
        ("problem", "问题", "Problem"), ("remote_guidance", "远程指导", "Remote guidance"),
        ("diagnosis", "诊断", "Diagnosis"), ("solution", "方案", "Solution"), ("work_order_no", "工单号", "Work order"),
        ("engineer_name", "工程师", "Engineer"), ("work_done", "服务内容", "Work done"),
        ("fix_demonstrated", "已演示修复", "Fix demonstrated"), ("sign_off_method", "签收方式", "Sign-off"),
        ("archived_at", "归档时间", "Archived at"),
    ], _requests(session, instance_id), labels={"status": STATUSES})


@registry.case_records
def warranty_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("保修核验", "Warranty check", [
        ("model", "型号", "Model"), ("product_name", "产品", "Product"), ("serial_no", "序列号", "Serial number"),
        ("purchase_date", "购买日期", "Purchased"), ("warranty_months", "保修期（月）", "Warranty (months)"),
        ("warranty_until", "保修截止", "Warranty until"), ("in_warranty", "在保", "In warranty"),
    ], _requests(session, instance_id))


@registry.case_records
def parts_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("更换零件", "Replaced parts", [
        ("part_name", "零件名称", "Part"), ("old_serial_no", "旧序列号", "Old serial number"),
        ("new_serial_no", "新序列号", "New serial number"), ("engineer", "工程师", "Engineer"),
        ("replaced_at", "更换时间", "Replaced at"),
    ], list(session.scalars(select(ReplacedPart).filter_by(instance_id=instance_id).order_by(ReplacedPart.id))))


@registry.case_records
def fee_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("费用", "Fee", [
        ("labour_fee", "人工费", "Labour"), ("parts_fee", "零件费", "Parts"), ("fee_total", "报价合计", "Quoted total"),
        ("quote_note", "报价说明", "Quote note"), ("customer_consent", "客户同意", "Customer consent"),
        ("amount_received", "实收金额", "Received"),
        ("payment_method", "付款方式", "Payment"), ("fee_invoice_no", "发票号", "Invoice"),
        ("settled_at", "结算时间", "Settled at"),
    ], [r for r in _requests(session, instance_id) if r.chargeable or r.customer_consent])


@registry.case_records
def survey_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("回访满意度调查", "Callback survey", [
        ("response_speed", "响应速度", "Response speed"), ("professionalism", "专业程度", "Professionalism"),
        ("attitude", "服务态度", "Attitude"), ("resolution", "问题解决", "Resolution"),
        ("survey_comment", "意见", "Comment"), ("surveyed_by", "回访人", "Called back by"),
        ("surveyed_at", "回访时间", "Called back at"),
    ], [r for r in _requests(session, instance_id) if r.surveyed_at])
