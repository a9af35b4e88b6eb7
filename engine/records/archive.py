"""The records of a set of cases written to one ZIP file (the procedure P4 step 7 keeps every case for a
configured number of years): a period's export, or what a retention purge is about to delete.

Which rows belong to the cases is engine.records.archive_plan's; putting an archive's cases back is
engine.records.archive_restore's.

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
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection

from engine.records.archive_plan import (
    CASES_TABLE,
    NOT_EXPORTED,
    SECRET_COLUMNS,
    VERSIONS_TABLE,
    ArchiveError,
    Selection,
    TablePart,
    TablePlan,
    cases_started_in,
    statement,
    table_plan,
)
from engine.storage.base import Base
from engine.storage.database import Database
from engine.working_time.calendar import BUSINESS_TZ

FORMAT = "aftersales-records/1"
MANIFEST = "manifest.json"
CASE_INDEX, CASE_INDEX_FILE = "case_index", "case_index.jsonl"

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
