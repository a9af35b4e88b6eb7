"""The denormalised human-task rows kept in step with the workflow, so inboxes never load one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.diagrams.catalog import sla_source_of
from engine.errors import TaskRoutingError
from engine.spiff import ProcessRun
from engine.storage.case_data import json_safe
from engine.storage.models import NO_LIMIT, Department, HumanTask, Membership, ProcessInstance, User
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork


def sync_task_rows(uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun, deployed_catalog: dict[str, Any],
                   default_warn_share: float) -> None:
    """Open a row for each newly ready user task and cancel rows whose task is no longer ready."""
    catalog = deployed_catalog["elements"]
    case_fields = deployed_catalog.get("case_fields", {})
    ready = {t.task_id: t for t in run.ready_human_tasks()} if instance.status == "running" else {}
    open_rows = uow.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "open")).all()
    known = {row.task_uuid for row in open_rows}
    for row in open_rows:
        if row.task_uuid not in ready:
            row.state = "cancelled"
            uow.audit("task_cancelled", SYSTEM_ACTOR, instance.id, row.element_id, {"task_id": row.id})
    new_rows = []
    assigned: dict[str, str] = {}
    for task_id, task in ready.items():
        if task_id in known:
            continue
        element = catalog.get(task.element_id, {})
        limit = _limit_of(task.guarding_timers, catalog)
        warn_at = None
        if limit.due_at is not None:
            share = limit.warn_share if limit.warn_share is not None else default_warn_share
            warn_at = uow.now + (limit.due_at - uow.now) * share
        department = _department(uow, element, task)
        assignee = _assignee(uow, element, task, department)
        if assignee is not None:
            assigned[task_id] = assignee
        new_rows.append(HumanTask(
            instance_id=instance.id, task_uuid=task_id, element_id=task.element_id, name=task.name,
            process_key=instance.process_key, business_key=instance.business_key,
            customer=_first_value(task.data, case_fields.get("customer"), 200),
            category=_first_value(task.data, case_fields.get("category"), 40),
            department=department, heads_only=bool(element.get("heads_only")), form=element.get("form") or {"fields": []},
            data=json_safe(task.data), state="open", created_at=uow.now, due_at=limit.due_at,
            warn_at=warn_at, due_order=limit.due_at or NO_LIMIT, limit_name=limit.name,
            limit_source=limit.source,
            claimed_by=assignee, claimed_at=uow.now if assignee else None))
    if not new_rows:
        return
    uow.session.add_all(new_rows)
    uow.session.flush()  # once, for the new rows' ids in their audit events
    for row in new_rows:
        uow.audit("task_ready", SYSTEM_ACTOR, instance.id, row.element_id, {
            "task_id": row.id, "task": row.name, "department": row.department,
            "due_at": row.due_at.isoformat() if row.due_at else None, "limit": row.limit_name,
            "limit_source": row.limit_source})
        if row.task_uuid in assigned:
            uow.audit("task_assigned", SYSTEM_ACTOR, instance.id, row.element_id, {
                "task_id": row.id, "to": row.claimed_by, "by": "diagram",
                "variable": catalog.get(row.element_id, {}).get("assignee_variable")})


@dataclass(frozen=True)
class _Limit:
    due_at: datetime | None = None
    name: str | None = None
    warn_share: float | None = None
    source: str | None = None


def _limit_of(timers, catalog: dict[str, Any]) -> _Limit:
    """The earliest response limit guarding a task: the due time users see."""
    limits = []
    for element_id, due in timers:
        element = catalog.get(element_id, {})
        properties = element.get("properties", {})
        kind = properties.get("sla_kind")
        if kind == "limit" or (kind is None and element.get("interrupting")):
            share = properties.get("sla_warn_share")
            limits.append(_Limit(due, properties.get("sla_name") or element.get("name"),
                                 float(share) if share else None, sla_source_of(element)))
    if not limits:
        return _Limit()
    return min(limits, key=lambda limit: limit.due_at)


def _department(uow: UnitOfWork, element: dict[str, Any], task) -> str:
    """The task's department: fixed by the diagram, or named by a case variable (`${variable}`)."""
    variable = element.get("department_variable")
    if not variable:
        return element.get("department") or ""
    code = task.data.get(variable)
    if isinstance(code, str) and uow.session.get(Department, code) is not None:
        return code
    raise TaskRoutingError(f"task '{task.name}' goes to the department named by the case variable "
                           f"'{variable}', which holds {code!r}, not a department code")


def _assignee(uow: UnitOfWork, element: dict[str, Any], task, department: str) -> str | None:
    """The person the diagram gives the task to (`camunda:assignee`: a user name or `${variable}`):
    an active member of the task's department, or the task cannot be routed."""
    variable = element.get("assignee_variable")
    if variable:
        username = task.data.get(variable)
        source = f"the person named by the case variable '{variable}', which holds {username!r}"
    elif element.get("assignee"):
        username = element["assignee"]
        source = f"the person '{username}' (camunda:assignee)"
    else:
        return None
    user = uow.session.get(User, username) if isinstance(username, str) and username else None
    if user is None or not user.active:
        raise TaskRoutingError(f"task '{task.name}' goes to {source}, who is not an active user")
    membership = uow.session.get(Membership, (username, department))
    if membership is None:
        raise TaskRoutingError(f"task '{task.name}' goes to {source}, who is not a member of its department "
                               f"'{department}'")
    if element.get("heads_only") and membership.role != "head":
        raise TaskRoutingError(f"task '{task.name}' is for the head of department '{department}' only, but goes "
                               f"to {source}, who is not its head")
    return username


def _first_value(data: dict[str, Any], names: list[str] | None, max_length: int) -> str | None:
    """The first of the named case variables that has a value, as text fit for its column."""
    for name in names or ():
        value = data.get(name)
        if value not in (None, ""):
            return str(value)[:max_length]
    return None
