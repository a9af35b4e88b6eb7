"""Forgetting finished history of a task tree that can no longer influence the run."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState


def compact_tree(top: Any, workflow: Any) -> int:
    """Cut the finished history above everything still open, then splice finished links out of chains.

    Kept: the root; unfinished tasks; the parent of every unfinished task and of every leaf (a task
    inherits its parent's data, and a parallel join learns which incoming flows have arrived from the
    parents of its waiting and cancelled instances); the last completed task (a finishing subprocess
    hands back its data); finished tasks that still branch."""
    tasks = workflow.tasks
    root = workflow.task_tree
    unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    dropped = _forget_fired_occurrences(workflow)
    if dropped:
        unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    anchors = unfinished + ([workflow.last_task] if workflow.last_task is not None else [])
    dropped += _cut_above(workflow, _lowest_common_ancestor(anchors))
    protected = {root.id, *(t.id for t in anchors)}
    for task in tasks.values():
        if task._parent is not None and (not task._children or task.id in protected):
            protected.add(task._parent)
    order, stack = [], [root.id]  # pre-order without recursion: the tree may be deeper than the limit
    while stack:
        task_id = stack.pop()
        order.append(task_id)
        stack.extend(tasks[task_id]._children)
    for task_id in order:
        task = tasks.get(task_id)
        if task is None:
            continue
        children = []
        for child_id in task._children:
            while child_id not in protected and len(tasks[child_id]._children) == 1:
                spliced = tasks.pop(child_id)
                dropped.append(spliced)
                child_id = spliced._children[0]
            tasks[child_id]._parent = task_id
            children.append(child_id)
        task._children = children
    _forget_subprocesses(top, {t.id for t in dropped if t.id in top.subprocesses})
    return len(dropped)


def _forget_fired_occurrences(workflow: Any) -> list:
    """A waiting cycle timer gets new children at every occurrence: the path the occurrence took and a
    waiting join of the guarded activity. Of the finished paths only the latest is kept (its end hands
    its data to the workflow's end), of the waiting joins one: the activity's own finish decides them
    all alike. Paths through another join are kept, as the general rules keep them (a join counts the
    flows that arrived by the parents of its instances)."""
    dropped: list = []
    for timer in [t for t in workflow.tasks.values() if t.state == TaskState.WAITING
                  and isinstance(getattr(t.task_spec, "event_definition", None), CycleTimerEventDefinition)]:
        keep: list = []
        latest: dict[Any, Any] = {}  # per child spec: the latest finished occurrence, or a waiting join
        for child in timer.children:
            subtree = _subtree(child)
            if _forgettable(child, subtree, workflow):
                previous = latest.get(child.task_spec)
                latest[child.task_spec] = (child, subtree)
                if previous is not None:
                    dropped.extend(_drop(workflow, previous[1]))
                    keep.remove(previous[0])
            keep.append(child)
        timer._children = [child.id for child in keep]
    return dropped


def _subtree(task: Any) -> list:
    found, stack = [], [task]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(current.children)
    return found


def _forgettable(child: Any, subtree: list, workflow: Any) -> bool:
    """A finished occurrence's path that passed no join that counts arrivals, or a bare waiting
    boundary join (the same for every occurrence)."""
    if child.state == TaskState.WAITING and isinstance(child.task_spec, BoundaryEventJoin):
        return not child.children
    if workflow.last_task is not None and any(t is workflow.last_task for t in subtree):
        return False
    return all(t.has_state(TaskState.FINISHED_MASK) for t in subtree) and not any(
        isinstance(t.task_spec, Join) and not isinstance(t.task_spec, (_EndJoin, BoundaryEventJoin)) for t in subtree)


def _drop(workflow: Any, subtree: list) -> list:
    for task in subtree:
        del workflow.tasks[task.id]
    return subtree


def _lowest_common_ancestor(tasks: list) -> Any:
    by_id = tasks[0].workflow.tasks
    path, task_id = [], tasks[0].id
    while task_id is not None:
        path.append(task_id)
        task_id = by_id[task_id]._parent
    path.reverse()
    depth_of = {task_id: depth for depth, task_id in enumerate(path)}
    common = len(path) - 1
    for task in tasks[1:]:
        task_id = task.id
        while task_id not in depth_of:
            task_id = by_id[task_id]._parent
        common = min(common, depth_of[task_id])
    return by_id[path[common]]


def _cut_above(workflow: Any, keep_from: Any) -> list:
    """Hang `keep_from` directly below the root, dropping every task that is not below it."""
    root = workflow.task_tree
    if keep_from is root or keep_from.parent is root:
        return []
    keep, stack = set(), [keep_from]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    dropped = [t for t in workflow.tasks.values() if t.id not in keep and t is not root]
    for task in dropped:
        del workflow.tasks[task.id]
    root.children = [keep_from]
    keep_from.parent = root
    return dropped


def _forget_subprocesses(top: Any, task_ids: set) -> None:
    """Remove finished subprocesses whose task was dropped, and every subprocess nested in them."""
    doomed = {task_id: top.subprocesses[task_id] for task_id in task_ids}
    grew = bool(doomed)
    while grew:
        nested = {task_id: sp for task_id, sp in top.subprocesses.items()
                  if task_id not in doomed and any(sp.parent_workflow is d for d in doomed.values())}
        doomed.update(nested)
        grew = bool(nested)
    for task_id in doomed:
        del top.subprocesses[task_id]
