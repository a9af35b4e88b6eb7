"""The one package that imports SpiffWorkflow: parsing, execution, timers and serialization.

SpiffWorkflow's API moves between releases; everything the engine needs from it is absorbed here
behind `compile_process` and `ProcessRun`, so the rest of the engine works with plain values.
Extensions follow SpiffWorkflow's own hooks: a parser class for external service tasks, a task spec
with its converter, a script engine that runs handlers and evaluates timer values, and a workflow
converter that stores a reference to the deployed definition instead of a copy of it.
"""
from engine.spiff.definitions import (
    CompiledProcess,
    ServiceCall,
    ServiceOutcome,
    ServiceRunner,
    TimerValueError,
    check_timer_value,
    compile_process,
    full_serializer,
    is_iso_timer_literal,
)
from engine.spiff.open_work import ReadyHumanTask, StuckServiceTask, WaitingTimer
from engine.spiff.run import ProcessRun, StepFailure

__all__ = [
    "CompiledProcess", "ProcessRun", "ReadyHumanTask", "ServiceCall", "ServiceOutcome", "ServiceRunner",
    "StepFailure", "StuckServiceTask", "TimerValueError", "WaitingTimer", "check_timer_value", "compile_process",
    "full_serializer", "is_iso_timer_literal",
]
