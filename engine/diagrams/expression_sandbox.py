"""Where a diagram's code runs: a pool of sandbox processes with bounded memory and CPU.

Every condition, script, timer value and multi-instance expression of a diagram is first checked by
engine.diagrams.expression_policy (what it may name and call). A plain expression, one that calls nothing and
loops over nothing (`severity == 'high' and amount > 1000`, most gateway conditions), cannot take more
than its operands' size and runs here, in the server's process. Everything else runs in a sandbox
process (engine.diagrams.expression_worker): at most MEMORY_MB of address space, CPU_SECONDS of CPU per
evaluation, and the server gives up and kills it WALL_SECONDS after that. One command (a task completion,
a fired timer) may spend at most COMMAND_SECONDS in diagram code in all (each evaluation gets at most what
is left), so neither one expression nor a loop of scripts keeps the database locked for longer.

A failure is raised as engine.diagrams.code_failures.DiagramCodeFailed: the engine turns it into an incident."""
from __future__ import annotations

import ast
import io
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.diagrams.code_failures import DiagramCodeFailed, classify
from engine.diagrams.expression_policy import check, compile_checked, limited_builtins
from engine.diagrams.expression_worker import HEADER, READY
from engine.working_time.calendar import BusinessCalendar

MEMORY_MB = 512
CPU_SECONDS = 1.0
WALL_SECONDS = 1.0  # beyond its CPU time: how long the server waits for an answer before it kills the sandbox
COMMAND_SECONDS = 1.5
IDLE_WORKERS = 8
START_SECONDS = 30.0  # a sandbox process's start-up (Python and the calendar's imports) on a loaded machine


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = MEMORY_MB
    cpu_seconds: float = CPU_SECONDS
    wall_seconds: float = WALL_SECONDS
    command_seconds: float = COMMAND_SECONDS


class _WorkerLost(Exception):
    """The sandbox process died or did not answer in time."""


class _Worker:
    """One sandbox process, used by one thread at a time."""

    def __init__(self, limits: SandboxLimits) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.diagrams.expression_worker", str(limits.memory_mb), str(limits.cpu_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root, env=env,
            close_fds=True)
        self.pid_owner = os.getpid()
        try:
            header = self._read(HEADER.size, time.monotonic() + START_SECONDS)
            if self._read(HEADER.unpack(header)[0], time.monotonic() + START_SECONDS) != READY:
                raise _WorkerLost()
        except _WorkerLost:
            self.stop()
            raise

    def ask(self, payload: bytes, wall_seconds: float) -> bytes:
        try:
            self.process.stdin.write(HEADER.pack(len(payload)) + payload)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise _WorkerLost() from err
        deadline = time.monotonic() + wall_seconds
        header = self._read(HEADER.size, deadline)
        (size,) = HEADER.unpack(header)
        return self._read(size, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()
        buffer = io.BytesIO()
        while buffer.tell() < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise _WorkerLost()
            chunk = os.read(fd, min(size - buffer.tell(), 1 << 20))
            if not chunk:
                raise _WorkerLost()
            buffer.write(chunk)
        return buffer.getvalue()

    def stop(self) -> None:
        if self.pid_owner != os.getpid():
            return  # inherited through a fork: the parent process owns it
        try:
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _SafeUnpickler(pickle.Unpickler):
    """Reads a sandbox's answer: values only (a compromised sandbox cannot make the server call anything)."""

    _ALLOWED = {
        ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "bytearray"),
        ("builtins", "slice"), ("builtins", "range"), ("datetime", "date"), ("datetime", "datetime"),
        ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
        ("zoneinfo", "ZoneInfo"), ("zoneinfo._zoneinfo", "ZoneInfo"), ("collections", "OrderedDict"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        if module.startswith("zoneinfo") and name == "ZoneInfo._unpickle":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name}")


class ExpressionSandbox:
    """The pool of sandbox processes of this server process (threads share it)."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget_inherited)

    def evaluate(self, text: str, variables: dict[str, Any], now: datetime,
                 calendar: BusinessCalendar | None, cpu_seconds: float | None = None) -> Any:
        """The value of an expression over `variables`, using at most `cpu_seconds` (the bound by default);
        raises DiagramCodeFailed."""
        if runs_in_process(text):
            return _evaluate_plain(text, variables)
        return self._ask(("eval", text, variables, (), now, calendar_spec(calendar), self._cpu(cpu_seconds)))

    def execute(self, text: str, variables: dict[str, Any], external: set[str], now: datetime,
                calendar: BusinessCalendar | None, cpu_seconds: float | None = None) -> dict[str, Any]:
        """The variables after running a script (those named in `external` are not kept)."""
        return self._ask(("exec", text, variables, tuple(sorted(external)), now, calendar_spec(calendar),
                          self._cpu(cpu_seconds)))

    def _cpu(self, cpu_seconds: float | None) -> float:
        return max(0.01, min(self.limits.cpu_seconds, cpu_seconds or self.limits.cpu_seconds))

    def _ask(self, request: tuple) -> Any:
        compile_checked(request[1], request[0])  # what the policy refuses never reaches a process
        try:
            payload = pickle.dumps(request, protocol=5)
        except Exception as err:
            raise DiagramCodeFailed("failed", detail="the case data cannot be handed to the sandbox") from err
        worker = self._take()
        try:
            answer = worker.ask(payload, request[-1] + self.limits.wall_seconds)
        except _WorkerLost:
            died = worker.process.poll() is not None  # gone by itself; alive means it ran out of time
            worker.stop()
            raise (DiagramCodeFailed("limit_memory", megabytes=self.limits.memory_mb) if died
                   else DiagramCodeFailed("limit_time", seconds=round(request[-1], 2))) from None
        try:
            reply = _SafeUnpickler(io.BytesIO(answer)).load()
        except Exception:
            worker.stop()
            raise DiagramCodeFailed("result_not_storable", detail="not a plain value") from None
        if reply[0] == "ok":
            self._give_back(worker)
            return reply[1]
        _, kind, params, recycle = reply
        if recycle:
            worker.stop()
        else:
            self._give_back(worker)
        raise DiagramCodeFailed(kind, **params)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return _Worker(self.limits)
        except (_WorkerLost, OSError) as err:
            raise DiagramCodeFailed("failed", detail="the expression sandbox could not start") from err

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < IDLE_WORKERS:
                self._idle.append(worker)
                return
        worker.stop()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _forget_inherited(self) -> None:
        self._lock = threading.Lock()
        self._idle = []


def calendar_spec(calendar: BusinessCalendar | None) -> tuple | None:
    """What a sandbox process needs to build the same calendar."""
    if calendar is None:
        return None
    return (calendar.region, calendar.tz, calendar.hours, tuple(sorted(calendar.extra_days_off)),
            tuple(sorted(calendar.extra_working_days)))


# --- plain expressions, evaluated in the server's process ----------------------------------------------
@lru_cache(maxsize=2048)
def runs_in_process(text: str) -> bool:
    """An expression that calls nothing, builds no comprehension and assigns nothing: its cost is bounded by
    its length and its operands (each `+`, `*`, `**`… is size-limited by the policy)."""
    try:
        tree = check(text, "eval")
    except Exception:
        return False
    return not any(isinstance(node, _NEEDS_SANDBOX) for node in ast.walk(tree))


_NEEDS_SANDBOX = (ast.Call, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr,
                  ast.Starred, ast.FormattedValue)
_PLAIN_BUILTINS = limited_builtins({})


def _evaluate_plain(text: str, variables: dict[str, Any]) -> Any:
    code = compile_checked(text, "eval")
    try:
        return eval(code, {**variables, "__builtins__": _PLAIN_BUILTINS})  # noqa: S307 - checked, no calls
    except Exception as err:
        raise classify(err) from None


_default: ExpressionSandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> ExpressionSandbox:
    """The pool every engine of this process shares."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ExpressionSandbox()
        return _default
