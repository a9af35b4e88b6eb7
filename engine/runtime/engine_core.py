"""What WorkflowEngine is made of before its commands: its settings, the deployed versions and warm
workflows it keeps, and `EngineCore`, the attributes and steps every command mixin relies on. The mixins
(task, calendar, schedule and worker commands) extend `EngineCore`, never the engine class itself, so no
module of the runtime imports the class it is mixed into."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.clock import Clock
from engine.handler_api import HandlerRegistry
from engine.notifications.outbox import OutboxRelay
from engine.spiff import CompiledProcess, ProcessRun, WaitingTimer
from engine.storage.database import Database
from engine.storage.models import HumanTask, ProcessInstance, ProcessVersion
from engine.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class EngineSettings:
    """Operational settings (not process limits: those live in the diagrams)."""

    incident_backoff: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=5))
    worker_batch: int = 50
    # Workflows kept deserialized between commands (0: always load from the database). A kept one is
    # used only while the instance row's lock version is the one it was saved with.
    warm_workflows: int = 512
    # Share of a limit after which its task shows as "due soon" (amber), unless the limit's boundary
    # timer says otherwise with the property sla_warn_share.
    default_warn_share: float = 0.8
    # How often (seconds, at most) an engine checks whether the company calendar changed in the
    # database; an edit through the same engine is seen at once.
    calendar_check_seconds: float = 5.0
    # The public holidays under the company calendar: a region code of the `holidays` package.
    calendar_region: str = "CN"

    @property
    def max_handler_attempts(self) -> int:
        return len(self.incident_backoff) + 1


@dataclass(frozen=True)
class DeployedVersion:
    id: int
    process_key: str
    version: int
    catalog: dict[str, Any]
    compiled: CompiledProcess


class WarmWorkflows:
    """Deserialized workflows of recently saved instances, so a busy case is not rebuilt from JSON at
    every step. An entry is taken out while a command works on it and put back only after commit, so
    a failed command can never leave a half-changed workflow behind."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, lock_version: int) -> Any | None:
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is None or entry[0] != lock_version:
            return None
        return entry[1]

    def put(self, instance_id: int, lock_version: int, workflow: Any) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._entries[instance_id] = (lock_version, workflow)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class DeployResult:
    process_key: str
    version: int
    version_id: int
    created: bool


class EngineCore:
    """The engine's state and the steps of a command that WorkflowEngine implements; the command mixins
    call these (one unit of work each: lock the case, load its workflow, act, save, commit)."""

    db: Database
    handlers: HandlerRegistry
    clock: Clock
    settings: EngineSettings
    outbox: OutboxRelay
    _warm: WarmWorkflows

    def _instance(self, uow: UnitOfWork, instance_id: int) -> ProcessInstance:
        """The case's row, locked for this command."""
        raise NotImplementedError

    def _load(self, uow: UnitOfWork, instance: ProcessInstance, actor: str) -> ProcessRun:
        """The case's workflow, warm or rebuilt from its saved state."""
        raise NotImplementedError

    def _save(self, uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun, actor: str,
              fired: list[WaitingTimer] | None = None, completed: HumanTask | None = None) -> None:
        """Save the case's state, task rows, SLA records and path after a step."""
        raise NotImplementedError

    def _commit(self, uow: UnitOfWork, instance: ProcessInstance, workflow: Any | None) -> None:
        """Commit the command and keep the workflow warm."""
        raise NotImplementedError

    def _latest_version(self, uow: UnitOfWork, process_key: str) -> ProcessVersion:
        """The newest deployed version of a process."""
        raise NotImplementedError

    def _start_case(self, uow: UnitOfWork, version: ProcessVersion, data: dict[str, Any], started_by: str,
                    business_key: str | None = None, by_timer: bool = False,
                    before_commit: Callable[[int], None] | None = None) -> int:
        """Create a case, run it to its first wait and commit."""
        raise NotImplementedError
