"""SLA records: every response limit a diagram draws as a timer is measured — started, due, warned, met or
breached, paused while the case waits on the customer — and counted against the department and person
who held the work; each occurrence of a recurring duty (a progress report every 2 h) likewise.

Nothing here knows a limit: which timers are limits, duties or pauses, their names, warning shares and
whom to tell all come from the diagram's `camunda:properties` (see processes/README.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.diagrams.catalog import sla_source_of
from engine.notifications.outbox import OutboxWriter
from engine.spiff import ProcessRun, WaitingTimer
from engine.storage.models import HumanTask, ProcessInstance, SlaRecord
from engine.storage.unit_of_work import SYSTEM_ACTOR, UnitOfWork
from engine.working_time.calendar import BUSINESS_TZ

OPEN_STATES = ("running", "paused")
DEFAULT_WARN_NOTIFY = ("assignee",)
DEFAULT_BREACH_NOTIFY = ("assignee", "head")
SOURCE_NOTES = {"procedure": "（程序文件规定的时限）", "company": "（此时限为公司规定，程序文件未给出具体时限）"}


@dataclass(frozen=True)
class _Holder:
    department: str
    person: str | None


class SlaBook:
    """Keeps one instance's SLA records in step with its workflow at the end of a command."""

    def __init__(self, uow: UnitOfWork, instance: ProcessInstance, run: ProcessRun, catalog: dict[str, Any],
                 default_warn_share: float, completed: HumanTask | None = None) -> None:
        self.uow = uow
        self.completed = completed  # the person's task this command completed, if any
        self.instance = instance
        self.run = run
        self.elements: dict[str, dict[str, Any]] = catalog["elements"]
        # Whether any task pauses limits: said by deploy; scanned for versions deployed before it said so.
        self.has_pauses: bool = catalog.get("has_pauses", True)
        self.default_warn_share = default_warn_share
        self.now = uow.now
        self._open_rows: list[HumanTask] | None = None
        self._records: list[SlaRecord] = []
        self._waiting: dict[str, WaitingTimer] = {}
        self._holders_when_fired: dict[str, list[_Holder]] = {}

    # -- the two entry points, before and after the task rows are synced --------------------------
    def settle_pauses(self, fired: list[WaitingTimer] | None = None,
                      late: list[WaitingTimer] | None = None) -> None:
        """Start records for newly reached limits, then pause or resume the case's timers: before the
        task rows are written, so new tasks show the due times as resumed. Who held the work of a limit
        that just fired is read now: an interrupting limit's task rows are withdrawn by the sync.
        `late`: limits already due when the case reached them; they get a record that `track` breaches."""
        self._records = list(self.uow.session.scalars(select(SlaRecord).where(
            SlaRecord.instance_id == self.instance.id, SlaRecord.status.in_(OPEN_STATES))))
        for timer in late or []:
            if timer.due_at is not None and self._props(timer.element_id).get("sla_kind") == "limit":
                self._records.append(self._start_limit(timer))
        fired_limits = {t.task_id for t in [*(fired or []), *(late or [])]}
        for record in self._records:
            if record.kind == "limit" and record.timer_task_uuid in fired_limits:
                self._holders_when_fired[record.timer_task_uuid] = self._holders(record)
        if self.instance.status != "running":
            self._waiting = {}
            return
        self._waiting = {t.task_id: t for t in self.run.waiting_timers()}
        recorded = {r.timer_task_uuid for r in self._records if r.kind == "limit"}
        for timer in self._waiting.values():
            if timer.task_id not in recorded and not timer.paused and timer.due_at is not None \
                    and self._props(timer.element_id).get("sla_kind") == "limit":
                self._records.append(self._start_limit(timer))
        if self.has_pauses:
            self._pause_or_resume()

    def track(self, fired: list[WaitingTimer]) -> datetime | None:
        """Record breaches of fired limits, duties of fired cycles, limits met, missed duties and due
        warnings; returns the next moment the records need the worker."""
        self._open_rows = None  # the task rows have been synced since settle_pauses
        records = self._records
        limits = {r.timer_task_uuid: r for r in records if r.kind == "limit"}
        fired_ids = {t.task_id for t in fired}
        for timer in fired:
            props = self._props(timer.element_id)
            if props.get("sla_kind") == "limit" and timer.task_id in limits:
                self._breach(limits[timer.task_id], "timer_fired")
            elif props.get("sla_kind") == "duty":
                records.append(self._start_duty(timer, self._waiting.get(timer.task_id)))
        interrupted = {self.elements.get(t.element_id, {}).get("attached_to") for t in fired
                       if self.elements.get(t.element_id, {}).get("interrupting")}
        for task_id, record in limits.items():
            if record.status in OPEN_STATES and task_id not in self._waiting and task_id not in fired_ids:
                if self.instance.status not in ("running", "completed"):
                    self._close(record, "cancelled")
                elif record.guarded_element_id in interrupted or self.run.guarded_activity_cancelled(task_id):
                    self._close(record, "cancelled")  # another limit or an error boundary took it away
                else:
                    self._meet(record)
        self._settle_duties(records)
        self._warn_due(records)
        moments = [r.warn_at for r in records if r.status == "running" and r.kind == "limit"
                   and r.warned_at is None and r.warn_at is not None]
        moments += [r.due_at for r in records if r.status == "running" and r.kind == "duty"]
        return min(moments) if moments else None

    # -- starting -------------------------------------------------------------------------------
    def _start_limit(self, timer: WaitingTimer) -> SlaRecord:
        element = self.elements.get(timer.element_id, {})
        props = element.get("properties", {})
        share = float(props["sla_warn_share"]) if props.get("sla_warn_share") else self.default_warn_share
        record = self._new(timer, "limit", element.get("attached_to"), timer.due_at)
        record.warn_at = self.now + (timer.due_at - self.now) * share
        return record

    def _start_duty(self, timer: WaitingTimer, still_waiting: WaitingTimer | None) -> SlaRecord:
        """A cycle fired: the report it asks for is due when the next one is."""
        task_element = next((element_id for element_id, e in self.elements.items()
                             if timer.element_id in e.get("incoming", []) and e["type"] == "userTask"), None)
        due = still_waiting.due_at if still_waiting is not None and still_waiting.due_at else self.now
        record = self._new(timer, "duty", task_element, due)
        row = next((r for r in self._rows() if r.element_id == task_element and r.created_at == self.now), None)
        if row is not None:
            record.duty_task_id, record.department = row.id, row.department
        return record

    def _new(self, timer: WaitingTimer, kind: str, guarded: str | None, due: datetime) -> SlaRecord:
        element = self.elements.get(timer.element_id, {})
        props = element.get("properties", {})
        record = SlaRecord(
            instance_id=self.instance.id, process_key=self.instance.process_key,
            business_key=self.instance.business_key, kind=kind, element_id=timer.element_id,
            name=(props.get("sla_name") or element.get("name") or timer.element_id)[:200],
            source=sla_source_of(element),
            timer_task_uuid=timer.task_id, guarded_element_id=guarded,
            department=element.get("sla_department") or "", holders=[], status="running",
            started_at=self.now, due_at=due, paused_seconds=0)
        self.uow.session.add(record)
        return record

    # -- closing --------------------------------------------------------------------------------
    def _meet(self, record: SlaRecord) -> None:
        if self.now > record.due_at:  # finished after the limit, before the worker fired it: still late
            self._breach(record, "finished_late")
            return
        finisher = self._finisher(record)
        if finisher is not None:
            record.department, record.person = finisher.department or record.department, finisher.completed_by
        record.met_at = self.now
        self._close(record, "met")

    def _breach(self, record: SlaRecord, how: str) -> None:
        holders = self._holders_when_fired.get(record.timer_task_uuid) or self._holders(record)
        if holders:
            departments = {h.department for h in holders}
            people = {h.person for h in holders if h.person}
            if len(departments) == 1:
                record.department = holders[0].department
            record.person = people.pop() if len(people) == 1 else None
            record.holders = [{"department": h.department, "person": h.person} for h in holders]
        record.breached_at = self.now
        self._close(record, "breached", {"how": how, "holders": record.holders})
        self._notify(record, "breach", holders)

    def _close(self, record: SlaRecord, status: str, extra: dict[str, Any] | None = None) -> None:
        if record.status == "paused" and record.paused_since is not None:
            record.paused_seconds += int((self.now - record.paused_since).total_seconds())
            record.paused_since = None
        record.status = status
        self.uow.audit(f"sla_{status}", SYSTEM_ACTOR, self.instance.id, record.element_id, {
            "sla": record.name, "kind": record.kind, "source": record.source, "department": record.department,
            "person": record.person, "due_at": record.due_at.isoformat(), "paused_seconds": record.paused_seconds,
            **(extra or {})})

    # -- duties ---------------------------------------------------------------------------------
    def _settle_duties(self, records: list[SlaRecord]) -> None:
        duties = [r for r in records if r.kind == "duty" and r.status == "running"]
        if not duties:
            return
        rows = {r.id: r for r in self.uow.session.scalars(select(HumanTask).where(
            HumanTask.id.in_([d.duty_task_id for d in duties if d.duty_task_id is not None])))}
        for duty in duties:
            row = rows.get(duty.duty_task_id)
            if row is not None and row.state == "cancelled":
                self._close(duty, "cancelled")  # the handling ended before the report was due
            elif row is not None and row.state == "completed":
                duty.department, duty.person = row.department, row.completed_by
                if row.completed_at <= duty.due_at:
                    duty.met_at = row.completed_at
                    self._close(duty, "met")
                else:
                    duty.breached_at = row.completed_at
                    self._close(duty, "breached", {"how": "reported_late"})
            elif self.now >= duty.due_at:
                if row is not None:
                    duty.department, duty.person = row.department, row.claimed_by
                duty.breached_at = self.now
                self._close(duty, "breached", {"how": "not_reported"})
                self._notify(duty, "breach", [_Holder(duty.department, duty.person)])

    # -- pausing while the case waits on the customer ------------------------------------------
    def _pause_or_resume(self) -> None:
        records, waiting = self._records, self._waiting
        exempt = {t.element_id for t in self.run.ready_human_tasks() if self.elements.get(t.element_id, {})
                  .get("properties", {}).get("sla_pause", "").lower() == "true"}
        if exempt:
            for timer in waiting.values():
                element = self.elements.get(timer.element_id, {})
                if not timer.paused and element.get("attached_to") not in exempt \
                        and element.get("properties", {}).get("sla_kind") in ("limit", "reminder", "duty"):
                    self.run.pause_timer(timer.task_id)
            for record in records:
                if record.status == "running" and record.kind == "limit":
                    record.status, record.paused_since = "paused", self.now
                    self.uow.audit("sla_paused", SYSTEM_ACTOR, self.instance.id, record.element_id,
                                   {"sla": record.name, "waiting_on": sorted(exempt)})
            return
        for timer in waiting.values():
            if timer.paused:
                self.run.resume_timer(timer.task_id)
        paused_since = None
        for record in records:
            if record.status == "paused" and record.paused_since is not None:
                paused_since = record.paused_since
                delta = self.now - record.paused_since
                record.paused_seconds += int(delta.total_seconds())
                record.due_at += delta
                if record.warned_at is None and record.warn_at is not None:
                    record.warn_at += delta
                record.status, record.paused_since = "running", None
                self.uow.audit("sla_resumed", SYSTEM_ACTOR, self.instance.id, record.element_id,
                               {"sla": record.name, "due_at": record.due_at.isoformat(),
                                "paused_seconds": record.paused_seconds})
        if paused_since is not None:
            self._shift_task_rows(paused_since)

    def _shift_task_rows(self, paused_since: datetime) -> None:
        """Open tasks that were waiting for the paused limits show their due times moved by the pause."""
        delta = self.now - paused_since
        for row in self._rows():
            if row.due_at is not None and row.created_at <= paused_since:
                row.due_at += delta
                row.due_order = row.due_at
                if row.warn_at is not None:
                    row.warn_at += delta

    # -- warnings -------------------------------------------------------------------------------
    def _warn_due(self, records: list[SlaRecord]) -> None:
        for record in records:
            if record.status == "running" and record.kind == "limit" and record.warned_at is None \
                    and record.warn_at is not None and record.warn_at <= self.now:
                record.warned_at = self.now
                holders = self._holders(record)
                self.uow.audit("sla_warned", SYSTEM_ACTOR, self.instance.id, record.element_id, {
                    "sla": record.name, "due_at": record.due_at.isoformat(),
                    "holders": [{"department": h.department, "person": h.person} for h in holders]})
                self._notify(record, "warning", holders)

    def _notify(self, record: SlaRecord, event: str, holders: list[_Holder]) -> None:
        """Tell the people the diagram's `sla_notify` names (default: the assignee; at a breach also the
        head of the responsible department)."""
        props = self._props(record.element_id)
        tokens = [t.strip() for t in (props.get("sla_notify") or "").split(",") if t.strip()] or \
            list(DEFAULT_WARN_NOTIFY if event == "warning" else DEFAULT_BREACH_NOTIFY)
        if event == "warning":
            tokens = [t for t in tokens if t == "assignee"] or ["assignee"]
        recipients: list[str] = []
        for token in tokens:
            if token == "assignee":
                recipients += [f"user:{h.person}" if h.person else f"department:{h.department}" for h in holders] \
                    or ([f"department:{record.department}"] if record.department else [])
            elif token == "head":
                recipients += [f"head:{d}" for d in sorted({h.department for h in holders} or {record.department})
                               if d]
            else:
                recipients.append(token)
        # A department's message reaches its head too: no second copy addressed to the head.
        recipients = [r for r in recipients if not (r.startswith("head:") and f"department:{r[5:]}" in recipients)]
        due = record.due_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
        case = record.business_key or f"#{record.instance_id}"
        held_by = "、".join(sorted({h.person or h.department for h in holders})) or record.department or "—"
        if event == "warning":
            subject, body = f"时限预警：{record.name}（{case}）", f"该时限将于 {due}（北京时间）到期，当前办理：{held_by}。"
        else:
            subject, body = f"超时：{record.name}（{case}）", f"已超过时限（{due}，北京时间），责任：{held_by}。请督办。"
        # Whoever is told can tell a limit the procedure states from one the company sets.
        body += SOURCE_NOTES.get(record.source or "company", "")
        # One command on one instance version notifies each timer's event once: that makes the key.
        key = f"sla:{self.instance.id}:{self.instance.lock_version}:{record.timer_task_uuid}:{event}"
        writer = OutboxWriter(self.uow.session, self.now, self.instance.id, key)
        for recipient in dict.fromkeys(recipients):
            writer.notify(recipient, subject, body)

    # -- reading --------------------------------------------------------------------------------
    def _props(self, element_id: str) -> dict[str, str]:
        return self.elements.get(element_id, {}).get("properties", {})

    def _rows(self) -> list[HumanTask]:
        """The instance's open task rows (once per command; sync_task_rows has already run)."""
        if self._open_rows is None:
            self._open_rows = list(self.uow.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == self.instance.id, HumanTask.state == "open")))
        return self._open_rows

    def _inside(self, element_id: str, guarded: str | None) -> bool:
        return guarded is None or element_id == guarded or guarded in self.elements.get(element_id, {}).get(
            "scope", [guarded])

    def _holders(self, record: SlaRecord) -> list[_Holder]:
        """Who holds the guarded work now: the open tasks inside the guarded activity."""
        found = {(r.department, r.claimed_by) for r in self._rows() if self._inside(r.element_id,
                                                                                     record.guarded_element_id)}
        return [_Holder(d, p) for d, p in sorted(found, key=lambda h: (h[0], h[1] or ""))]

    def _finisher(self, record: SlaRecord) -> HumanTask | None:
        """The task inside the guarded activity completed by this command, if any (not another one that
        happened to be completed at the same moment)."""
        task = self.completed
        return task if task is not None and self._inside(task.element_id, record.guarded_element_id) else None
