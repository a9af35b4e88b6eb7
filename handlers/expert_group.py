"""P2's Quality Expert Group (质量专家小组): convened on a case the quality head sends to it, each member
department's head told; every member's opinion kept with the case, and each that did not come in time. The
topics keep the after_sales_cases prefix of the diagram they serve."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.after_sales_cases import registered_case

registry = HandlerRegistry()
OPINION_NAMES = {"given": ("已提交", "Given"), "missing": ("未提交", "Missing")}


class ExpertOpinion(Base):
    """One Quality Expert Group member's opinion on a case (or the record that it did not come in time)."""

    __tablename__ = "after_sales_expert_opinions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("after_sales_cases.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    department: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))  # given | missing
    opinion: Mapped[str | None] = mapped_column(Text)
    suspected_cause: Mapped[str | None] = mapped_column(Text)
    suggested_party: Mapped[str | None] = mapped_column(String(40))
    suggested_action: Mapped[str | None] = mapped_column(Text)
    given_by: Mapped[str | None] = mapped_column(String(120))
    given_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


@registry.handler("after_sales_cases.convene_expert_group")
def convene_expert_group(ctx: HandlerContext) -> dict[str, Any]:
    """Convene the Quality Expert Group: its departments are the task's `expert_departments` property (the
    process owner changes them in the modeller); each department's head is told and gives an opinion."""
    departments = list(dict.fromkeys(ctx.property_list("expert_departments")))
    if not departments:
        raise ValueError("the task needs the property expert_departments (department codes, comma separated)")
    case = registered_case(ctx)
    for department in departments:
        ctx.outbox.notify(f"head:{department}", f"质量专家小组评审：{case.case_no}",
                          f"{case.product_name} {case.model}（{case.serial_no}）：{case.problem_description}\n"
                          f"质量主管说明：{ctx.data.get('route_note') or '—'}")
    ctx.audit("expert_group_convened", {"case_no": case.case_no, "departments": departments})
    return {"expert_departments": departments}


@registry.handler("after_sales_cases.record_expert_opinions")
def record_expert_opinions(ctx: HandlerContext) -> dict[str, Any]:
    """Record every member's opinion in the case (P2 step 4), and each member that gave none in time."""
    case = registered_case(ctx)
    expected = list(ctx.data.get("expert_departments") or [])
    given: dict[str, dict[str, Any]] = {}
    for opinion in ctx.data.get("expert_opinions") or []:
        department = opinion.get("expert_department")
        if department is None:
            department = next((d for d in expected if d not in given), f"member_{len(given) + 1}")
        given[department] = opinion
    for department in [*expected, *(d for d in given if d not in expected)]:
        opinion = given.get(department)
        ctx.session.add(ExpertOpinion(
            case_id=case.id, instance_id=ctx.instance_id, department=department,
            status="given" if opinion else "missing", opinion=(opinion or {}).get("expert_opinion"),
            suspected_cause=(opinion or {}).get("suspected_cause"), suggested_party=(opinion or {}).get("suggested_party"),
            suggested_action=(opinion or {}).get("suggested_action"), given_by=(opinion or {}).get("completed_by"),
            given_at=datetime.fromisoformat(opinion["completed_at"]) if opinion and opinion.get("completed_at") else None,
            recorded_at=ctx.now))
    missing = [d for d in expected if d not in given]
    ctx.audit("expert_opinions_recorded", {"case_no": case.case_no, "given": list(given), "missing": missing})
    return {"expert_opinions_missing": missing}


@registry.case_records
def expert_opinion_record(session: Session, instance_id: int) -> RecordSection | None:
    """Each Quality Expert Group member's opinion (or that it did not come in time)."""
    return RecordSection.of("质量专家小组意见", "Quality Expert Group opinions", [
        ("department", "部门", "Department"), ("status", "状态", "Status"), ("opinion", "评审意见", "Opinion"),
        ("suspected_cause", "原因判断", "Suspected cause"), ("suggested_party", "建议责任方", "Suggested party"),
        ("suggested_action", "建议措施", "Suggested action"), ("given_by", "提交人", "Given by"),
        ("given_at", "提交时间", "Given at"),
    ], session.query(ExpertOpinion).filter_by(instance_id=instance_id).order_by(ExpertOpinion.id).all(),
        labels={"status": OPINION_NAMES})
