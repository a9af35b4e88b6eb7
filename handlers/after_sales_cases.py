"""P2 after-sales cases with three judgments (售后问题处理, 三判): the 《售后处理单》, judgments, the expert group's opinions and the handling report."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import (
    Base,
    BpmnError,
    HandlerContext,
    HandlerRegistry,
    RecordSection,
    UtcDateTime,
    option_names,
)
from handlers.numbering import BEIJING, next_number
from handlers.warranty_criteria import UNDETERMINED, judge_warranty, matching_criterion

registry = HandlerRegistry()

PROCESS_KEY = "after_sales_case"  # the diagram whose forms name the coded values of these records
STATUS_NAMES = {"open": ("进行中", "Open"), "done": ("已完成", "Done")}

class AfterSalesCase(Base):
    """The 《售后处理单》 from intake to closing: the three judgments, the analysis, the handling and its
    agreement, and the action plan that the monthly tracking table (《售后问题行动计划追踪表》) lists."""

    __tablename__ = "after_sales_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    dealer: Mapped[str] = mapped_column(String(200), index=True)
    end_customer: Mapped[str] = mapped_column(String(200), index=True)
    customer_contact: Mapped[str | None] = mapped_column(String(200))
    product_name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(120), index=True)
    serial_no: Mapped[str] = mapped_column(String(120))
    ship_date: Mapped[date] = mapped_column(Date)
    purchase_date: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    problem_description: Mapped[str] = mapped_column(Text)
    photos: Mapped[str | None] = mapped_column(Text)  # photo file names or links, one a line
    filed_by: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # first judgment (一判) and the re-check on the returned item
    suggested_warranty: Mapped[str | None] = mapped_column(String(20))
    warranty_basis: Mapped[str | None] = mapped_column(Text)
    warranty_until: Mapped[date | None] = mapped_column(Date)
    warranty: Mapped[str | None] = mapped_column(String(20), index=True)
    warranty_override_reason: Mapped[str | None] = mapped_column(Text)
    warranty_judged_by: Mapped[str | None] = mapped_column(String(120))
    judgments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # second judgment (二判)
    return_decision: Mapped[str | None] = mapped_column(String(20))
    return_basis: Mapped[str | None] = mapped_column(Text)
    return_judged_by: Mapped[str | None] = mapped_column(String(120))
    return_escalated: Mapped[bool] = mapped_column(default=False)
    returned_received_on: Mapped[date | None] = mapped_column(Date)
    return_waybill_no: Mapped[str | None] = mapped_column(String(120))
    recheck_findings: Mapped[str | None] = mapped_column(Text)
    # third judgment (三判) and the 《质量分析报告》
    analysis_route: Mapped[str | None] = mapped_column(String(20))
    analysis_report_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    root_cause: Mapped[str | None] = mapped_column(Text)
    responsible_party: Mapped[str | None] = mapped_column(String(40), index=True)
    responsibility: Mapped[str | None] = mapped_column(Text)
    analysed_by: Mapped[str | None] = mapped_column(String(120))
    analysed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # the action plan (《售后问题行动计划追踪表》)
    corrective_action: Mapped[str | None] = mapped_column(Text)
    action_department: Mapped[str | None] = mapped_column(String(40), index=True)
    action_owner: Mapped[str | None] = mapped_column(String(120))
    action_due: Mapped[date | None] = mapped_column(Date, index=True)
    action_status: Mapped[str | None] = mapped_column(String(20), index=True)
    # the 《售后问题处理报告》 and the customer's agreement
    handling_report_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    outcome: Mapped[str | None] = mapped_column(String(30), index=True)
    handling_details: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[float | None] = mapped_column(Float)
    parts_list: Mapped[str | None] = mapped_column(Text)
    handling_rounds: Mapped[int] = mapped_column(Integer, default=0)
    customer_rounds: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    dealer_notified_on: Mapped[date | None] = mapped_column(Date)
    customer_agreed: Mapped[bool | None] = mapped_column()
    shipment_info: Mapped[str | None] = mapped_column(Text)
    shipped_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    @property
    def assessment_summary(self) -> str | None:
        """The assessments of responsible departments / people (kept with the judgments, stage 考核)."""
        found = [j for j in self.judgments or [] if j.get("stage") == "考核"]
        return "；".join(f"{j['department']}{'/' + j['role'] if j.get('role') else ''}：{j['assessment']}"
                        for j in found) or None


def registered_case(ctx: HandlerContext) -> AfterSalesCase:
    case = ctx.session.query(AfterSalesCase).filter_by(instance_id=ctx.instance_id).one_or_none()
    if case is None:
        raise LookupError(f"instance {ctx.instance_id} has no registered after-sales case")
    return case


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _text(ctx: HandlerContext, key: str) -> str | None:
    return (str(ctx.data.get(key) or "")).strip() or None


@registry.handler("after_sales_cases.register_case")
def register_case(ctx: HandlerContext) -> dict[str, Any]:
    """Number the 《售后处理单》 (SH-2026-0001); the number is the case's business key."""
    data = ctx.data
    case_no = next_number(ctx.session, AfterSalesCase.case_no, "SH", ctx.now)
    ctx.session.add(AfterSalesCase(
        case_no=case_no, instance_id=ctx.instance_id, dealer=data["dealer"], end_customer=data["end_customer"],
        customer_contact=_text(ctx, "customer_contact"), product_name=data["product_name"], model=data["model"],
        serial_no=data["serial_no"], ship_date=_date(data["ship_date"]), purchase_date=_date(data.get("purchase_date")),
        quantity=int(data["quantity"]), problem_description=data["problem_description"], photos=_text(ctx, "photos"),
        filed_by=ctx.actor, received_at=ctx.now, judgments=[], customer_rounds=[], handling_rounds=0,
        return_escalated=False))
    ctx.assign_business_key(case_no)
    return {"case_no": case_no}


@registry.handler("after_sales_cases.propose_warranty")
def propose_warranty(ctx: HandlerContext) -> dict[str, Any]:
    """Propose the first judgment from the criteria table, the model and the ship/purchase date (P2 step 2)."""
    case = registered_case(ctx)
    verdict, basis, until = judge_warranty(matching_criterion(ctx.session, case.model), case.ship_date,
                                           case.purchase_date, case.received_at.astimezone(BEIJING).date())
    case.suggested_warranty, case.warranty_basis, case.warranty_until = verdict, basis, until
    proposal = {"suggested_warranty": verdict, "warranty_basis": basis,
                "warranty_until": until.isoformat() if until else None}
    if verdict != UNDETERMINED:
        proposal["warranty"] = verdict
    return proposal


@registry.handler("after_sales_cases.record_warranty_judgment")
def record_warranty_judgment(ctx: HandlerContext) -> dict[str, Any]:
    """Record a warranty judgment (the first one, or the re-check on the returned item); one that differs
    from its reference (property `reference_field`) needs a reason (field named by `reason_field`)."""
    stage = ctx.property("stage") or ctx.element_name
    reference_field, reason_field = ctx.property("reference_field"), ctx.property("reason_field")
    if not reference_field or not reason_field:
        raise ValueError("the task needs the properties reference_field and reason_field")
    decided, reference = ctx.data["warranty"], ctx.data.get(reference_field)
    reason = _text(ctx, reason_field)
    changed = decided != reference
    if changed and not reason:
        raise BpmnError("OVERRIDE_REASON_REQUIRED", f"{stage}: a judgment that differs from {reference} needs a reason")
    case = registered_case(ctx)
    findings_field = ctx.property("findings_field")
    findings = _text(ctx, findings_field) if findings_field else None
    case.warranty, case.warranty_judged_by = decided, ctx.actor
    if changed:
        case.warranty_override_reason = reason
    if findings:
        case.recheck_findings = findings
        case.returned_received_on = _date(ctx.data.get("received_on")) or case.returned_received_on
        case.return_waybill_no = _text(ctx, "waybill_no") or case.return_waybill_no
    case.judgments = [*case.judgments, {"stage": stage, "at": ctx.now.isoformat(), "by": ctx.actor,
                                        "decision": decided, "reference": reference,
                                        "reason": reason if changed else None, "findings": findings,
                                        "problem_type": _text(ctx, "problem_type")}]
    if changed:
        ctx.audit("warranty_judgment_overridden", {"stage": stage, "from": reference, "to": decided, "reason": reason,
                                                   "case_no": case.case_no})
    return {"confirmed_warranty": decided, "warranty_overridden": changed}


@registry.handler("after_sales_cases.record_return_judgment")
def record_return_judgment(ctx: HandlerContext) -> dict[str, Any]:
    """The second judgment: must the item come back to the company (P2 step 3)."""
    case = registered_case(ctx)
    case.return_decision, case.return_basis = ctx.data["return_decision"], _text(ctx, "return_basis")
    case.return_judged_by = ctx.actor
    case.judgments = [*case.judgments, {"stage": "二判", "at": ctx.now.isoformat(), "by": ctx.actor,
                                        "decision": case.return_decision, "reason": case.return_basis,
                                        "problem_type": _text(ctx, "problem_type")}]
    return {}


@registry.handler("after_sales_cases.record_problem_confirmation")
def record_problem_confirmation(ctx: HandlerContext) -> dict[str, Any]:
    """The second judgment's confirmation of the problem point: on site when the item stays with the
    customer, or with the quality supervisor on the returned item (property `stage`, `findings_field`)."""
    findings_field = ctx.property("findings_field")
    if not findings_field:
        raise ValueError("the task needs the property findings_field")
    stage = ctx.property("stage") or ctx.element_name
    how_field = ctx.property("how_field")
    case = registered_case(ctx)
    findings = _text(ctx, findings_field)
    entry = {"stage": stage, "at": ctx.now.isoformat(), "by": ctx.actor, "findings": findings,
             "problem_type": _text(ctx, "problem_type"), "how": _text(ctx, how_field) if how_field else None,
             "quality_problem": ctx.data.get("quality_problem"),
             "quality_supervisor": _text(ctx, "quality_supervisor")}
    case.judgments = [*case.judgments, {k: v for k, v in entry.items() if v is not None}]
    if how_field:  # confirmed on site: the only confirmation this case gets
        case.recheck_findings = findings
    ctx.audit("problem_confirmed", {"stage": stage, "case_no": case.case_no, "findings": findings,
                                    "quality_problem": entry["quality_problem"]})
    return {}


@registry.handler("after_sales_cases.record_assessment")
def record_assessment(ctx: HandlerContext) -> dict[str, Any]:
    """After-sales' assessment of the responsible department and person (role) from the quality analysis
    (P2 4.1): kept with the case's judgments, and the assessed department's head is told."""
    case = registered_case(ctx)
    department, role = ctx.data["assessed_department"], _text(ctx, "assessed_role")
    assessment = _text(ctx, "assessment")
    case.judgments = [*case.judgments, {"stage": "考核", "at": ctx.now.isoformat(), "by": ctx.actor,
                                        "department": department, "role": role, "assessment": assessment,
                                        "analysis_report_no": case.analysis_report_no}]
    ctx.outbox.notify(f"head:{department}", f"售后问题考核：{case.case_no}（{case.analysis_report_no or '—'}）",
                      f"被考核个人（角色）：{role or '—'}\n考核意见：{assessment}\n根本原因：{case.root_cause or '—'}")
    ctx.audit("responsibility_assessed", {"case_no": case.case_no, "department": department, "role": role,
                                          "assessment": assessment})
    return {}


@registry.handler("after_sales_cases.record_escalation")
def record_escalation(ctx: HandlerContext) -> dict[str, Any]:
    """A judgment stage that missed its limit and went to the supervisor (property `stage`)."""
    case = registered_case(ctx)
    stage = ctx.property("stage") or ctx.element_name
    case.return_escalated = True
    case.judgments = [*case.judgments, {"stage": stage, "at": ctx.now.isoformat(), "by": None,
                                        "decision": "escalated", "reason": ctx.element_name}]
    ctx.audit("judgment_escalated", {"stage": stage, "case_no": case.case_no})
    return {}


@registry.handler("after_sales_cases.record_analysis")
def record_analysis(ctx: HandlerContext) -> dict[str, Any]:
    """Number the 《质量分析报告》, put its action on the tracking table and tell the action's department head."""
    data, case = ctx.data, registered_case(ctx)
    case.analysis_report_no = case.analysis_report_no or next_number(ctx.session, AfterSalesCase.analysis_report_no,
                                                                     "ZL", ctx.now)
    case.analysis_route = data.get("analysis_route")
    case.root_cause, case.responsible_party = data["root_cause"], data["responsible_party"]
    case.responsibility, case.corrective_action = data["responsibility"], data["corrective_action"]
    case.action_department, case.action_owner = data["action_department"], data["action_owner"]
    case.action_due, case.action_status = _date(data["action_due"]), "open"
    case.analysed_by, case.analysed_at = ctx.actor, ctx.now
    ctx.outbox.notify(f"head:{case.action_department}", f"售后问题行动计划：{case.case_no}（{case.analysis_report_no}）",
                      f"根本原因：{case.root_cause}\n纠正预防措施：{case.corrective_action}\n"
                      f"责任人：{case.action_owner}，完成期限：{case.action_due.isoformat()}")
    return {"analysis_report_no": case.analysis_report_no}


@registry.handler("after_sales_cases.record_handling_report")
def record_handling_report(ctx: HandlerContext) -> dict[str, Any]:
    """Register the 《售后问题处理报告》; the outcomes that need an amount or a parts list are the task's
    properties `amount_required_for` / `parts_required_for`."""
    data, outcome = ctx.data, ctx.data["outcome"]
    amount = data.get("amount")
    if outcome in ctx.property_list("amount_required_for") and not amount:
        raise BpmnError("HANDLING_REPORT_INCOMPLETE", f"outcome {outcome} needs the amount")
    if outcome in ctx.property_list("parts_required_for") and not _text(ctx, "parts_list"):
        raise BpmnError("HANDLING_REPORT_INCOMPLETE", f"outcome {outcome} needs the parts list")
    case = registered_case(ctx)
    case.handling_report_no = case.handling_report_no or next_number(ctx.session, AfterSalesCase.handling_report_no,
                                                                     "CL", ctx.now)
    case.outcome, case.handling_details = outcome, data["handling_details"]
    case.amount = float(amount) if amount is not None else None
    case.parts_list = _text(ctx, "parts_list")
    case.handling_rounds += 1
    return {"handling_report_no": case.handling_report_no, "handling_rounds": case.handling_rounds}


@registry.handler("after_sales_cases.record_agreement")
def record_agreement(ctx: HandlerContext) -> dict[str, Any]:
    """The dealer told and the end customer's answer to this round's handling (P2 step 5), and the
    shipment after handling that the weekly report tracks (P2 step 7)."""
    data, case = ctx.data, registered_case(ctx)
    agreed = data["customer_agreement"] == "agreed"
    case.dealer_notified_on, case.customer_agreed = _date(data["dealer_notified_on"]), agreed
    case.shipment_info = _text(ctx, "shipment_info") or case.shipment_info
    case.shipped_on = _date(data.get("shipped_on")) or case.shipped_on
    case.customer_rounds = [*case.customer_rounds, {
        "round": case.handling_rounds, "at": ctx.now.isoformat(), "by": ctx.actor, "outcome": case.outcome,
        "agreed": agreed, "feedback": _text(ctx, "customer_feedback")}]
    if not agreed:
        ctx.audit("customer_disagreed", {"case_no": case.case_no, "round": case.handling_rounds,
                                         "feedback": _text(ctx, "customer_feedback")})
    return {}


@registry.handler("after_sales_cases.close_case")
def close_case(ctx: HandlerContext) -> dict[str, Any]:
    """Order management closes the 《售后处理单》 on After-sales' final notice; After-sales is told."""
    case = registered_case(ctx)
    case.closed_at = ctx.now
    case.judgments = [*case.judgments, {"stage": "关闭", "at": ctx.now.isoformat(), "by": ctx.actor,
                                        "note": _text(ctx, "close_instruction")}]
    outcome = form_options(ctx.session).get("outcome", {}).get(case.outcome, (case.outcome or "—",))[0]
    ctx.outbox.notify("department:after_sales", f"售后处理单 {case.case_no} 已关闭",
                      f"{case.dealer} / {case.end_customer}：{outcome}，终端客户已同意。")
    return {"closed_at": ctx.now.isoformat()}


# -- the tracking tables of P2 step 7 ----------------------------------------------------------------

def action_plan_rows(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """《售后问题行动计划追踪表》 for [start, end): actions due in the period, and earlier ones still open."""
    query = select(AfterSalesCase).where(AfterSalesCase.corrective_action.is_not(None), AfterSalesCase.action_due < end)
    rows = []
    for case in session.scalars(query.order_by(AfterSalesCase.action_due, AfterSalesCase.case_no)):
        if case.action_due < start and case.action_status == "done":
            continue
        rows.append({"case_no": case.case_no, "analysis_report_no": case.analysis_report_no, "dealer": case.dealer,
                     "end_customer": case.end_customer, "product": f"{case.product_name} {case.model}",
                     "root_cause": case.root_cause, "responsible_party": case.responsible_party,
                     "corrective_action": case.corrective_action, "action_department": case.action_department,
                     "action_owner": case.action_owner, "action_due": case.action_due,
                     "action_status": case.action_status,
                     "overdue": case.action_status != "done" and case.action_due < end})
    return rows


def shipment_rows(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """The weekly shipment-after-handling list (周报): what went out in [start, end) after handling."""
    query = select(AfterSalesCase).where(AfterSalesCase.shipped_on >= start, AfterSalesCase.shipped_on < end)
    return [{"case_no": c.case_no, "dealer": c.dealer, "end_customer": c.end_customer, "outcome": c.outcome,
             "product": f"{c.product_name} {c.model}", "quantity": c.quantity, "shipment_info": c.shipment_info,
             "shipped_on": c.shipped_on, "closed": c.closed_at is not None}
            for c in session.scalars(query.order_by(AfterSalesCase.shipped_on, AfterSalesCase.case_no))]


def form_options(session: Session) -> dict[str, dict[str, tuple[str, str]]]:
    """The P2 forms' option names (warranty, outcome…) as the deployed diagram gives them."""
    return option_names(session, PROCESS_KEY)


@registry.case_records
def after_sales_case_record(session: Session, instance_id: int) -> RecordSection | None:
    """The 《售后处理单》 with its three judgments, analysis, handling and action plan."""
    return RecordSection.of("售后处理单", "After-sales Handling Form", [
        ("case_no", "编号", "Number"), ("dealer", "经销商", "Dealer"), ("end_customer", "终端客户", "End customer"),
        ("product_name", "产品名称", "Product"), ("model", "规格型号", "Model"), ("serial_no", "序列号/批号", "Serial"),
        ("ship_date", "发货日期", "Ship date"), ("quantity", "数量", "Quantity"),
        ("problem_description", "问题描述", "Problem"), ("photos", "照片", "Photos"),
        ("suggested_warranty", "标准判定", "By the criteria"), ("warranty_basis", "判定依据", "Basis"),
        ("warranty", "保修判定", "Warranty"), ("warranty_override_reason", "改判理由", "Override reason"),
        ("return_decision", "二判", "Return"), ("return_escalated", "二判超时升级", "Escalated"),
        ("recheck_findings", "实物/现场确认", "Confirmed on the item / on site"), ("analysis_route", "三判", "Third judgment"),
        ("analysis_report_no", "质量分析报告", "Analysis report"), ("root_cause", "根本原因", "Root cause"),
        ("responsible_party", "责任方", "Responsible party"), ("corrective_action", "纠正预防措施", "Action"),
        ("action_department", "措施责任部门", "Action department"), ("action_owner", "措施责任人", "Action owner"),
        ("action_due", "措施期限", "Action due"), ("action_status", "措施状态", "Action status"),
        ("assessment_summary", "考核", "Assessment"),
        ("handling_report_no", "处理报告", "Handling report"), ("outcome", "处理结果", "Outcome"),
        ("amount", "金额", "Amount"), ("handling_rounds", "处理轮次", "Rounds"),
        ("customer_agreed", "终端客户同意", "Customer agreed"), ("shipped_on", "处理后发货", "Shipped"),
        ("closed_at", "关闭时间", "Closed at"),
    ], session.query(AfterSalesCase).filter_by(instance_id=instance_id).all(),
        labels={**form_options(session), "action_status": STATUS_NAMES})
