"""The inbox listing: open tasks of a person or of their departments, filtered, searched, sorted and paged.

Reads only the task rows' narrow columns (never a workflow, never the form or data JSON), so a page stays
fast with 100,000 open tasks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from engine.storage.database import Database
from engine.storage.models import NO_LIMIT, HumanTask
from engine.storage.paging import Page, page_within

DUE_STATES = ("overdue", "due_soon", "on_time", "no_limit")
SORTS = ("due", "-due", "created", "-created")


@dataclass(frozen=True)
class InboxQuery:
    """What a user asked to see; `departments` is already limited to what they may see."""

    departments: tuple[str, ...]
    now: datetime
    assignee: str | None = None  # "my tasks": claimed by this user
    unclaimed_only: bool = False
    process_key: str | None = None
    category: str | None = None
    due_state: str | None = None
    search: str | None = None  # business key or customer, part of it
    sort: str = "due"
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class InboxRow:
    id: int
    instance_id: int
    name: str
    process_key: str
    business_key: str | None
    customer: str | None
    category: str | None
    department: str
    created_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    limit_name: str | None
    claimed_by: str | None
    limit_source: str | None = None  # procedure / company: who sets the limit shown


class InboxPage(Page[InboxRow]):
    """One page of InboxRows."""


_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.name, HumanTask.process_key, HumanTask.business_key,
            HumanTask.customer, HumanTask.category, HumanTask.department, HumanTask.created_at, HumanTask.due_at,
            HumanTask.warn_at, HumanTask.limit_name, HumanTask.claimed_by, HumanTask.limit_source)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: InboxQuery, statement):
    statement = statement.where(HumanTask.state == "open", HumanTask.department.in_(query.departments))
    if query.assignee:
        statement = statement.where(HumanTask.claimed_by == query.assignee)
    if query.unclaimed_only:
        statement = statement.where(HumanTask.claimed_by.is_(None))
    if query.process_key:
        statement = statement.where(HumanTask.process_key == query.process_key)
    if query.category:
        statement = statement.where(HumanTask.category == query.category)
    now = query.now
    # On due_order (the indexed due time, the end of time when there is no limit), not on due_at.
    if query.due_state == "overdue":
        statement = statement.where(HumanTask.due_order <= now)
    elif query.due_state == "due_soon":
        statement = statement.where(HumanTask.due_order > now, HumanTask.due_order < NO_LIMIT,
                                    HumanTask.warn_at <= now)
    elif query.due_state == "on_time":
        statement = statement.where(HumanTask.due_order > now, HumanTask.due_order < NO_LIMIT,
                                    or_(HumanTask.warn_at.is_(None), HumanTask.warn_at > now))
    elif query.due_state == "no_limit":
        statement = statement.where(HumanTask.due_order == NO_LIMIT)
    if query.search and query.search.strip():
        pattern = f"%{_escape_like(query.search.strip())}%"
        statement = statement.where(or_(HumanTask.business_key.like(pattern, escape="\\"),
                                        HumanTask.customer.like(pattern, escape="\\")))
    return statement


def list_inbox(db: Database, query: InboxQuery) -> InboxPage:
    """One page of the inbox and the total count, in two indexed queries."""
    if not query.departments:
        return InboxPage([], 0, 1, query.per_page)
    per_page = max(1, min(query.per_page, 200))
    page = max(1, query.page)
    order = {
        "due": (HumanTask.due_order, HumanTask.id),  # tasks without a limit last
        "-due": (HumanTask.due_order.desc(), HumanTask.id.desc()),
        "created": (HumanTask.created_at, HumanTask.id),
        "-created": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    }[query.sort if query.sort in SORTS else "due"]
    with db.sessions() as session:
        total = session.scalar(_filtered(query, select(func.count()).select_from(HumanTask))) or 0
        page = page_within(page, total, per_page)
        # The page's ids first, from the index alone (skipped rows are never read), then those rows.
        ids = session.scalars(_filtered(query, select(HumanTask.id)).order_by(*order)
                              .limit(per_page).offset((page - 1) * per_page)).all()
        rows = {row.id: row for row in session.execute(select(*_COLUMNS).where(HumanTask.id.in_(ids)))}
        return InboxPage([InboxRow(*rows[i]) for i in ids], total, page, per_page)
