"""Which table holds what, for the records archive: decided from the schema itself (Base.metadata), so a
table added later is not silently left out. A table with an `instance_id` column belongs to cases, a table
with a foreign key to such a table belongs to them through it, and every other table must be declared here
(reference data, records not tied to a case with the column that dates them, or never exported);
`table_plan` refuses an undeclared one. `statement` selects a table's rows of a set of cases."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Column, Table, and_, or_, select
from sqlalchemy.sql import ColumnElement, Select

from engine.storage.base import Base
from engine.working_time.calendar import beijing_day_start

CASES_TABLE = "process_instances"
VERSIONS_TABLE = "process_versions"

# Read as they are now, whole, for the archive to be understood alone (who a username was, which days
# were off); never deleted by a purge.
REFERENCE_TABLES = frozenset({
    "departments", "users", "memberships", "calendar_days", "calendar_settings", "engineers",
    "product_warranties", "warranty_criteria", "process_schedules",
})
# Records not tied to a case: exported when one of these columns falls in the period; kept by a purge
# (they are the company's files on customers and its knowledge, not a case's).
DATED_TABLES: dict[str, tuple[str, ...]] = {
    "customer_devices": ("registered_at",),
    "knowledge_entries": ("created_at", "updated_at"),
    "login_events": ("at",),  # the sign-in log (engine/accounts/sign_in.py): kept, exported by the period it covers
}
# Case tables whose rows may have no case (instance_id NULL: a sign-in, a calendar edit, a message sent
# outside a case, a scheduled start that failed before its case existed): those rows are exported when
# this column falls in the period.
UNATTACHED_ROWS_DATED_BY = {"audit_events": "at", "outbox_messages": "created_at", "quality_figures": "entered_at",
                            "incidents": "opened_at"}
NOT_EXPORTED = {"api_tokens": "credentials of other systems; only their hashes are stored and those never leave"}
SECRET_COLUMNS = {"users": frozenset({"password_hash"}), "api_tokens": frozenset({"token_hash"})}
# A column named like this is taken for a secret until SECRET_COLUMNS leaves it out.
SECRET_NAME_PARTS = ("password", "secret", "token_hash", "api_key")


class ArchiveError(Exception):
    """An archive could not be written or does not read back as its manifest says."""


class UnclassifiedTables(ArchiveError):
    """Tables the archive would not know how to select: declare them in engine/records/archive.py."""


@dataclass(frozen=True)
class TablePart:
    """How one table enters an archive: `kind` is case, version, reference or dated."""

    table: Table
    kind: str
    columns: tuple[Column, ...]
    parent: TablePart | None = None  # case rows reached through a foreign key to another case table
    parent_link: tuple[str, str] | None = None  # (this table's column, the parent's column)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def file(self) -> str:
        return f"{self.table.name}.jsonl"


@dataclass(frozen=True)
class TablePlan:
    """Every table of the schema, in dependency order (parents first)."""

    parts: tuple[TablePart, ...]
    not_exported: tuple[str, ...]

    def part(self, name: str) -> TablePart:
        return next(p for p in self.parts if p.name == name)

    @property
    def case_parts(self) -> tuple[TablePart, ...]:
        """The tables a purge deletes from: the cases and every row belonging to them."""
        return tuple(p for p in self.parts if p.kind == "case")


def known_tables() -> None:
    """Import the engine's table modules; the handlers' business records join the metadata when the
    handler registry is built (every engine has one), so they are classified too."""
    from engine.storage import models  # noqa: F401


def table_plan() -> TablePlan:
    """Classify every table of Base.metadata; UnclassifiedTables names those that fit no rule."""
    known_tables()
    tables = Base.metadata.sorted_tables
    parts: dict[str, TablePart] = {}
    pending: list[Table] = []
    for table in tables:
        columns = tuple(c for c in table.columns if c.name not in SECRET_COLUMNS.get(table.name, ()))
        if table.name in NOT_EXPORTED:
            continue
        if table.name == CASES_TABLE or "instance_id" in table.c:
            parts[table.name] = TablePart(table, "case", columns)
        elif table.name == VERSIONS_TABLE:
            parts[table.name] = TablePart(table, "version", columns)
        elif table.name in REFERENCE_TABLES:
            parts[table.name] = TablePart(table, "reference", columns)
        elif table.name in DATED_TABLES:
            parts[table.name] = TablePart(table, "dated", columns)
        else:
            pending.append(table)
    unclassified = []
    for table in pending:  # sorted_tables: a parent is classified before its children
        link = next(((fk.parent.name, fk.column.name, parts[fk.column.table.name]) for fk in table.foreign_keys
                     if fk.column.table.name in parts and parts[fk.column.table.name].kind == "case"), None)
        if link is None:
            unclassified.append(table.name)
            continue
        columns = tuple(c for c in table.columns if c.name not in SECRET_COLUMNS.get(table.name, ()))
        parts[table.name] = TablePart(table, "case", columns, parent=link[2], parent_link=(link[0], link[1]))
    for name, column in UNATTACHED_ROWS_DATED_BY.items():
        if name in parts and column not in parts[name].table.c:
            unclassified.append(f"{name} (no column {column})")
    for part in parts.values():
        link = part.table.c[part.parent_link[0]] if part.parent_link else part.table.c.get("instance_id")
        if link is not None and link.nullable and part.name not in UNATTACHED_ROWS_DATED_BY:
            unclassified.append(f"{part.name} (rows without a case: declare UNATTACHED_ROWS_DATED_BY)")
        for column in part.columns:
            if any(word in column.name for word in SECRET_NAME_PARTS):
                unclassified.append(f"{part.name}.{column.name} (a secret? declare SECRET_COLUMNS)")
    if unclassified:
        raise UnclassifiedTables(
            "tables neither exported nor declared reference data / not exported in engine/records/archive.py: "
            + ", ".join(sorted(unclassified)))
    ordered = tuple(parts[t.name] for t in tables if t.name in parts)
    return TablePlan(ordered, tuple(sorted(NOT_EXPORTED)))


@dataclass(frozen=True)
class Selection:
    """Which cases (a SELECT of process_instances ids) and, for an export, the period whose records not
    tied to a case come along (None: none of them)."""

    case_ids: Select
    period: tuple[datetime, datetime] | None = None


def cases_started_in(first_day: date, last_day: date) -> Selection:
    """The cases started on Beijing calendar days first_day..last_day (both included)."""
    start, end = beijing_day_start(first_day), beijing_day_start(last_day + timedelta(days=1))
    cases = Base.metadata.tables[CASES_TABLE]
    return Selection(select(cases.c.id).where(cases.c.started_at >= start, cases.c.started_at < end), (start, end))


def belongs(part: TablePart, selection: Selection) -> ColumnElement[bool]:
    """The condition for a row of a case table to belong to the selected cases."""
    table = part.table
    if part.name == CASES_TABLE:
        return table.c.id.in_(selection.case_ids)
    if part.parent is not None:
        own, theirs = part.parent_link
        return table.c[own].in_(select(part.parent.table.c[theirs]).where(belongs(part.parent, selection)))
    return table.c.instance_id.in_(selection.case_ids)


def statement(part: TablePart, selection: Selection) -> Select | None:
    """The rows of one table an archive holds for `selection` (None: none at all)."""
    table = part.table
    query = select(*part.columns).order_by(*table.primary_key.columns)
    if part.kind == "reference":
        return query
    if part.kind == "version":
        cases = Base.metadata.tables[CASES_TABLE]
        return query.where(table.c.id.in_(select(cases.c.version_id).where(cases.c.id.in_(selection.case_ids))))
    if part.kind == "dated":
        if selection.period is None:
            return None
        return query.where(or_(*(_within(table.c[name], selection.period) for name in DATED_TABLES[part.name])))
    condition = belongs(part, selection)
    dated_by = UNATTACHED_ROWS_DATED_BY.get(part.name)
    if dated_by and selection.period is not None:
        condition = or_(condition, and_(table.c.instance_id.is_(None), _within(table.c[dated_by], selection.period)))
    return query.where(condition)


def _within(column, period: tuple[datetime, datetime]) -> ColumnElement[bool]:
    return and_(column >= period[0], column < period[1])
