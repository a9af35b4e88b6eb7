"""The engine's notion of "now", injectable so tests travel in time instead of sleeping."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""


class SystemClock:
    """Wall-clock time, used in production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; tests and benchmarks use it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FrozenClock needs timezone-aware times")
        self._now = moment.astimezone(UTC)


_SYSTEM_CLOCK = SystemClock()
_active_clock: ContextVar[Clock] = ContextVar("active_clock", default=_SYSTEM_CLOCK)  # noqa: B039


def active_clock() -> Clock:
    """The clock of the command running in this context (SpiffWorkflow's timers read it)."""
    return _active_clock.get()


@contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    """Make `clock` the active one for the duration of one engine command."""
    token = _active_clock.set(clock)
    try:
        yield clock
    finally:
        _active_clock.reset(token)
