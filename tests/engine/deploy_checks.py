"""What the deploy-refusal tests (hostile expressions, hostile XML) share: an engine that only deploys
(the test diagrams' topics answered by no-op handlers) and the rows a refused deploy must not add."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.handler_api import HandlerRegistry
from engine.runtime.workflow_engine import WorkflowEngine
from engine.storage.models import AuditEvent, ProcessVersion


def deploying_engine(database, clock) -> WorkflowEngine:
    registry = HandlerRegistry()
    for topic in ("test.prepare", "test.escalate", "test.finish"):
        registry.handler(topic)(lambda ctx: {})
    return WorkflowEngine(database, registry, clock=clock)


def stored(engine: WorkflowEngine) -> tuple[int, int]:
    """Process versions and audit events stored."""
    with engine.db.sessions() as session:
        return (session.scalar(select(func.count()).select_from(ProcessVersion)),
                session.scalar(select(func.count()).select_from(AuditEvent)))
