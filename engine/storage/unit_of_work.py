"""One command = one unit of work = one transaction: everything it changes is stored, or nothing."""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import Clock
from engine.errors import ConcurrencyConflict, DatabaseBusy, DatabaseContention
from engine.storage.database import SQLITE_BEGIN, Database
from engine.storage.models import AuditEvent

P = ParamSpec("P")
R = TypeVar("R")
# PostgreSQL's deadlock_detected and serialization_failure: the database picked this transaction to undo.
CONTENTION_SQLSTATES = frozenset({"40P01", "40001"})

SYSTEM_ACTOR = "system"  # the actor of what the engine does by itself (timers, handlers, retries)


class UnitOfWork:
    """A command's transaction. On SQLite it begins IMMEDIATE, holding the write lock from its first read,
    so what the command read is what it writes over; on PostgreSQL the commands lock the case's row first
    (engine.runtime.workflow_engine) and the instance's lock version catches any change made meanwhile."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.session: Session
        self.now: datetime

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.sessions()
        self.session.begin()
        try:
            self.session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        except DBAPIError as error:  # SQLite: the write lock not had within the busy timeout
            self.session.close()
            raise (_contention(error) or error) from error
        self.now = self.clock.now()
        return self

    def audit(self, kind: str, actor: str, instance_id: int | None = None, element_id: str | None = None,
              detail: dict[str, Any] | None = None) -> None:
        self.session.add(AuditEvent(instance_id=instance_id, at=self.now, kind=kind, actor=actor,
                                    element_id=element_id, detail=detail or {}))

    def commit(self) -> None:
        self.session.commit()

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self.session.in_transaction():
            self.session.rollback()
        self.session.close()
        if exc_type is not None and issubclass(exc_type, StaleDataError):
            # The instance row's lock version moved under us (at a flush or at commit).
            raise ConcurrencyConflict(
                "the case was changed by someone else at the same time; nothing was saved, reload and retry"
            ) from None
        if isinstance(exc, DBAPIError):
            contention = _contention(exc)
            if contention is not None:
                raise contention from exc


def _contention(error: DBAPIError) -> Exception | None:
    """The engine error a database's refusal to go on stands for, when it is contention, not a fault."""
    if getattr(error.orig, "sqlstate", None) in CONTENTION_SQLSTATES:
        return DatabaseContention("the database undid this change to break a deadlock with another one at the "
                                  "same moment; nothing was saved, reload and retry")
    if "database is locked" in str(error.orig):  # SQLite: another writer held it past the busy timeout
        return DatabaseBusy("the database is busy with other changes; nothing was saved, try again in a moment")
    return None


def retried_once(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command once more when the database undid it to break a deadlock (its transaction left
    nothing); a second time it is the caller's ConcurrencyConflict."""
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DatabaseContention:
            return command(*args, **kwargs)
    return run
