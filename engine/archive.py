"""The records of a set of cases written to one ZIP file (the procedure P4 step 7 keeps every case for a
configured number of years): a period's export, or what a retention purge is about to delete.

Which table holds what is decided from the schema itself (Base.metadata), so a table added later is not
silently left out: a table with an `instance_id` column belongs to cases, a table with a foreign key to such
a table belongs to them through it, and every other table must be declared here (reference data, records not
tied to a case with the column that dates them, or never exported); `table_plan` refuses an undeclared one.

The file: manifest.json (what, when, by whom, versions, rows and SHA-256 of every member), one JSON-lines
file per table (`<table>.jsonl`, one row per line, datetimes ISO 8601 UTC), `case_index.jsonl` (one line per
case: when, process, customer, problem category) and the BPMN of every process
version the cases ran on (`bpmn/<process>-v<version>.bpmn`). Rows are streamed from the database, never
held in memory. Password hashes and API token hashes are never written.
"""
from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, and_, func, insert, inspect, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.types import JSON, Date, LargeBinary, Numeric, Time

from engine.calendar import BUSINESS_TZ, beijing_day_start
from engine.db import Base, Database, UtcDateTime

FORMAT = "aftersales-records/1"
MANIFEST = "manifest.json"
CASES_TABLE = "process_instances"
VERSIONS_TABLE = "process_versions"
CASE_INDEX, CASE_INDEX_FILE = "case_index", "case_index.jsonl"

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
    "login_events": ("at",),  # the sign-in log (engine/sign_in.py): kept, exported by the period it covers
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
    """Tables the archive would not know how to select: declare them in engine/archive.py."""


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
    from engine import calendar_store, models  # noqa: F401


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
            "tables neither exported nor declared reference data / not exported in engine/archive.py: "
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


def export_period(db: Database, now: datetime, first_day: date, last_day: date, path: Path,
                  actor: str) -> ArchiveSummary:
    """Write every case started on Beijing days first_day..last_day with all its rows, the records of the
    period not tied to a case, the process versions and the reference data to a new file `path`.

    Read in one transaction (on PostgreSQL a repeatable-read snapshot, so cases moving on meanwhile do not
    tear the file); written to `<path>.partial` and renamed when complete; an existing file is refused."""
    if last_day < first_day:
        raise ArchiveError(f"--to {last_day.isoformat()} is before --from {first_day.isoformat()}")
    path = Path(path)
    if path.exists():
        raise ArchiveError(f"{path} exists already; choose a new file")
    partial = path.with_name(path.name + ".partial")
    header = {"kind": "export", "period": {"from": first_day.isoformat(), "to": last_day.isoformat(),
                                           "timezone": str(BUSINESS_TZ)},
              "exported_at": now.astimezone(UTC).isoformat(), "by": actor}
    options = {"isolation_level": "REPEATABLE READ"} if db.is_postgresql else {}
    try:
        with db.engine.connect().execution_options(**options) as connection, connection.begin():
            summary = write_archive(connection, partial, cases_started_in(first_day, last_day), header)
        read_manifest(partial)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    summary.path = path
    return summary


# --- writing -------------------------------------------------------------------------------------------------

@dataclass
class ArchiveSummary:
    """What was written: rows per table, SHA-256 per member and of the whole file."""

    path: Path
    rows: dict[str, int]
    members: dict[str, str]
    sha256: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)


def write_archive(connection: Connection, path: Path, selection: Selection, header: dict[str, Any],
                  plan: TablePlan | None = None) -> ArchiveSummary:
    """Write the archive of `selection` read through `connection` (the caller's transaction) to `path`.

    `header` says what the archive is (kind, period or cut-off, exported_at, by); the manifest adds the
    versions, the tables and their row counts and the SHA-256 of every member."""
    plan = plan or table_plan()
    rows: dict[str, int] = {}
    members: dict[str, str] = {}
    kinds: dict[str, str] = {}
    with zipfile.ZipFile(path, "x", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for part in plan.parts:
            query = statement(part, selection)
            if query is None:
                continue
            digest, count = hashlib.sha256(), 0
            with archive.open(part.file, "w", force_zip64=True) as member:
                # Per statement: Connection.execution_options would change the caller's connection for good.
                result = connection.execute(query, execution_options={"yield_per": 1000})
                for row in result:
                    line = (json.dumps(_row_json(part, row._mapping), ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":")) + "\n").encode()
                    member.write(line)
                    digest.update(line)
                    count += 1
            rows[part.name], members[part.file], kinds[part.name] = count, digest.hexdigest(), part.kind
        rows[CASE_INDEX], members[CASE_INDEX_FILE] = _write_case_index(connection, archive, selection)
        kinds[CASE_INDEX] = "index"
        versions = Base.metadata.tables[VERSIONS_TABLE]
        version_query = statement(plan.part(VERSIONS_TABLE), selection).with_only_columns(
            versions.c.process_key, versions.c.version, versions.c.bpmn)
        for key, version, bpmn in connection.execute(version_query):
            name = f"bpmn/{key}-v{version}.bpmn"
            archive.writestr(name, bpmn)
            members[name] = hashlib.sha256(bpmn).hexdigest()
        manifest = {
            "format": FORMAT, **header,
            "app_version": _app_version(), "schema_version": _schema_version(connection),
            "database": connection.dialect.name,
            "tables": {name: {"kind": kinds[name], "rows": count, "file": f"{name}.jsonl"}
                       for name, count in rows.items()},
            "not_exported": {name: NOT_EXPORTED[name] for name in plan.not_exported},
            "secret_columns_left_out": {t: sorted(c) for t, c in SECRET_COLUMNS.items()},
            "members": members,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
    return ArchiveSummary(path, rows, members, file_sha256(path), manifest)


def _write_case_index(connection: Connection, archive: zipfile.ZipFile, selection: Selection) -> tuple[int, str]:
    """One line per case: when, which process, the customer and the problem category its tasks carried
    (the procedure files cases by time, customer type and problem type)."""
    cases = Base.metadata.tables[CASES_TABLE]
    tasks = Base.metadata.tables["human_tasks"]
    customer = (select(func.max(tasks.c.customer)).where(tasks.c.instance_id == cases.c.id)
                .scalar_subquery().label("customer"))
    category = (select(func.max(tasks.c.category)).where(tasks.c.instance_id == cases.c.id)
                .scalar_subquery().label("category"))
    query = (select(cases.c.id, cases.c.process_key, cases.c.business_key, cases.c.status, cases.c.started_at,
                    cases.c.ended_at, customer, category)
             .where(cases.c.id.in_(selection.case_ids)).order_by(cases.c.started_at, cases.c.id))
    digest, count = hashlib.sha256(), 0
    with archive.open(CASE_INDEX_FILE, "w", force_zip64=True) as member:
        for row in connection.execute(query, execution_options={"yield_per": 1000}):
            line = (json.dumps({k: _json_value(v) for k, v in row._mapping.items()}, ensure_ascii=False,
                               sort_keys=True, separators=(",", ":")) + "\n").encode()
            member.write(line)
            digest.update(line)
            count += 1
    return count, digest.hexdigest()


def _row_json(part: TablePart, row) -> dict[str, Any]:
    return {column.name: _json_value(row[column.name]) for column in part.columns}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _app_version() -> str:
    try:
        return package_metadata.version("aftersales")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def _schema_version(connection: Connection) -> str | None:
    """The Alembic revision of the database, when it is managed by Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- reading back --------------------------------------------------------------------------------------------

def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an archive after checking every member against its SHA-256 and every table file
    against its row count; ArchiveError says which does not match."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            names = set(archive.namelist()) - {MANIFEST}
            if names != set(manifest["members"]):
                raise ArchiveError(f"{path}: members {sorted(names ^ set(manifest['members']))} differ from the "
                                   "manifest")
            lines: dict[str, int] = {}
            for name, expected in manifest["members"].items():
                digest, count = hashlib.sha256(), 0
                with archive.open(name) as member:
                    for line in member:
                        digest.update(line)
                        count += 1
                if digest.hexdigest() != expected:
                    raise ArchiveError(f"{path}: {name} does not match its SHA-256 in the manifest")
                lines[name] = count
            for entry in manifest["tables"].values():
                if lines[entry["file"]] != entry["rows"]:
                    raise ArchiveError(f"{path}: {entry['file']} holds {lines[entry['file']]} rows, the manifest "
                                       f"says {entry['rows']}")
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise ArchiveError(f"{path} is not a readable records archive: {err}") from err
    return manifest


def read_rows(path: Path, table: str) -> Iterator[dict[str, Any]]:
    """The rows of one table as written (JSON values), streamed."""
    with zipfile.ZipFile(path) as archive, archive.open(f"{table}.jsonl") as member:
        for line in member:
            yield json.loads(line)


def restore_cases(db: Database, path: Path) -> dict[str, int]:
    """Put the cases of an archive (e.g. one a purge wrote) back into the database, with every row that
    belongs to them and the process versions they ran on if missing; refuses when one of its cases is
    still there. Returns the rows inserted per table."""
    manifest = read_manifest(path)
    plan = table_plan()
    restored: dict[str, int] = {}
    with db.changing() as connection:
        cases = Base.metadata.tables[CASES_TABLE]
        ids = [row["id"] for row in read_rows(path, CASES_TABLE)]
        for start in range(0, len(ids), 500):
            present = connection.execute(select(cases.c.id).where(cases.c.id.in_(ids[start:start + 500]))).first()
            if present is not None:
                raise ArchiveError(f"case {present.id} of {path} is in the database already; nothing restored")
        versions = Base.metadata.tables[VERSIONS_TABLE]
        have = set(connection.scalars(select(versions.c.id)))
        for part in plan.parts:
            entry = manifest["tables"].get(part.name)
            if entry is None or part.kind not in ("case", "version"):
                continue
            batch: list[dict[str, Any]] = []
            count = 0
            for row in read_rows(path, part.name):
                if part.kind == "version" and row["id"] in have:
                    continue
                batch.append(_typed_row(part, row))
                count += 1
                if len(batch) == 500:
                    connection.execute(insert(part.table), batch)
                    batch = []
            if batch:
                connection.execute(insert(part.table), batch)
            restored[part.name] = count
            if count and db.is_postgresql:
                _sequence_past_restored_ids(connection, part.table)
    return restored


def _sequence_past_restored_ids(connection: Connection, table: Table) -> None:
    """PostgreSQL: rows inserted with their ids leave the id sequence alone; move it past them (never back)."""
    if "id" not in table.c or not table.c.id.primary_key:
        return
    sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name})
    if sequence:
        connection.execute(text(f"SELECT setval('{sequence}', GREATEST((SELECT max(id) FROM {table.name}), "
                                f"(SELECT last_value FROM {sequence})))"))


def _typed_row(part: TablePart, row: dict[str, Any]) -> dict[str, Any]:
    typed = {}
    for column in part.columns:
        value = row.get(column.name)
        if value is not None and not isinstance(column.type, JSON):
            kind = column.type
            if isinstance(kind, UtcDateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(kind, Date):
                value = date.fromisoformat(value)
            elif isinstance(kind, Time):
                value = time.fromisoformat(value)
            elif isinstance(kind, Numeric) and kind.asdecimal:
                value = Decimal(value)
            elif isinstance(kind, LargeBinary):
                value = base64.b64decode(value)
        typed[column.name] = value
    return typed
