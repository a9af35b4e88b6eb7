"""One command = one unit of work = one transaction: everything it changes is stored, or nothing."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import Clock
from engine.db import Database
from engine.errors import ConcurrencyConflict
from engine.models import AuditEvent

SYSTEM_ACTOR = "system"  # the actor of what the engine does by itself (timers, handlers, retries)


class UnitOfWork:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.session: Session
        self.now: datetime

    def __enter__(self) -> UnitOfWork:
        self.session = self.db.sessions()
        self.session.begin()
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
