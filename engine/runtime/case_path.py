"""The path a case took and its data after each step, recorded as the engine runs: compaction forgets
finished tasks, and the audit log has no events for gateways, service tasks or events, so the auditors'
case history (engine.records.case_history) reads these rows."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.spiff import ProcessRun
from engine.storage.case_data import json_safe
from engine.storage.models import AuditEvent, CaseSnapshot, ElementPass, ProcessInstance
from engine.storage.unit_of_work import UnitOfWork


def record_step(uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun, actor: str) -> None:
    """Count the elements this command passed, mark where the case is now, and keep the case data when
    it changed. Call before the workflow is dumped (dumping compacts away finished tasks).

    Everything is read first and the new rows are only added at the end, so they are written with the
    instance row at commit, after its lock-version check: two commands racing on one case end in a
    ConcurrencyConflict for one of them, never in a duplicate-key error."""
    session = uow.session
    rows = {row.element_id: row for row in session.scalars(
        select(ElementPass).where(ElementPass.instance_id == instance.id))}
    data = json_safe(run.case_data())
    previous = session.scalar(select(CaseSnapshot.data).where(CaseSnapshot.instance_id == instance.id)
                              .order_by(CaseSnapshot.id.desc()).limit(1))
    last_event = None
    if previous != data:
        session.flush()  # the command's audit events get their ids
        last_event = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.instance_id == instance.id))
    _record_passes(uow, instance, rows, run.elements_passed(), set(run.active_elements()))
    if previous != data:
        session.add(CaseSnapshot(instance=instance, at=uow.now, actor=actor, after_event_id=last_event, data=data))


def _record_passes(uow: UnitOfWork, instance: ProcessInstance, rows: dict[str, ElementPass], passed: dict[str, int],
                   active: set[str]) -> None:
    for element_id in sorted(passed.keys() | active):
        row = rows.get(element_id)
        if row is None:
            row = rows[element_id] = ElementPass(instance=instance, element_id=element_id, passes=0, active=False,
                                                 first_at=uow.now)
            uow.session.add(row)
        if element_id in passed:
            row.passes += passed[element_id]
            row.last_at = uow.now
    for element_id, row in rows.items():
        if row.active != (element_id in active):
            row.active = element_id in active
