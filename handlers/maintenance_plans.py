"""P5 scheduled maintenance (定期保养): one maintenance plan per customer device drives the visits. The
diagram waits on timers for the dates this module computes (when to contact the customer, the agreed
visit day); the interval is the plan's, the lead time and the hour are the diagram's task properties."""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, BpmnError, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.customer_files import CustomerDevice, device, file_record, parse_day
from handlers.numbering import next_number

registry = HandlerRegistry()
BEIJING = ZoneInfo("Asia/Shanghai")


class MaintenancePlan(Base):
    """A device's maintenance plan: the interval, the next planned visit and how many were made."""

    __tablename__ = "maintenance_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    customer: Mapped[str] = mapped_column(String(200), index=True)
    serial_no: Mapped[str] = mapped_column(String(120), index=True)
    device_model: Mapped[str | None] = mapped_column(String(120))
    interval_months: Mapped[int] = mapped_column(Integer)
    maintenance_items: Mapped[str] = mapped_column(Text)
    next_visit_on: Mapped[date] = mapped_column(Date)
    visits_done: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), index=True)  # active / ended
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MaintenanceRecord(Base):
    """One visit's Maintenance Record (《维护保养记录》): planned and agreed dates, the work, the signature."""

    __tablename__ = "maintenance_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_no: Mapped[str] = mapped_column(String(40), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    visit_no: Mapped[int] = mapped_column(Integer)
    planned_on: Mapped[date] = mapped_column(Date)
    agreed_on: Mapped[date | None] = mapped_column(Date)
    agreed_with: Mapped[str | None] = mapped_column(String(200))
    engineer: Mapped[str | None] = mapped_column(String(120))
    work_done: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    parts_replaced: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str | None] = mapped_column(String(120))
    signed_on: Mapped[date | None] = mapped_column(Date)
    filed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter, e.g. 31 Jan + 1 = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _at(day: date, ctx: HandlerContext, name: str) -> str:
    """`day` at the hour the task's property gives (Beijing time), as the ISO date-time a timer waits for."""
    hour = ctx.property(name)
    if not hour:
        raise ValueError(f"the task needs the property {name} (e.g. 09:00)")
    return datetime.combine(day, time.fromisoformat(hour), BEIJING).isoformat()


def _plan(ctx: HandlerContext) -> MaintenancePlan:
    plan = ctx.session.scalar(select(MaintenancePlan).where(MaintenancePlan.instance_id == ctx.instance_id))
    if plan is None:
        raise LookupError(f"instance {ctx.instance_id} has no maintenance plan")
    return plan


def _visit(ctx: HandlerContext, plan: MaintenancePlan) -> MaintenanceRecord:
    return ctx.session.scalars(select(MaintenanceRecord).where(MaintenanceRecord.plan_no == plan.plan_no)
                               .order_by(MaintenanceRecord.visit_no.desc())).first()


@registry.handler("maintenance_plans.register_plan")
def register_plan(ctx: HandlerContext) -> dict[str, Any]:
    """Number the plan (MP-2026-0001); one active plan per device (DUPLICATE_PLAN otherwise). A device not
    installed through the system is entered as a customer device here."""
    data = ctx.data
    serial = data["serial_no"]
    active = ctx.session.scalar(select(MaintenancePlan).where(MaintenancePlan.serial_no == serial,
                                                             MaintenancePlan.status == "active"))
    if active is not None:
        raise BpmnError("DUPLICATE_PLAN", f"device {serial} already has the active plan {active.plan_no}")
    unit = device(ctx.session, serial)
    if unit is not None and unit.customer != data["customer"]:
        raise ValueError(f"serial number {serial} is registered for {unit.customer}, not {data['customer']}")
    if unit is None:
        ctx.session.add(CustomerDevice(customer=data["customer"], serial_no=serial, device_model=data.get("device_model"),
                                       site_address=data.get("site_address"), region=data.get("region"),
                                       registered_at=ctx.now))
    number = next_number(ctx.session, MaintenancePlan.plan_no, "MP", ctx.now)
    ctx.session.add(MaintenancePlan(
        plan_no=number, instance_id=ctx.instance_id, customer=data["customer"], serial_no=serial,
        device_model=data.get("device_model") or (unit.device_model if unit else None),
        interval_months=int(data["interval_months"]), maintenance_items=data["maintenance_items"],
        next_visit_on=parse_day(data["first_visit_on"]), visits_done=0, status="active", created_by=ctx.actor,
        created_at=ctx.now))
    ctx.assign_business_key(number)
    return {"plan_no": number}


@registry.handler("maintenance_plans.plan_next_visit")
def plan_next_visit(ctx: HandlerContext) -> dict[str, Any]:
    """The next planned visit and when to contact the customer: `lead_days` before it at `contact_time`."""
    plan = _plan(ctx)
    lead = ctx.property("lead_days")
    if lead is None or not lead.isdigit():
        raise ValueError("the task needs the property lead_days (days before the visit to contact the customer)")
    contact_on = plan.next_visit_on - timedelta(days=int(lead))
    return {"visit_no": plan.visits_done + 1, "planned_visit_on": plan.next_visit_on.isoformat(),
            "contact_at": _at(contact_on, ctx, "contact_time")}


@registry.handler("maintenance_plans.schedule_visit")
def schedule_visit(ctx: HandlerContext) -> dict[str, Any]:
    """The date agreed with the customer opens the visit's record; the visit timer waits for `visit_time`
    on that day. A visit without a date from today on raises VISIT_DATE_INVALID."""
    plan = _plan(ctx)
    if ctx.data.get("plan_decision") != "visit":
        return {}
    agreed = parse_day(ctx.data.get("agreed_visit_on"))
    today = ctx.now.astimezone(BEIJING).date()
    if agreed is None or agreed < today:
        raise BpmnError("VISIT_DATE_INVALID", f"the agreed visit day must be today ({today}) or later")
    ctx.session.add(MaintenanceRecord(plan_no=plan.plan_no, instance_id=ctx.instance_id,
                                      visit_no=plan.visits_done + 1, planned_on=plan.next_visit_on, agreed_on=agreed,
                                      agreed_with=ctx.data.get("customer_contact")))
    return {"visit_at": _at(agreed, ctx, "visit_time")}


@registry.handler("maintenance_plans.file_record")
def file_maintenance_record(ctx: HandlerContext) -> dict[str, Any]:
    """The signed 《维护保养记录》 into the customer service file, with the customer told of the result and the
    retraining when there was one (P5 4.3.3); the next visit is the planned date plus the interval (planned, not
    agreed, so the schedule does not drift). The visit's retraining answers are cleared for the next visit."""
    plan = _plan(ctx)
    visit = _visit(ctx, plan)
    data = ctx.data
    visit.engineer, visit.work_done = data.get("engineer"), data.get("work_done")
    visit.findings, visit.parts_replaced = data.get("findings"), data.get("parts_replaced")
    visit.signed_by, visit.signed_on, visit.filed_at = data["signed_by"], parse_day(data["signed_on"]), ctx.now
    plan.visits_done += 1
    plan.next_visit_on = add_months(plan.next_visit_on, plan.interval_months)
    retrained = bool(data.get("needs_retraining"))
    file_record(ctx, "maintenance", ctx.property("document") or "《维护保养记录》", "；".join(
        f"{label}：{value}" for label, value in (
            ("计划", plan.plan_no), ("第几次", visit.visit_no), ("计划日期", visit.planned_on),
            ("约定日期", visit.agreed_on), ("工程师", visit.engineer), ("保养内容", visit.work_done),
            ("发现问题", visit.findings), ("更换备件", visit.parts_replaced), ("告知客户", data.get("result_told_to")),
            ("再培训", data.get("trainees") if retrained else None),
            ("培训内容", data.get("training_content") if retrained else None)) if value not in (None, "")),
        serial_no=plan.serial_no, signed_by=visit.signed_by, signed_on=visit.signed_on)
    return {"visits_done": plan.visits_done, "needs_retraining": False, "trainees": None, "training_content": None}


@registry.handler("maintenance_plans.end_plan")
def end_plan(ctx: HandlerContext) -> dict[str, Any]:
    """The plan stops (the customer's contract ended, the device was scrapped...), with the reason."""
    plan = _plan(ctx)
    plan.status, plan.ended_reason, plan.ended_at = "ended", ctx.data.get("stop_reason"), ctx.now
    return {}


@registry.case_records
def plan_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("定期维护保养计划", "Maintenance plan", [
        ("plan_no", "编号", "Number"), ("customer", "客户", "Customer"), ("serial_no", "序列号", "Serial no."),
        ("interval_months", "保养周期（月）", "Interval (months)"), ("next_visit_on", "下次计划保养", "Next planned visit"),
        ("visits_done", "已保养次数", "Visits done"), ("status", "状态", "Status"),
        ("ended_reason", "终止原因", "Reason ended"),
    ], list(session.scalars(select(MaintenancePlan).where(MaintenancePlan.instance_id == instance_id))),
        labels={"status": {"active": ("执行中", "Active"), "ended": ("已终止", "Ended")}})


@registry.case_records
def visit_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("维护保养记录", "Maintenance records", [
        ("visit_no", "次序", "Visit"), ("planned_on", "计划日期", "Planned on"), ("agreed_on", "约定日期", "Agreed on"),
        ("engineer", "工程师", "Engineer"), ("work_done", "保养内容", "Work done"), ("signed_by", "客户签字", "Signed by"),
        ("signed_on", "签字日期", "Signed on"), ("filed_at", "归档时间", "Filed at"),
    ], list(session.scalars(select(MaintenanceRecord).where(MaintenanceRecord.instance_id == instance_id)
                            .order_by(MaintenanceRecord.visit_no))))
