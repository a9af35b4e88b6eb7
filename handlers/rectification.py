"""P1 written rectification report (书面整改报告) from Quality to Sales, who replies to the customer."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.numbering import next_number

registry = HandlerRegistry()


class RectificationReport(Base):
    __tablename__ = "rectification_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    category: Mapped[str | None] = mapped_column(String(20))
    test_result: Mapped[str | None] = mapped_column(Text)
    cause_analysis: Mapped[str | None] = mapped_column(Text)
    improvement_measures: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)


@registry.handler("rectification.issue_report")
def issue_report(ctx: HandlerContext) -> dict[str, Any]:
    """File the report with the review's findings and send it to Sales for the customer reply."""
    data = ctx.data
    report_no = next_number(ctx.session, RectificationReport.report_no, "ZG", ctx.now)
    ctx.session.add(RectificationReport(
        report_no=report_no, instance_id=ctx.instance_id, business_key=ctx.business_key,
        category=data.get("category"), test_result=data.get("test_result"),
        cause_analysis=data.get("cause_analysis"), improvement_measures=data.get("improvement_measures"),
        content=data["report_content"], issued_by=ctx.actor, issued_at=ctx.now))
    ctx.outbox.notify("department:sales", f"书面整改报告 {report_no}（{ctx.business_key}）",
                      f"{data['report_content']}\n\n请及时答复客户 {data.get('customer', '')}。")
    return {"report_no": report_no}


@registry.case_records
def rectification_report_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("书面整改报告", "Written rectification report", [
        ("report_no", "编号", "Number"), ("content", "报告内容", "Content"),
        ("improvement_measures", "改进措施", "Improvement measures"), ("issued_by", "发出人", "Issued by"),
        ("issued_at", "发出时间", "Issued at"),
    ], session.query(RectificationReport).filter_by(instance_id=instance_id).order_by(RectificationReport.id).all())
