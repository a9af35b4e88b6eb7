"""P5 installation and repair at the customer's site (售后服务控制程序): the 《装机单》 with the three-party
unpacking inspection, the logistics claim on damaged packaging and the contract check; the 《维修记录》 with
arrival, diagnosis and the customer's consent. Signed records go to the customer service file. Limits,
forms and routes live in the diagrams; scheduled maintenance is in maintenance_plans."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers import customer_files, maintenance_plans
from handlers.customer_files import CustomerDevice, device, file_record, parse_day
from handlers.numbering import next_number

registry = HandlerRegistry()
registry.include(customer_files.registry)
registry.include(maintenance_plans.registry)


class InstallationSheet(Base):
    """The 《装机单》 of one installation: the order, the unpacking, the checks and the customer's signature."""

    __tablename__ = "installation_sheets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    device_model: Mapped[str] = mapped_column(String(120))
    serial_no: Mapped[str] = mapped_column(String(120), index=True)
    contract_no: Mapped[str] = mapped_column(String(120))
    configuration: Mapped[str] = mapped_column(Text)
    site_address: Mapped[str] = mapped_column(String(300))
    region: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    engineer: Mapped[str | None] = mapped_column(String(120))
    sales_representative: Mapped[str | None] = mapped_column(String(120))
    logistics_representative: Mapped[str | None] = mapped_column(String(120))
    customer_representative: Mapped[str | None] = mapped_column(String(120))
    packaging: Mapped[str | None] = mapped_column(String(20))  # intact / damaged
    packaging_damage: Mapped[str | None] = mapped_column(Text)
    inspected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    contract_checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    procedure_no: Mapped[str | None] = mapped_column(String(120))
    parameters: Mapped[str | None] = mapped_column(Text)
    trainees: Mapped[str | None] = mapped_column(Text)
    training_content: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str | None] = mapped_column(String(120))
    signed_on: Mapped[date | None] = mapped_column(Date)
    filed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def inspection_parties(self) -> str:
        return "、".join(p for p in (self.sales_representative, self.logistics_representative,
                                    self.customer_representative) if p)


class LogisticsClaim(Base):
    """Packaging found damaged at the unpacking, reported by sales to the logistics company (and the compensation
    asked for when the product was damaged)."""

    __tablename__ = "logistics_claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    installation_no: Mapped[str] = mapped_column(String(40), index=True)
    customer: Mapped[str] = mapped_column(String(200))
    carrier: Mapped[str] = mapped_column(String(200))
    waybill_no: Mapped[str] = mapped_column(String(120))
    damage: Mapped[str] = mapped_column(Text)
    amount: Mapped[float | None] = mapped_column(Float)
    filed_by: Mapped[str] = mapped_column(String(120))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RepairRecord(Base):
    """The 《维修记录》 of one repair: the report, the agreed response time, arrival, cause, consent, work."""

    __tablename__ = "repair_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repair_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    serial_no: Mapped[str] = mapped_column(String(120), index=True)
    device_model: Mapped[str | None] = mapped_column(String(120))
    fault_description: Mapped[str] = mapped_column(Text)
    agreed_response_hours: Mapped[int] = mapped_column(Integer)
    reported_by: Mapped[str] = mapped_column(String(120))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    engineer: Mapped[str | None] = mapped_column(String(120))
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_met: Mapped[bool | None] = mapped_column(Boolean)
    instruments_used: Mapped[str | None] = mapped_column(Text)
    fault_cause: Mapped[str | None] = mapped_column(Text)
    cause_explained_to: Mapped[str | None] = mapped_column(String(120))
    parts_needed: Mapped[str | None] = mapped_column(Text)
    fee_estimate: Mapped[float | None] = mapped_column(Float)
    consent: Mapped[str | None] = mapped_column(String(20))  # agreed / refused; None when nothing was needed
    consent_by: Mapped[str | None] = mapped_column(String(120))
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    repair_work: Mapped[str | None] = mapped_column(Text)
    parts_replaced: Mapped[str | None] = mapped_column(Text)
    fees_charged: Mapped[float | None] = mapped_column(Float)
    test_result: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str | None] = mapped_column(String(120))
    signed_on: Mapped[date | None] = mapped_column(Date)
    retrained: Mapped[bool] = mapped_column(Boolean, default=False)
    trainees: Mapped[str | None] = mapped_column(Text)
    filed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _one(ctx: HandlerContext, model: type) -> Any:
    record = ctx.session.scalar(select(model).where(model.instance_id == ctx.instance_id))
    if record is None:
        raise LookupError(f"instance {ctx.instance_id} has no {model.__tablename__} row")
    return record


def _lines(*pairs: tuple[str, Any]) -> str:
    return "；".join(f"{label}：{value}" for label, value in pairs if value not in (None, ""))


# -- installation (装机) ------------------------------------------------------------------------------
@registry.handler("field_service.register_installation")
def register_installation(ctx: HandlerContext) -> dict[str, Any]:
    """Number the 《装机单》 (IN-2026-0001) as the case's business key."""
    data = ctx.data
    number = next_number(ctx.session, InstallationSheet.installation_no, "IN", ctx.now)
    ctx.session.add(InstallationSheet(
        installation_no=number, instance_id=ctx.instance_id, customer=data["customer"],
        device_model=data["device_model"], serial_no=data["serial_no"], contract_no=data["contract_no"],
        configuration=data["configuration"], site_address=data["site_address"], region=data["region"],
        requested_by=ctx.actor, requested_at=ctx.now, contract_checks=[]))
    ctx.assign_business_key(number)
    return {"installation_no": number}


@registry.handler("field_service.record_unpacking")
def record_unpacking(ctx: HandlerContext) -> dict[str, Any]:
    """Who was present at the unpacking (sales, logistics, the customer's representative) and the packaging."""
    sheet = _one(ctx, InstallationSheet)
    data = ctx.data
    sheet.engineer = data.get("engineer")
    sheet.sales_representative = data["sales_representative"]
    sheet.logistics_representative = data["logistics_representative"]
    sheet.customer_representative = data["customer_representative"]
    sheet.packaging, sheet.packaging_damage = data["packaging"], data.get("packaging_damage")
    sheet.inspected_at = ctx.now
    return {}


@registry.handler("field_service.record_logistics_claim")
def record_logistics_claim(ctx: HandlerContext) -> dict[str, Any]:
    """The damage the sales person reported to the logistics company, with the compensation asked for when the
    product itself was damaged (P5 4.1.1), numbered (LC-2026-0001) and filed with the customer."""
    sheet = _one(ctx, InstallationSheet)
    data = ctx.data
    number = next_number(ctx.session, LogisticsClaim.claim_no, "LC", ctx.now)
    claim = LogisticsClaim(claim_no=number, instance_id=ctx.instance_id, installation_no=sheet.installation_no,
                           customer=sheet.customer, carrier=data["carrier"], waybill_no=data["waybill_no"],
                           damage=data["damage_description"], amount=data.get("claim_amount"), filed_by=ctx.actor,
                           filed_at=ctx.now)
    ctx.session.add(claim)
    compensation = "是" if data.get("product_damaged") else "否"
    file_record(ctx, "logistics_claim", ctx.property("document") or "《物流索赔单》",
                _lines(("索赔单号", number), ("物流企业", claim.carrier), ("运单号", claim.waybill_no),
                       ("已反馈", data.get("reported_to")), ("破损情况", claim.damage),
                       ("产品受损要求赔付", compensation), ("赔付金额", claim.amount)), serial_no=sheet.serial_no)
    return {"claim_no": number}


@registry.handler("field_service.record_contract_check")
def record_contract_check(ctx: HandlerContext) -> dict[str, Any]:
    """Each check of the goods against the contract and configuration, with the discrepancies found."""
    sheet = _one(ctx, InstallationSheet)
    data = ctx.data
    sheet.contract_checks = [*sheet.contract_checks, {
        "at": ctx.now.isoformat(), "by": ctx.actor, "checked_by": data.get("customer_checker"),
        "result": data["goods_check"], "discrepancies": data.get("discrepancies"),
        "supplement": data.get("supplement_arrangement") if sheet.contract_checks else None}]
    return {"contract_checks": len(sheet.contract_checks)}


@registry.handler("field_service.file_installation")
def file_installation(ctx: HandlerContext) -> dict[str, Any]:
    """The signed 《装机单》 into the customer service file; the device becomes a customer device."""
    sheet = _one(ctx, InstallationSheet)
    data = ctx.data
    sheet.procedure_no, sheet.parameters = data.get("procedure_no"), data.get("parameters")
    sheet.trainees, sheet.training_content = data.get("trainees"), data.get("training_content")
    sheet.signed_by, sheet.signed_on, sheet.filed_at = data["signed_by"], parse_day(data["signed_on"]), ctx.now
    known = device(ctx.session, sheet.serial_no)
    if known is not None and known.customer != sheet.customer:
        raise ValueError(f"serial number {sheet.serial_no} is already registered for {known.customer}")
    unit = known or CustomerDevice(serial_no=sheet.serial_no, registered_at=ctx.now)
    unit.customer, unit.device_model, unit.contract_no = sheet.customer, sheet.device_model, sheet.contract_no
    unit.configuration, unit.site_address, unit.region = sheet.configuration, sheet.site_address, sheet.region
    unit.installation_no, unit.installed_at = sheet.installation_no, ctx.now
    ctx.session.add(unit)
    file_record(ctx, "installation", ctx.property("document") or "《装机单》", _lines(
        ("型号", sheet.device_model), ("合同号", sheet.contract_no), ("开箱检验三方", sheet.inspection_parties),
        ("包装", "破损" if sheet.packaging == "damaged" else "完好"), ("工程师", sheet.engineer),
        ("安装规程", sheet.procedure_no), ("性能参数", sheet.parameters), ("培训人员", sheet.trainees),
        ("培训内容", sheet.training_content)), serial_no=sheet.serial_no, signed_by=sheet.signed_by,
        signed_on=sheet.signed_on)
    return {"installed_at": ctx.now.isoformat()}


# -- repair (报修) ------------------------------------------------------------------------------------
@registry.handler("field_service.register_repair")
def register_repair(ctx: HandlerContext) -> dict[str, Any]:
    """Number the 《维修记录》 (RP-2026-0001); a known device fills in its model."""
    data = ctx.data
    number = next_number(ctx.session, RepairRecord.repair_no, "RP", ctx.now)
    known = device(ctx.session, data["serial_no"])
    model = data.get("device_model") or (known.device_model if known else None)
    ctx.session.add(RepairRecord(
        repair_no=number, instance_id=ctx.instance_id, customer=data["customer"], serial_no=data["serial_no"],
        device_model=model, fault_description=data["fault_description"],
        agreed_response_hours=int(data["agreed_response_hours"]), reported_by=ctx.actor, reported_at=ctx.now))
    ctx.assign_business_key(number)
    return {"repair_no": number, "device_model": model, "device_known": known is not None}


@registry.handler("field_service.record_arrival")
def record_arrival(ctx: HandlerContext) -> dict[str, Any]:
    """The engineer's arrival on site; within the agreed time unless the limit has already fired."""
    record = _one(ctx, RepairRecord)
    record.engineer, record.arrived_at = ctx.data.get("engineer"), ctx.now
    if record.response_met is None:
        record.response_met = True
    return {}


@registry.handler("field_service.record_late_arrival")
def record_late_arrival(ctx: HandlerContext) -> dict[str, Any]:
    """The agreed response time passed before the engineer arrived: marked on the record for the audit."""
    record = _one(ctx, RepairRecord)
    if record.arrived_at is None:
        record.response_met = False
    ctx.audit("response_time_missed", {"agreed_response_hours": record.agreed_response_hours,
                                       "engineer": ctx.data.get("engineer")})
    return {}


@registry.handler("field_service.record_diagnosis")
def record_diagnosis(ctx: HandlerContext) -> dict[str, Any]:
    """Instruments used, the cause told to the customer, and the parts or fees the repair needs."""
    record = _one(ctx, RepairRecord)
    data = ctx.data
    record.instruments_used, record.fault_cause = data["instruments_used"], data["fault_cause"]
    record.cause_explained_to = data.get("cause_explained_to")
    if data.get("needs_parts_or_fees"):
        record.parts_needed, record.fee_estimate = data.get("parts_needed"), data.get("fee_estimate")
    return {}


@registry.handler("field_service.record_consent")
def record_consent(ctx: HandlerContext) -> dict[str, Any]:
    """The customer's yes or no to the parts and fees, before any is used or charged."""
    record = _one(ctx, RepairRecord)
    record.consent, record.consent_by, record.consent_at = ctx.data["consent"], ctx.data.get("consent_by"), ctx.now
    return {}


@registry.handler("field_service.file_repair_record")
def file_repair_record(ctx: HandlerContext) -> dict[str, Any]:
    """The signed 《维修记录》 into the customer service file."""
    record = _one(ctx, RepairRecord)
    data = ctx.data
    repaired = record.consent != "refused"
    if repaired:
        record.repair_work, record.parts_replaced = data.get("repair_work"), data.get("parts_replaced")
        record.fees_charged, record.test_result = data.get("fees_charged"), data.get("test_result")
    record.signed_by, record.signed_on = data["signed_by"], parse_day(data["signed_on"])
    record.retrained = bool(data.get("needs_retraining"))
    record.trainees = data.get("trainees") if record.retrained else None
    record.filed_at = ctx.now
    outcome = "已维修" if repaired else "客户不同意备件/费用，未维修"
    file_record(ctx, "repair", ctx.property("document") or "《维修记录》", _lines(
        ("故障", record.fault_description), ("约定响应时间（小时）", record.agreed_response_hours),
        ("按时到场", {True: "是", False: "否"}.get(record.response_met)), ("工程师", record.engineer),
        ("检测仪器", record.instruments_used), ("故障原因", record.fault_cause), ("结果", outcome),
        ("维修内容", record.repair_work), ("更换备件", record.parts_replaced), ("收费", record.fees_charged),
        ("重新培训", record.trainees)), serial_no=record.serial_no, signed_by=record.signed_by,
        signed_on=record.signed_on)
    return {}


@registry.case_records
def installation_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("装机单", "Installation sheet", [
        ("installation_no", "编号", "Number"), ("customer", "客户", "Customer"), ("device_model", "型号", "Model"),
        ("serial_no", "序列号", "Serial no."), ("contract_no", "合同号", "Contract no."),
        ("engineer", "工程师", "Engineer"), ("inspection_parties", "开箱检验三方", "Unpacking inspection parties"),
        ("packaging", "包装", "Packaging"), ("parameters", "性能参数", "Performance parameters"),
        ("trainees", "培训人员", "Trainees"), ("signed_by", "客户签字", "Signed by"),
        ("signed_on", "签字日期", "Signed on"), ("filed_at", "归档时间", "Filed at"),
    ], list(session.scalars(select(InstallationSheet).where(InstallationSheet.instance_id == instance_id))),
        labels={"packaging": {"intact": ("完好", "Intact"), "damaged": ("破损", "Damaged")}})


@registry.case_records
def logistics_claim_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("物流索赔", "Logistics claim", [
        ("claim_no", "索赔单号", "Claim no."), ("carrier", "物流企业", "Logistics company"), ("waybill_no", "运单号", "Waybill no."),
        ("damage", "破损情况", "Damage"), ("amount", "索赔金额", "Amount"), ("filed_by", "提出人", "Filed by"),
        ("filed_at", "提出时间", "Filed at"),
    ], list(session.scalars(select(LogisticsClaim).where(LogisticsClaim.instance_id == instance_id))))


@registry.case_records
def repair_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("维修记录", "Repair record", [
        ("repair_no", "编号", "Number"), ("customer", "客户", "Customer"), ("serial_no", "序列号", "Serial no."),
        ("agreed_response_hours", "约定响应时间（小时）", "Agreed response time (hours)"),
        ("reported_at", "报修时间", "Reported at"), ("engineer", "工程师", "Engineer"),
        ("arrived_at", "到场时间", "Arrived at"), ("response_met", "按时到场", "Arrived in time"),
        ("fault_cause", "故障原因", "Cause"), ("consent", "客户确认", "Customer consent"),
        ("repair_work", "维修内容", "Repair work"), ("signed_by", "客户签字", "Signed by"),
        ("filed_at", "归档时间", "Filed at"),
    ], list(session.scalars(select(RepairRecord).where(RepairRecord.instance_id == instance_id))),
        labels={"consent": {"agreed": ("同意", "Agreed"), "refused": ("不同意", "Refused")}})
