"""Service figures of a period for auditors: limits met by department and person, response times, case
durations, resolution rate and customer satisfaction; plain rows the report page, its charts and the
CSV/Excel exports all show alike.

Satisfaction is read from the answers to the form fields the diagrams mark `report_satisfaction`
(engine/diagrams/satisfaction.py), from the catalog of the version each case ran on: no field name is known here."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.diagrams.satisfaction import questions_in
from engine.storage.database import Database
from engine.storage.models import HumanTask, ProcessInstance, ProcessVersion
from engine.timing.attainment import Attainment, attainment_in


@dataclass(frozen=True)
class ResponseTime:
    """Tasks of a department completed in the period, from the task's creation to its completion."""

    department: str
    tasks: int
    average_hours: float
    longest_hours: float


@dataclass(frozen=True)
class CaseDuration:
    """Cases of a process completed in the period, from start to end."""

    process_key: str
    cases: int
    average_hours: float
    longest_hours: float


@dataclass(frozen=True)
class Resolution:
    """Cases of a process started in the period and what became of them so far."""

    process_key: str
    started: int
    completed: int
    cancelled: int

    @property
    def running(self) -> int:
        return self.started - self.completed - self.cancelled

    @property
    def rate(self) -> float | None:
        return self.completed / self.started if self.started else None


@dataclass(frozen=True)
class Satisfaction:
    """Answers to one satisfaction question of a process in the period, on a five-point scale."""

    process_key: str
    field_id: str
    label: str
    label_en: str | None
    answers: int
    average: float


@dataclass(frozen=True)
class ServiceReport:
    start: datetime
    end: datetime
    by_department: list[Attainment]
    by_person: list[Attainment]
    response_times: list[ResponseTime]
    case_durations: list[CaseDuration]
    resolution: list[Resolution]
    satisfaction: list[Satisfaction]


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def service_report(db: Database, start: datetime, end: datetime) -> ServiceReport:
    """The figures of [start, end) (UTC): limits by their due time, tasks and cases by when they ended,
    resolution by when cases started, satisfaction by when the answer was given."""
    if end <= start:
        raise ValueError("the period ends before it starts")
    with db.sessions() as session:
        # One row per source: a limit the procedure states is never summed with a company rule.
        by_department = attainment_in(session, start, end, "department", by_source=True)
        by_person = attainment_in(session, start, end, "person", by_source=True)

        spans: dict[str, list[float]] = defaultdict(list)
        for department, created, completed in session.execute(
                select(HumanTask.department, HumanTask.created_at, HumanTask.completed_at)
                .where(HumanTask.state == "completed", HumanTask.completed_at >= start, HumanTask.completed_at < end)):
            spans[department].append(_hours(created, completed))
        response_times = [ResponseTime(d, len(v), sum(v) / len(v), max(v)) for d, v in sorted(spans.items())]

        durations: dict[str, list[float]] = defaultdict(list)
        for process_key, started, ended in session.execute(
                select(ProcessInstance.process_key, ProcessInstance.started_at, ProcessInstance.ended_at)
                .where(ProcessInstance.status == "completed", ProcessInstance.ended_at >= start,
                       ProcessInstance.ended_at < end)):
            durations[process_key].append(_hours(started, ended))
        case_durations = [CaseDuration(k, len(v), sum(v) / len(v), max(v)) for k, v in sorted(durations.items())]

        outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for process_key, status, count in session.execute(
                select(ProcessInstance.process_key, ProcessInstance.status, func.count())
                .where(ProcessInstance.started_at >= start, ProcessInstance.started_at < end)
                .group_by(ProcessInstance.process_key, ProcessInstance.status)):
            outcomes[process_key][status] += count
        resolution = [Resolution(k, sum(c.values()), c.get("completed", 0), c.get("cancelled", 0))
                      for k, c in sorted(outcomes.items())]

        return ServiceReport(start, end, by_department, by_person, response_times, case_durations, resolution,
                             _satisfaction(session, start, end))


def _satisfaction(session, start: datetime, end: datetime) -> list[Satisfaction]:
    completed = (HumanTask.state == "completed", HumanTask.completed_at >= start, HumanTask.completed_at < end)
    version_ids = set(session.scalars(
        select(ProcessInstance.version_id).distinct()
        .where(ProcessInstance.id.in_(select(HumanTask.instance_id).where(*completed)))))
    questions: dict[tuple[int, str], list] = defaultdict(list)
    for version_id, catalog in session.execute(
            select(ProcessVersion.id, ProcessVersion.catalog).where(ProcessVersion.id.in_(version_ids))):
        for question in questions_in(catalog):
            questions[(version_id, question.element_id)].append(question)
    if not questions:
        return []
    elements = {element_id for _, element_id in questions}
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    labels: dict[tuple[str, str], tuple[str, str | None]] = {}
    for process_key, version_id, element_id, submitted in session.execute(
            select(HumanTask.process_key, ProcessInstance.version_id, HumanTask.element_id, HumanTask.submitted)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(*completed, HumanTask.element_id.in_(elements))):
        for question in questions.get((version_id, element_id), []):
            score = question.score((submitted or {}).get(question.field_id))
            if score is not None:
                key = (process_key, question.field_id)
                scores[key].append(score)
                labels[key] = (question.label, question.label_en)
    return [Satisfaction(key[0], key[1], labels[key][0], labels[key][1], len(values), sum(values) / len(values))
            for key, values in sorted(scores.items())]
