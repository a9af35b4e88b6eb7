"""P1 Technical Change Notice (技术更改通知): issued by Development, carried out everywhere at once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.numbering import next_number

registry = HandlerRegistry()


class TechnicalChangeNotice(Base):
    __tablename__ = "technical_change_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    content: Mapped[str] = mapped_column(Text)
    effective_date: Mapped[str] = mapped_column(String(10))
    tooling_required: Mapped[bool] = mapped_column(Boolean)
    issued_by: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)


@registry.handler("change_notices.issue")
def issue_change_notice(ctx: HandlerContext) -> dict[str, Any]:
    data = ctx.data
    notice_no = next_number(ctx.session, TechnicalChangeNotice.notice_no, "JG", ctx.now)
    ctx.session.add(TechnicalChangeNotice(
        notice_no=notice_no, instance_id=ctx.instance_id, business_key=ctx.business_key,
        content=data["change_content"], effective_date=data["effective_date"],
        tooling_required=bool(data.get("tooling_required")), issued_by=ctx.actor, issued_at=ctx.now))
    # Who is told at once is the diagram's business (property `notify`: department codes).
    for department in ctx.property_list("notify"):
        ctx.outbox.notify(f"department:{department}", f"技术更改通知 {notice_no}（{ctx.business_key}）",
                          f"{data['change_content']}\n生效日期：{data['effective_date']}。车间在制品、库存、"
                          "市场产品、工装模具及技术文件同时更改。")
    return {"change_notice_no": notice_no}


@registry.case_records
def change_notice_record(session: Session, instance_id: int) -> RecordSection | None:
    return RecordSection.of("技术更改通知", "Technical change notices", [
        ("notice_no", "编号", "Number"), ("content", "更改内容", "Change"),
        ("effective_date", "生效日期", "Effective"), ("tooling_required", "需工装模具", "Tooling needed"),
        ("issued_by", "发出人", "Issued by"), ("issued_at", "发出时间", "Issued at"),
    ], session.query(TechnicalChangeNotice).filter_by(instance_id=instance_id)
       .order_by(TechnicalChangeNotice.id).all())
