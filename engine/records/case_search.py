"""The auditors' instance list: cases filtered by process, version, status, department, start date, SLA state
and number/customer, newest first, in pages.

Reads only narrow columns of the instance, task and SLA rows (never a workflow); every filter on another
table is a semi-join (EXISTS / IN on an indexed column), and a page's ids are read before its rows, so a
page stays fast with 100,000 cases."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, or_, select

from engine.storage.database import Database
from engine.storage.models import HumanTask, ProcessInstance, ProcessVersion, SlaRecord
from engine.storage.paging import Page, page_within
from engine.working_time.calendar import beijing_day_start

STATUSES = ("running", "completed", "cancelled")
SLA_STATES = ("met", "breached")
MAX_PER_PAGE = 200


class CaseSearchError(ValueError):
    """A filter value the list cannot use; the message says which and why."""


@dataclass(frozen=True)
class CaseQuery:
    """What an auditor asked to see; dates are Beijing calendar days, both ends included."""

    process_key: str | None = None
    version: int | None = None  # the version number of `process_key`
    status: str | None = None
    department: str | None = None  # cases with a task of this department
    started_from: date | None = None
    started_to: date | None = None
    sla: str | None = None  # "breached": some limit missed; "met": every limit measured so far met
    search: str | None = None  # business key or customer, part of it
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class CaseRow:
    id: int
    process_key: str
    version: int
    business_key: str | None
    customer: str | None
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    limits_met: int
    limits_breached: int


class CasePage(Page[CaseRow]):
    """One page of CaseRows."""


def check(query: CaseQuery) -> None:
    """Refuse values the list cannot use, with the reason (the page shows it)."""
    if query.status and query.status not in STATUSES:
        raise CaseSearchError(f"unknown status '{query.status}'; use one of {', '.join(STATUSES)}")
    if query.sla and query.sla not in SLA_STATES:
        raise CaseSearchError(f"unknown SLA state '{query.sla}'; use one of {', '.join(SLA_STATES)}")
    if query.version is not None and not query.process_key:
        raise CaseSearchError("a version belongs to a process: choose the process too")
    if query.version is not None and query.version < 1:
        raise CaseSearchError("versions are numbered from 1")
    if query.started_from and query.started_to and query.started_from > query.started_to:
        raise CaseSearchError("the start of the date range is after its end")
    if query.page < 1 or query.per_page < 1:
        raise CaseSearchError("page and page size count from 1")


# A search matching more cases than this filters by subquery instead of by the list of their ids.
SEARCH_ID_LIST_LIMIT = 2000
# Walk the cases newest first testing each (EXISTS) when about this many are read for a page at most;
# otherwise collect the matching ids from the other table's index first (IN).
WALK_LIMIT = 20_000
COUNT_WALK_LIMIT = 10_000


def _has(walk: bool, model, *conditions):
    """Cases with a row of `model` (tasks, SLA records) meeting the conditions, as a semi-join."""
    if walk:
        return exists().where(model.instance_id == ProcessInstance.id, *conditions)
    return ProcessInstance.id.in_(select(model.instance_id).where(*conditions))


def _filtered(query: CaseQuery, statement, version_id: int | None, matched, walk: bool = False,
              sqlite: bool = True):
    instance = ProcessInstance
    if version_id is not None:  # a version belongs to one process: its own index says it all
        statement = statement.where(instance.version_id == version_id)
    elif query.process_key:
        statement = statement.where(instance.process_key == query.process_key)
    if query.status:
        statement = statement.where(instance.status == query.status)
    if query.started_from:
        statement = statement.where(instance.started_at >= beijing_day_start(query.started_from))
    if query.started_to:
        statement = statement.where(instance.started_at < beijing_day_start(query.started_to + timedelta(days=1)))
    if query.department:
        statement = statement.where(_has(walk, HumanTask, HumanTask.department == query.department))
    if query.sla == "breached":
        statement = statement.where(_has(walk, SlaRecord, SlaRecord.status == "breached"))
    elif query.sla == "met":
        # At least one limit met and none missed or still counting (cancelled limits do not count).
        # NOT IN on SQLite (one list from the index); NOT EXISTS on PostgreSQL (an anti-join).
        statement = statement.where(_has(walk, SlaRecord, SlaRecord.status == "met"),
                                    ~_has(walk or not sqlite, SlaRecord,
                                          SlaRecord.status.in_(("breached", "running", "paused"))))
    if matched is not None:
        statement = statement.where(matched)
    return statement


def _search(session, text: str):
    """The cases whose number or customer contains the text, as a condition on the instance id.

    A plain substring test (instr / strpos) rather than LIKE: both databases scan the narrow indexes, and
    a case-folding LIKE over Chinese names costs two to three times as much. Numbers are matched as typed
    or upper-cased (the engine writes them in capitals), customer names as typed."""
    position = func.instr if session.get_bind().dialect.name == "sqlite" else func.strpos
    spellings = {text, text.upper()}
    by_number = select(ProcessInstance.id).where(or_(*(position(ProcessInstance.business_key, t) > 0
                                                       for t in spellings)))
    # No DISTINCT: it would make SQLite read the tasks in case order instead of the narrow customer index.
    by_customer = select(HumanTask.instance_id).where(position(HumanTask.customer, text) > 0)
    ids = set(session.scalars(by_number.limit(SEARCH_ID_LIST_LIMIT + 1)))
    if len(ids) <= SEARCH_ID_LIST_LIMIT:
        task_limit = 20 * SEARCH_ID_LIST_LIMIT
        found = session.scalars(by_customer.limit(task_limit)).all()
        ids |= set(found)
        if len(found) < task_limit and len(ids) <= SEARCH_ID_LIST_LIMIT:  # every match is in the list
            return ProcessInstance.id.in_(sorted(ids))
    return or_(ProcessInstance.id.in_(by_number), ProcessInstance.id.in_(by_customer))


def search_cases(db: Database, query: CaseQuery) -> CasePage:
    """One page of cases, newest first, and how many match; raises CaseSearchError on a bad filter."""
    check(query)
    per_page = min(query.per_page, MAX_PER_PAGE)
    with db.sessions() as session:
        version_id = None
        if query.version is not None:
            version_id = session.scalar(select(ProcessVersion.id).where(
                ProcessVersion.process_key == query.process_key, ProcessVersion.version == query.version))
            if version_id is None:
                raise CaseSearchError(f"process '{query.process_key}' has no version {query.version}")
        sqlite = session.get_bind().dialect.name == "sqlite"
        matched = _search(session, query.search.strip()) if query.search and query.search.strip() else None
        walk_count = walk_page = False
        if query.department or query.sla:
            # The cases the instance's own columns select: few of them, test each one (EXISTS);
            # many, collect the matching ids from the other table's index once (IN).
            plain = replace(query, department=None, sla=None)
            base = session.scalar(_filtered(plain, select(func.count()).select_from(ProcessInstance), version_id,
                                            matched)) or 0
            walk_count = base <= COUNT_WALK_LIMIT
        total = session.scalar(_filtered(query, select(func.count()).select_from(ProcessInstance), version_id,
                                         matched, walk_count, sqlite)) or 0
        page = page_within(query.page, total, per_page)
        if total == 0:
            return CasePage([], 0, 1, per_page)
        if query.department or query.sla:
            # Walking newest first reads about base / total cases per match.
            walk_page = page * per_page * base / total <= WALK_LIMIT
        ids = session.scalars(_filtered(query, select(ProcessInstance.id), version_id, matched, walk_page, sqlite)
                              .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
        return CasePage(_rows(session, ids), total, page, per_page)


def _rows(session, ids: list[int]) -> list[CaseRow]:
    """The page's rows: the instances, a customer from their tasks, their limits met and missed."""
    if not ids:
        return []
    # Without a join: SQLite would read the versions first and scan each one's cases.
    rows = {r.id: r for r in session.execute(
        select(ProcessInstance.id, ProcessInstance.process_key, ProcessInstance.version_id,
               ProcessInstance.business_key, ProcessInstance.status, ProcessInstance.started_at,
               ProcessInstance.started_by, ProcessInstance.ended_at)
        .where(ProcessInstance.id.in_(ids)))}
    versions = dict(session.execute(select(ProcessVersion.id, ProcessVersion.version).where(
        ProcessVersion.id.in_({r.version_id for r in rows.values()}))).all())
    customers = dict(session.execute(
        select(HumanTask.instance_id, func.max(HumanTask.customer))
        .where(HumanTask.instance_id.in_(ids), HumanTask.customer.is_not(None))
        .group_by(HumanTask.instance_id)).all())
    limits: dict[int, dict[str, int]] = {}
    for instance_id, status, count in session.execute(
            select(SlaRecord.instance_id, SlaRecord.status, func.count())
            .where(SlaRecord.instance_id.in_(ids), SlaRecord.status.in_(SLA_STATES))
            .group_by(SlaRecord.instance_id, SlaRecord.status)):
        limits.setdefault(instance_id, {})[status] = count
    result = []
    for i in ids:
        r = rows[i]
        counts = limits.get(i, {})
        result.append(CaseRow(r.id, r.process_key, versions[r.version_id], r.business_key, customers.get(i), r.status,
                              r.started_at, r.started_by, r.ended_at, counts.get("met", 0), counts.get("breached", 0)))
    return result


@dataclass(frozen=True)
class ProcessVersions:
    process_key: str
    name: str
    versions: tuple[int, ...]


def process_versions(db: Database) -> list[ProcessVersions]:
    """Every deployed process with its version numbers (the list's process and version choices)."""
    with db.sessions() as session:
        found: dict[str, list] = {}
        for key, version, name in session.execute(
                select(ProcessVersion.process_key, ProcessVersion.version, ProcessVersion.name)
                .order_by(ProcessVersion.process_key, ProcessVersion.version)):
            entry = found.setdefault(key, [name, []])
            entry[0] = name
            entry[1].append(version)
        return [ProcessVersions(key, name, tuple(versions)) for key, (name, versions) in found.items()]

