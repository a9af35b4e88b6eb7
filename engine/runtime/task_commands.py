"""The engine's commands on one person task (mixed into WorkflowEngine): claim it, give it back, hand it
to a colleague, and the checks of who may act. Every command on a case locks the case's row before it
reads the task (`_open_task`), so two people acting on one task at once go one after the other and the
second sees what the first did (issue 18); a deadlock the database breaks is run once more."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from engine.errors import HeadsOnly, NotAColleague, NotAMember, NotFound, TaskClaimedByOther, TaskNotOpen
from engine.runtime.engine_core import EngineCore
from engine.storage.models import HumanTask, Membership, ProcessInstance, User
from engine.storage.unit_of_work import UnitOfWork, retried_once


class TaskCommands(EngineCore):
    """Claim, release and hand over a task; who may act on it."""

    @retried_once
    def claim_task(self, task_id: int, actor: str) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor):
                raise TaskClaimedByOther(f"task {task_id} is already claimed by {task.claimed_by}")
            self._check_may_act(uow, task, actor)
            task.claimed_by, task.claimed_at = actor, uow.now
            uow.audit("task_claimed", actor, task.instance_id, task.element_id, {"task_id": task.id})
            self._touch_and_commit(uow, task.instance_id)

    @retried_once
    def unclaim_task(self, task_id: int, actor: str) -> None:
        """Give a claimed task back to the department; its holder or the department head may."""
        with UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor) and not self._heads(uow, actor, task.department):
                raise TaskClaimedByOther(f"task {task_id} is claimed by {task.claimed_by}")
            if task.claimed_by != actor:
                self._check_may_act(uow, task, actor)
            uow.audit("task_unclaimed", actor, task.instance_id, task.element_id,
                      {"task_id": task.id, "from": task.claimed_by})
            task.claimed_by, task.claimed_at = None, None
            self._touch_and_commit(uow, task.instance_id)

    @retried_once
    def hand_over_task(self, task_id: int, actor: str, to_user: str) -> None:
        """Pass a task to a colleague of its department; its holder, anyone while it is unclaimed, or
        the department head may."""
        with UnitOfWork(self.db, self.clock) as uow:
            task = self._open_task(uow, task_id)
            if task.claimed_by not in (None, actor) and not self._heads(uow, actor, task.department):
                raise TaskClaimedByOther(f"task {task_id} is claimed by {task.claimed_by}")
            self._check_may_act(uow, task, actor)
            colleague = uow.session.get(User, to_user)
            if (colleague is None or not colleague.active
                    or uow.session.get(Membership, (to_user, task.department)) is None):
                raise NotAColleague(f"'{to_user}' is not an active member of department '{task.department}'")
            if task.heads_only and not self._heads(uow, to_user, task.department):
                raise HeadsOnly(f"task {task_id} ({task.name}) is for the head of department '{task.department}' "
                                f"only; '{to_user}' is not its head")
            uow.audit("task_handed_over", actor, task.instance_id, task.element_id,
                      {"task_id": task.id, "from": task.claimed_by, "to": to_user})
            task.claimed_by, task.claimed_at = to_user, uow.now
            self._touch_and_commit(uow, task.instance_id)

    def _open_task(self, uow: UnitOfWork, task_id: int) -> HumanTask:
        """The task, read after its case's row is locked: every command on a case takes that lock first,
        so two people acting on its tasks at once go one after the other (the second reads what the
        first did) and never lock the same rows in opposite orders."""
        case_of_task = select(HumanTask.instance_id).where(HumanTask.id == task_id).scalar_subquery()
        locked = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.id == case_of_task)
                                     .with_for_update().execution_options(populate_existing=True)).first()
        if locked is None:
            raise NotFound(f"no task {task_id}")
        task = uow.session.get(HumanTask, task_id)
        if task.state == "completed":
            raise TaskNotOpen(f"task {task_id} ({task.name}) was already completed by {task.completed_by} "
                              f"at {task.completed_at.isoformat()}")
        if task.state != "open":
            raise TaskNotOpen(f"task {task_id} ({task.name}) is {task.state}")
        return task

    def _check_may_act(self, uow: UnitOfWork, task: HumanTask, actor: str) -> None:
        """A task is worked by an active member of its department, or an admin; a heads-only task
        (candidateGroups "head:<code>") by its department's heads or an admin."""
        user = uow.session.get(User, actor)
        if user is None or not user.active:
            raise NotAMember(f"'{actor}' is no active user, so may not work task {task.id} ({task.name})")
        if "admin" in (user.roles or []):
            return
        if uow.session.get(Membership, (actor, task.department)) is None:
            raise NotAMember(f"'{actor}' is not a member of department '{task.department}', so may not work "
                             f"task {task.id} ({task.name})")
        if not task.heads_only or self._heads(uow, actor, task.department):
            return
        raise HeadsOnly(f"task {task.id} ({task.name}) is for the head of department '{task.department}' only; "
                        f"'{actor}' is not its head")

    @staticmethod
    def _heads(uow: UnitOfWork, actor: str, department: str) -> bool:
        membership = uow.session.get(Membership, (actor, department))
        return membership is not None and membership.role == "head"

    def _touch_and_commit(self, uow: UnitOfWork, instance_id: int) -> None:
        """Bump the instance's lock version so a claim and a concurrent completion cannot both win; the
        workflow itself is unchanged, so a warm copy stays usable under the new version."""
        instance = uow.session.get(ProcessInstance, instance_id)  # locked by _open_task
        workflow = self._warm.take(instance.id, instance.lock_version)
        flag_modified(instance, "state")
        self._commit(uow, instance, workflow)
