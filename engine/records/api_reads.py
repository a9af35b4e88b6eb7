"""Read side the REST API needs beyond engine.records.queries and engine.modelling.process_versions: which departments
a case involves (who may read it), and closed tasks of some departments. Plain dataclasses, no workflows."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.records.queries import TaskView, _task_view
from engine.storage.database import Database
from engine.storage.models import HumanTask, ProcessInstance


def case_departments(db: Database, instance_id: int) -> set[str]:
    """Departments that have or had a task in a case: their members may read the case."""
    with db.sessions() as session:
        return set(session.scalars(select(HumanTask.department).where(HumanTask.instance_id == instance_id)
                                   .distinct()))


def case_starter(db: Database, instance_id: int) -> str | None:
    """Who started a case (a CRM's account reads the cases it filed)."""
    with db.sessions() as session:
        return session.scalar(select(ProcessInstance.started_by).where(ProcessInstance.id == instance_id))


def case_tasks(db: Database, instance_id: int) -> list[TaskView]:
    """Every task of a case in every state, in the order they were created."""
    with db.sessions() as session:
        return [_task_view(row) for row in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id))]


def closed_tasks(db: Database, departments: tuple[str, ...], state: str, assignee: str | None = None,
                 page: int = 1, per_page: int = 25) -> tuple[list[TaskView], int]:
    """Completed or cancelled tasks of some departments, latest first, with the total count."""
    if not departments:
        return [], 0
    where = [HumanTask.state == state, HumanTask.department.in_(departments)]
    if assignee:
        where.append(HumanTask.completed_by == assignee if state == "completed" else HumanTask.claimed_by == assignee)
    with db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(HumanTask).where(*where)) or 0
        rows = session.scalars(select(HumanTask).where(*where).order_by(HumanTask.id.desc())
                               .limit(per_page).offset((max(1, page) - 1) * per_page))
        return [_task_view(row) for row in rows], total
