"""Missed response limits (超时): escalated, and recorded against the responsible department."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UtcDateTime
from engine.handler_api import Base, HandlerContext, HandlerRegistry

registry = HandlerRegistry()


class LimitMiss(Base):
    """One missed limit counted against a department (and the person holding the task, if claimed)."""

    __tablename__ = "limit_misses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(120))
    process_key: Mapped[str] = mapped_column(String(120))
    limit_element_id: Mapped[str] = mapped_column(String(120))
    limit_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(40), index=True)
    person: Mapped[str | None] = mapped_column(String(120))
    missed_at: Mapped[datetime] = mapped_column(UtcDateTime)


@registry.handler("escalation.record_miss")
def record_miss(ctx: HandlerContext) -> dict[str, Any]:
    """Whoever holds the work when the limit passes bears the miss (P1 step 5); the diagram names the
    department held responsible when no task is open. `sla_name` and `responsible_department` come
    from the boundary timer whose path this task is on."""
    limit_name = ctx.property("sla_name") or ctx.element_name
    holders = {(t.department, t.claimed_by) for t in ctx.open_tasks}
    if not holders:
        fallback = ctx.property("responsible_department")
        if not fallback:
            raise ValueError("no task is open and the task names no responsible_department")
        holders = {(fallback, None)}
    misses = []
    for department, person in sorted(holders, key=lambda h: (h[0], h[1] or "")):
        ctx.session.add(LimitMiss(
            instance_id=ctx.instance_id, business_key=ctx.business_key, process_key=ctx.process_key,
            limit_element_id=ctx.element_id, limit_name=limit_name, department=department, person=person,
            missed_at=ctx.now))
        ctx.outbox.notify(f"head:{department}", f"超时升级：{limit_name}（{ctx.business_key}）",
                          f"{department} 未在时限内完成；责任人：{person or '未认领'}。请督办。")
        misses.append(department)
    ctx.audit("escalated", {"limit": limit_name, "departments": misses,
                            "people": sorted(p for _, p in holders if p)})
    return {}
