"""Notifications a diagram asks for: departments told of a new case, reminders before a limit."""
from __future__ import annotations

from typing import Any

from engine.handler_api import HandlerContext, HandlerRegistry

registry = HandlerRegistry()


def _departments(ctx: HandlerContext) -> list[str]:
    return ctx.property_list("departments")


@registry.handler("notifications.notify_departments")
def notify_departments(ctx: HandlerContext) -> dict[str, Any]:
    """Tell the departments named by the task's `departments` property about the case."""
    departments = _departments(ctx)
    if not departments:
        raise ValueError("the task needs the property departments (department codes, comma separated)")
    subject = f"{ctx.element_name}：{ctx.business_key or ctx.instance_id}"
    body = "；".join(f"{k}: {ctx.data[k]}" for k in ("customer", "product_name", "spec_model", "batch_no",
                                                     "problem_description") if k in ctx.data)
    for department in departments:
        ctx.outbox.notify(f"department:{department}", subject, body)
    return {"notified_departments": departments}


@registry.handler("notifications.remind")
def remind(ctx: HandlerContext) -> dict[str, Any]:
    """Remind whoever holds the case's open tasks that a limit is near (a non-interrupting timer)."""
    recipients = sorted({f"user:{t.claimed_by}" if t.claimed_by else f"department:{t.department}"
                         for t in ctx.open_tasks}) or [f"department:{d}" for d in _departments(ctx)]
    tasks = "、".join(t.name for t in ctx.open_tasks) or "（无待办）"
    for recipient in recipients:
        ctx.outbox.notify(recipient, f"时限提醒：{ctx.element_name}（{ctx.business_key}）",
                          f"以下待办即将超过时限：{tasks}")
    ctx.audit("sla_reminded", {"recipients": recipients, "open_tasks": [t.element_id for t in ctx.open_tasks]})
    return {}
