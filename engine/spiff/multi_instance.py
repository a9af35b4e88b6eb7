"""Multi-instance user tasks (`bpmn:multiInstanceLoopCharacteristics` with `camunda:collection` and
`camunda:elementVariable`): one person's task per item of a case list, e.g. one opinion per expert.

SpiffWorkflow's Camunda multi-instance task writes only the element variable back into the collection
when an instance completes: the instance's form data is dropped, so nobody could read the experts'
opinions afterwards. Here each completed instance's submission is kept, in the order of the collection,
in the list variable the task's `camunda:properties` property `collect_as` names."""
from __future__ import annotations

import re
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser
from SpiffWorkflow.camunda.specs.multiinstance_task import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.util.task import TaskState

from engine.errors import CaseDataError

_VARIABLE = re.compile(r"^\$\{\s*([A-Za-z_]\w*)\s*\}$")
# Submissions by collection position, kept with the multi-instance task until it completes.
_COLLECTED = "aftersales_collected"


class _Collecting:
    """Set up like the Camunda task will be at run time (collection read and updated in place), so a
    workflow loaded in a fresh process behaves as one that never left memory; starts `collect_as` empty."""

    def __init__(self, wf_spec, bpmn_id, task_spec, collect_as=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, task_spec, **kwargs)
        self.collect_as = collect_as
        if self.cardinality is None and self.data_output is not None and self.output_item is not None:
            self.data_input = TaskDataReference(self.data_output.bpmn_id)
            self.input_item = TaskDataReference(self.output_item.bpmn_id)

    def _update_hook(self, my_task):
        try:
            done = super()._update_hook(my_task)
        except Exception:
            self._check_collection(my_task)  # the usual cause, said plainly
            raise
        if self.collect_as:
            my_task.internal_data[_COLLECTED] = {}
            _publish(my_task, self.collect_as, [])
        return done

    def _check_collection(self, my_task) -> None:
        if self.data_input is None:
            return
        items = my_task.data.get(self.data_input.bpmn_id)
        if not isinstance(items, list):
            raise CaseDataError(f"task '{self.bpmn_name or self.bpmn_id}' makes one task per item of the case "
                                f"variable '{self.data_input.bpmn_id}', which holds {items!r}, not a list")


class CollectingParallelTask(_Collecting, ParallelMultiInstanceTask):
    """All instances at once."""


class CollectingSequentialTask(_Collecting, SequentialMultiInstanceTask):
    """One instance after the other, in the order of the collection."""


class MultiInstanceUserTaskParser(UserTaskParser):
    """Builds the collecting multi-instance tasks; `${name}` is accepted for the collection as Camunda
    Modeler users write it."""

    def _add_multiinstance_task(self, loop_characteristics):
        sequential = loop_characteristics.get("isSequential") == "true"
        collection = self.attribute("collection", "camunda", loop_characteristics)
        element_variable = self.attribute("elementVariable", "camunda", loop_characteristics)
        if not collection or not element_variable:
            self.raise_validation_exception(
                "a multi-instance user task needs camunda:collection (the case list) and camunda:elementVariable")
        match = _VARIABLE.match(collection.strip())
        collection = match.group(1) if match else collection.strip()
        original = self.spec.task_specs.pop(self.task.name)
        params = {
            "cardinality": None, "data_output": TaskDataReference(collection),
            "output_item": TaskDataReference(element_variable.strip()), "condition": None,
            "collect_as": self.parse_extensions().get("collect_as") or None,
        }
        task_class = CollectingSequentialTask if sequential else CollectingParallelTask
        self.task = task_class(self.spec, original.name, "", **params)
        self._copy_task_attrs(original, loop_characteristics)
        # SpiffWorkflow connects an instance's completion to its multi-instance task only when it creates
        # an instance; a definition compiled in another process (a restart, another web worker) has to
        # be connected from the start or a loaded case would never see its instances complete.
        original.completed_event.connect(self.task.merge_child)


class CollectingTaskConverter(MultiInstanceTaskConverter):
    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct["collect_as"] = spec.collect_as
        return dct


def collect_submission(task, submitted: dict[str, Any], completed_by: str, completed_at: str) -> None:
    """Keep what a person submitted on one instance of a collecting multi-instance task: in the list
    `collect_as` on the multi-instance task, in the order of the collection, and on the waiting timers
    of that task so a limit's path also knows who had answered."""
    parent = task.parent
    spec = parent.task_spec if parent is not None else None
    if not isinstance(spec, _Collecting) or not spec.collect_as or task.task_spec.name != spec.task_spec:
        return
    position = task.internal_data.get("key_or_index")
    entry = {**submitted, spec.output_item.bpmn_id: task.data.get(spec.output_item.bpmn_id),
             "completed_by": completed_by, "completed_at": completed_at}
    collected = dict(parent.internal_data.get(_COLLECTED) or {})
    collected[str(position if position is not None else len(collected))] = entry
    parent.internal_data[_COLLECTED] = collected
    _publish(parent, spec.collect_as, [collected[key] for key in sorted(collected, key=_position)])


def _publish(multi_instance, name: str, entries: list[dict[str, Any]]) -> None:
    multi_instance.data[name] = entries
    split = multi_instance.parent
    if split is not None and isinstance(split.task_spec, BoundaryEventSplit):
        for sibling in split.children:
            if sibling is not multi_instance and sibling.state == TaskState.WAITING:
                sibling.data[name] = [dict(e) for e in entries]


def _position(key: str) -> tuple[int, Any]:
    return (0, int(key)) if key.lstrip("-").isdigit() else (1, key)


def enclosing_multi_instance(task):
    """The multi-instance task an instance belongs to (limits on it guard every instance), else None."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, MultiInstanceTask) \
            and task.task_spec.name == parent.task_spec.task_spec:
        return parent
    return None
