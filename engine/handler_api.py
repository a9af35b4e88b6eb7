"""What a service-task handler sees: a context in, data out. Handlers import only this module (it re-exports
the declarative base and the moment column type of their business records); they never touch SpiffWorkflow or the web layer."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.departments import department_names_in
from engine.diagrams.catalog import option_labels
from engine.notifications.outbox import OutboxWriter
from engine.storage.base import Base, UtcDateTime  # noqa: F401  (re-exported for handler business records)
from engine.storage.models import ProcessVersion


def option_names(session: Session, process_key: str) -> dict[str, dict[str, tuple[str, str]]]:
    """Field id -> coded value -> (Chinese, English) names, from the process's latest deployed diagram
    (English falls back to Chinese): records name a form's coded values as the diagram does, so a renamed
    option needs no Python edit."""
    return {field: {code: (zh, en or zh) for code, (zh, en) in options.items()}
            for field, options in _option_labels_in(session, process_key).items()}


def _option_labels_in(session: Session, process_key: str) -> dict[str, dict[str, tuple[str, str | None]]]:
    """The option names of the latest deployed version's enum fields (empty if never deployed)."""
    catalog = session.scalar(select(ProcessVersion.catalog).where(ProcessVersion.process_key == process_key)
                             .order_by(ProcessVersion.id.desc()).limit(1))
    return option_labels(catalog) if catalog else {}


def department_names(session: Session) -> dict[str, tuple[str, str]]:
    """Department code -> (Chinese, English) names as the company keeps them."""
    return department_names_in(session)


class BpmnError(Exception):
    """Raised by a handler to take the diagram's error path (an error boundary event with this code)."""

    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        super().__init__(message or code)


@dataclass(frozen=True)
class OpenTask:
    """A person's task that is open in the same instance (who is holding the case up)."""

    element_id: str
    name: str
    department: str
    claimed_by: str | None


@dataclass
class HandlerContext:
    topic: str
    element_id: str
    element_name: str
    process_key: str
    instance_id: int
    business_key: str | None
    actor: str
    data: Mapping[str, Any]
    properties: Mapping[str, str]
    session: Session
    now: datetime
    outbox: OutboxWriter
    _open_tasks: Callable[[], list[OpenTask]]
    _audit: Callable[[str, dict[str, Any]], None]
    # Wired by the engine's handler runtime: SLA attainment read in this unit of work.
    _attainment: Callable[..., list[Any]] | None = field(default=None, repr=False)
    assigned_business_key: str | None = field(default=None, init=False)
    _open_tasks_read: list[OpenTask] | None = field(default=None, init=False, repr=False)

    @property
    def open_tasks(self) -> list[OpenTask]:
        """People's tasks open in this instance, read only when a handler asks (most never do)."""
        if self._open_tasks_read is None:
            self._open_tasks_read = self._open_tasks()
        return self._open_tasks_read

    def assign_business_key(self, key: str) -> None:
        """Give the instance its business key (e.g. the feedback form number) once the step succeeds."""
        self.assigned_business_key = key
        self.business_key = key

    def audit(self, kind: str, detail: dict[str, Any]) -> None:
        """Add a business event (e.g. a category override) to the instance's audit trail."""
        self._audit(kind, detail)

    def sla_attainment(self, start: datetime, end: datetime, by: str = "department",
                       process_key: str | None = None, by_source: bool = False) -> list[dict[str, Any]]:
        """Limits and duties that fell due in [start, end) met and missed, by department (code) or person
        (user name), e.g. for a monthly report: rows {who, met, breached, total, rate} (rate None when
        nothing fell due), sorted by who; `by_source`: one row per who and `source` (procedure / company),
        so a report never sums limits the procedure states with company rules."""
        if self._attainment is None:
            raise RuntimeError("SLA attainment is not available outside the engine's handler runtime")
        return [{"who": row.who, "met": row.met, "breached": row.breached, "total": row.total, "rate": row.rate,
                 **({"source": row.source} if by_source else {})}
                for row in self._attainment(start, end, by, process_key, by_source)]

    def property(self, name: str, default: str | None = None) -> str | None:
        value = self.properties.get(name)
        return default if value in (None, "") else value

    def property_list(self, name: str) -> list[str]:
        """A comma-separated property (e.g. department codes) as a list, blanks dropped."""
        return [item.strip() for item in (self.property(name) or "").split(",") if item.strip()]


Handler = Callable[[HandlerContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class RecordSection:
    """Business records of one case shown to the people working it (e.g. the sample ledger entries)."""

    title: str
    title_en: str
    columns: list[tuple[str, str, str]]  # key, Chinese label, English label
    rows: list[dict[str, Any]]

    @classmethod
    def of(cls, title: str, title_en: str, columns: list[tuple[str, str, str]], records: list[Any],
           labels: dict[str, dict[str, tuple[str, str]]] | None = None) -> RecordSection | None:
        """A section listing the given columns of ORM records; None when the case has none. `labels`
        turns coded values into (Chinese, English) names, e.g. a sample's location."""
        if not records:
            return None
        labels = labels or {}

        def shown(key: str, value: Any) -> Any:
            return labels[key].get(value, value) if key in labels else value
        return cls(title, title_en, columns,
                   [{key: shown(key, getattr(r, key)) for key, _, _ in columns} for r in records])


CaseRecords = Callable[[Session, int], RecordSection | None]
RecordBookReader = Callable[[Session, str | None], RecordSection | None]


@dataclass(frozen=True)
class RecordBook:
    """A register a business area keeps across cases (e.g. the customer service file), opened by key:
    `read(session, None)` is the index (one row per key), `read(session, key)` one entry."""

    name: str
    title: str
    title_en: str
    key_column: str  # the index column whose value opens an entry, e.g. the customer
    key_label: tuple[str, str]  # what a person types to open an entry, (Chinese, English)
    viewers: tuple[str, ...]  # departments whose members may open it; auditors and admins always may
    read: RecordBookReader


class HandlerRegistry:
    """Handlers by `camunda:topic`; the engine is given one explicit registry."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._case_records: list[CaseRecords] = []
        self._books: dict[str, RecordBook] = {}

    def handler(self, topic: str) -> Callable[[Handler], Handler]:
        def register(function: Handler) -> Handler:
            if topic in self._handlers:
                raise ValueError(f"topic '{topic}' already has a handler")
            self._handlers[topic] = function
            return function
        return register

    def case_records(self, function: CaseRecords) -> CaseRecords:
        """Register a read of a business area's records for one case (instance id in, a section out)."""
        self._case_records.append(function)
        return function

    def record_book(self, name: str, title: str, title_en: str, key_column: str, key_label: tuple[str, str],
                    viewers: tuple[str, ...]) -> Callable[[RecordBookReader], RecordBookReader]:
        """Register a business area's register that people open per key outside any one case."""
        def register(function: RecordBookReader) -> RecordBookReader:
            if name in self._books:
                raise ValueError(f"record book '{name}' is already registered")
            self._books[name] = RecordBook(name, title, title_en, key_column, key_label, viewers, function)
            return function
        return register

    def include(self, other: HandlerRegistry) -> HandlerRegistry:
        for topic, function in other._handlers.items():
            self.handler(topic)(function)
        self._case_records.extend(other._case_records)
        for book in other._books.values():
            self.record_book(book.name, book.title, book.title_en, book.key_column, book.key_label,
                             book.viewers)(book.read)
        return self

    def record_books(self) -> list[RecordBook]:
        return list(self._books.values())

    def book(self, name: str) -> RecordBook | None:
        return self._books.get(name)

    def record_readers(self) -> list[CaseRecords]:
        return list(self._case_records)

    def get(self, topic: str) -> Handler | None:
        return self._handlers.get(topic)

    def __contains__(self, topic: object) -> bool:
        return topic in self._handlers

    def topics(self) -> set[str]:
        return set(self._handlers)
