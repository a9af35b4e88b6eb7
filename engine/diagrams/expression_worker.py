"""The process that runs a diagram's code: conditions, scripts, timer values and multi-instance expressions.

Process owners deploy diagrams, and a diagram's code can ask for any amount of memory or CPU
(`(1).to_bytes(10**9, 'big')`, nested loops over large ranges, doubling a list 64 times). Checking every
operation that might build a large object cannot be complete, so the code runs here, in a separate process
with an address-space limit (RLIMIT_AS) and a CPU timer per evaluation: whatever it builds, it cannot take
the server's memory, and whatever it loops over, it is stopped after its CPU time. The server waits for the
answer with a deadline and kills this process if it does not come (engine.diagrams.expression_sandbox).

Protocol: length-prefixed pickles on stdin/stdout. A request is (mode, text, variables, external names,
now, calendar spec, CPU seconds it may use); the answer is ("ok", value) or ("failed", kind, params, recycle). Started as
`python -m engine.diagrams.expression_worker MEMORY_MB CPU_SECONDS`."""
from __future__ import annotations

import pickle
import resource
import signal
import struct
import sys
from collections import OrderedDict
from datetime import date, datetime
from typing import Any, BinaryIO

from engine.diagrams.code_failures import DiagramCodeFailed, classify
from engine.diagrams.expression_policy import compile_checked, limited_builtins
from engine.working_time.calendar import BusinessCalendar, working_days_duration, working_hours_duration

HEADER = struct.Struct("!I")
READY = b"ready"
MAX_REPLY_BYTES = 8 << 20  # a script's variables become case data: kept to a size the case can store


class CpuTimeUsed(Exception):
    """Raised by the CPU timer's signal in the middle of the diagram's code."""


def _on_cpu_timer(signum: int, frame: Any) -> None:
    raise CpuTimeUsed()


def read_message(stream: BinaryIO) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return stream.read(size)


def write_message(stream: BinaryIO, payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


class _Calendars:
    """Business calendars by their spec (region, zone, hours, extra days): built once per process."""

    def __init__(self) -> None:
        self._built: OrderedDict[tuple, BusinessCalendar] = OrderedDict()

    def get(self, spec: tuple | None) -> BusinessCalendar | None:
        if spec is None:
            return None
        calendar = self._built.get(spec)
        if calendar is None:
            region, tz, hours, days_off, working_days = spec
            calendar = BusinessCalendar(set(days_off), set(working_days), tz, hours, region)
            self._built[spec] = calendar
            while len(self._built) > 4:
                self._built.popitem(last=False)
        return calendar


def _functions(now: datetime, calendar: BusinessCalendar | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine's helpers as diagrams see them, at the moment of the request: (globals, builtins)."""
    def today() -> date:
        return now.astimezone(calendar.tz).date() if calendar is not None else now.date()

    def working_days(days: float) -> str:
        if calendar is None:
            raise DiagramCodeFailed("bad_value")
        return working_days_duration(calendar, now, days)

    def working_hours(hours: float) -> str:
        if calendar is None:
            raise DiagramCodeFailed("bad_value")
        return working_hours_duration(calendar, now, hours)

    return {"working_days": working_days, "working_hours": working_hours}, {"now": lambda: now, "today": today}


def run_request(request: tuple, calendars: _Calendars) -> Any:
    mode, text, variables, external, now, calendar_spec, _cpu_seconds = request
    script_globals, engine_builtins = _functions(now, calendars.get(calendar_spec))
    code = compile_checked(text, mode)
    namespace = {**script_globals, **variables, "__builtins__": limited_builtins(engine_builtins)}
    if mode == "eval":
        return eval(code, namespace)  # noqa: S307 - checked by engine.diagrams.expression_policy, bounded by this process
    exec(code, namespace)  # noqa: S102
    return {name: value for name, value in namespace.items()
            if name != "__builtins__" and name not in script_globals and name not in external
            and not callable(value)}


def _serve(cpu_seconds: float, memory_limit: int) -> None:
    calendars = _Calendars()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    signal.signal(signal.SIGPROF, _on_cpu_timer)
    while True:
        message = read_message(stdin)
        if message is None:
            return
        request = pickle.loads(message)  # noqa: S301 - written by the server that started this process
        recycle = False
        allowed = min(cpu_seconds, request[-1])  # what is left of the command's budget, at most the bound
        try:
            signal.setitimer(signal.ITIMER_PROF, allowed)
            try:
                value = run_request(request, calendars)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            try:
                reply = pickle.dumps(("ok", value), protocol=5)
            except Exception as err:  # a generator, a method: nothing a case can keep
                raise DiagramCodeFailed("result_not_storable", detail=type(value).__name__) from err
            if len(reply) > MAX_REPLY_BYTES:
                raise DiagramCodeFailed("result_not_storable", detail=f"more than {MAX_REPLY_BYTES >> 20} MB")
        except CpuTimeUsed:
            reply = pickle.dumps(("failed", "limit_time", {"seconds": round(allowed, 2)}, False), protocol=5)
        except MemoryError:
            recycle = True  # its heap may stay large: the server starts a fresh process
            reply = pickle.dumps(("failed", "limit_memory", {"megabytes": memory_limit >> 20}, True), protocol=5)
        except Exception as err:  # the diagram's own mistake: told as the rule it broke
            failure = classify(err)
            reply = pickle.dumps(("failed", failure.kind, failure.params, False), protocol=5)
        write_message(stdout, reply)
        if recycle:
            return


def main() -> None:
    memory_mb, cpu_seconds = int(sys.argv[1]), float(sys.argv[2])
    # Everything this process needs is imported: from here on it may not grow past its limit.
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    write_message(sys.stdout.buffer, READY)  # the server's deadlines count from here, not from the start-up
    _serve(cpu_seconds, limit)


if __name__ == "__main__":
    main()
