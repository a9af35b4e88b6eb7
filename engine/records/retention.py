"""Retention (procedure P4 step 7): records are kept `retention_years` (AFTERSALES_RETENTION_YEARS); after
that, finished cases may be purged with every row that belongs to them, the audit events included (the
only way the append-only audit log ever loses a row). A purge first writes the archive of exactly what it
deletes, reads it back, and deletes in one transaction: a failure anywhere leaves everything as it was."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from engine.clock import Clock
from engine.errors import EngineError
from engine.records import archive, archive_plan, archive_restore
from engine.storage.base import Base
from engine.storage.database import Database
from engine.working_time.calendar import BUSINESS_TZ, beijing_day_start

FINISHED = ("completed", "cancelled")
PURGE_EVENT = "records_purged"


class RetentionRefused(EngineError):
    """A purge that would delete records still inside the retention period, or would overwrite a file."""


def latest_allowed_cut_off(now: datetime, retention_years: int) -> date:
    """The latest --before date: today (Beijing) `retention_years` years ago (29 Feb → 28 Feb)."""
    today = now.astimezone(BUSINESS_TZ).date()
    try:
        return today.replace(year=today.year - retention_years)
    except ValueError:
        return today.replace(year=today.year - retention_years, day=28)


def finished_before(cut_off: date) -> archive_plan.Selection:
    """The cases that ended (completed or cancelled) before the Beijing day `cut_off` began."""
    cases = Base.metadata.tables[archive_plan.CASES_TABLE]
    return archive_plan.Selection(select(cases.c.id).where(cases.c.status.in_(FINISHED),
                                                      cases.c.ended_at < beijing_day_start(cut_off)))


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted (or, on a dry run, would delete): rows per table; the archive when written."""

    cut_off: date
    rows: dict[str, int]
    archive_path: Path | None = None
    archive_sha256: str | None = None
    dry_run: bool = True

    @property
    def cases(self) -> int:
        return self.rows.get(archive_plan.CASES_TABLE, 0)


def check_cut_off(cut_off: date, now: datetime, retention_years: int) -> None:
    """RetentionRefused when `cut_off` would purge a case that ended within the retention period."""
    latest = latest_allowed_cut_off(now, retention_years)
    if cut_off > latest:
        raise RetentionRefused(
            f"records are kept {retention_years} years (AFTERSALES_RETENTION_YEARS={retention_years}): the latest "
            f"cut-off allowed today is {latest.isoformat()}, not {cut_off.isoformat()}; nothing was deleted")


def purge_counts(db: Database, cut_off: date) -> dict[str, int]:
    """Rows per table a purge before `cut_off` deletes (tables with none left out)."""
    plan = archive_plan.table_plan()
    selection = finished_before(cut_off)
    with db.engine.connect() as connection:
        return _counts(connection, plan, selection)


def _counts(connection, plan: archive_plan.TablePlan, selection: archive_plan.Selection) -> dict[str, int]:
    counts = {}
    for part in plan.case_parts:
        count = connection.scalar(select(func.count()).select_from(part.table).where(archive_plan.belongs(part, selection)))
        if count:
            counts[part.name] = count
    return counts


def purge(db: Database, clock: Clock, retention_years: int, cut_off: date, archive_path: Path, actor: str,
          dry_run: bool = False) -> PurgeResult:
    """Delete the cases finished before `cut_off` with every row of theirs, after writing them to
    `archive_path` and reading it back; a dry run only counts. Refused within the retention period, and
    when the archive file exists already (an earlier archive is never overwritten)."""
    now = clock.now()
    check_cut_off(cut_off, now, retention_years)
    archive_path = Path(archive_path)
    if archive_path.exists():
        raise RetentionRefused(f"{archive_path} exists already; choose a new archive file (nothing was deleted)")
    if dry_run:
        return PurgeResult(cut_off, purge_counts(db, cut_off))
    plan = archive_plan.table_plan()
    selection = finished_before(cut_off)
    partial = archive_path.with_name(archive_path.name + ".partial")
    try:
        with db.changing() as connection:
            counts = _counts(connection, plan, selection)
            if not counts:
                return PurgeResult(cut_off, {}, dry_run=False)
            header = {"kind": "purge", "cut_off": cut_off.isoformat(), "exported_at": now.isoformat(), "by": actor,
                      "retention_years": retention_years}
            summary = archive.write_archive(connection, partial, selection, header, plan)
            manifest = archive_restore.read_manifest(partial)
            archived = {name: entry["rows"] for name, entry in manifest["tables"].items()
                        if entry["kind"] == "case" and entry["rows"]}
            if archived != counts:
                raise archive_plan.ArchiveError(f"the archive holds {archived}, the database {counts}; nothing deleted")
            deleted = _delete(connection, plan, selection)
            if deleted != counts:
                raise archive_plan.ArchiveError(f"deleting removed {deleted} rows, the archive holds {counts}; "
                                           "nothing deleted")
            connection.execute(insert(Base.metadata.tables["audit_events"]).values(
                instance_id=None, at=now, kind=PURGE_EVENT, actor=actor, element_id=None,
                detail=_event_detail(cut_off, retention_years, counts, archive_path, summary.sha256)))
            os.replace(partial, archive_path)
    except BaseException:
        # Ours alone (an existing file was refused above): gone unless the commit itself went through.
        partial.unlink(missing_ok=True)
        if archive_path.exists() and not _committed(db, _sha_or_none(archive_path)):
            archive_path.unlink(missing_ok=True)
        raise
    return PurgeResult(cut_off, counts, archive_path, summary.sha256, dry_run=False)


def _delete(connection, plan: archive_plan.TablePlan, selection: archive_plan.Selection) -> dict[str, int]:
    """Children before parents; the cases themselves last, since every other condition selects by them."""
    deleted = {}
    parts = [p for p in reversed(plan.case_parts) if p.name != archive_plan.CASES_TABLE]
    for part in [*parts, plan.part(archive_plan.CASES_TABLE)]:
        count = connection.execute(delete(part.table).where(archive_plan.belongs(part, selection))).rowcount
        if count:
            deleted[part.name] = count
    return deleted


def _event_detail(cut_off: date, retention_years: int, counts: dict[str, int], path: Path,
                  sha256: str) -> dict[str, Any]:
    return {"cut_off": cut_off.isoformat(), "retention_years": retention_years, "cases": counts[archive_plan.CASES_TABLE],
            "rows": counts, "archive": path.name, "archive_sha256": sha256}


def _sha_or_none(path: Path) -> str | None:
    try:
        return archive.file_sha256(path)
    except OSError:
        return None


def _committed(db: Database, sha256: str | None) -> bool:
    """Whether a purge with this archive was committed (its audit event exists)."""
    if sha256 is None:
        return False
    events = Base.metadata.tables["audit_events"]
    with db.engine.connect() as connection:
        return any(detail.get("archive_sha256") == sha256 for detail in connection.scalars(
            select(events.c.detail).where(events.c.kind == PURGE_EVENT)))
