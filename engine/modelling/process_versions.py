"""Read side for process owners: every deployed version of every process (who deployed it when, how many
cases still run on it) and a version's BPMN file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.storage.database import Database
from engine.storage.models import ProcessInstance, ProcessVersion


@dataclass(frozen=True)
class VersionView:
    """One immutable deployment of a process."""

    id: int
    process_key: str
    version: int
    name: str
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    running: int  # cases still running on this version


@dataclass(frozen=True)
class ProcessVersions:
    """A process with its versions, newest first."""

    process_key: str
    versions: tuple[VersionView, ...]

    @property
    def latest(self) -> VersionView:
        return self.versions[0]

    @property
    def name(self) -> str:
        return self.latest.name

    @property
    def running(self) -> int:
        return sum(v.running for v in self.versions)


@dataclass(frozen=True)
class VersionFile:
    """A version's BPMN file exactly as it was deployed."""

    process_key: str
    version: int
    bpmn: bytes

    @property
    def filename(self) -> str:
        return f"{self.process_key}_v{self.version}.bpmn"


def list_process_versions(db: Database, process_key: str | None = None) -> list[ProcessVersions]:
    """Every process (by key; one when given) with all its versions and the running cases per version."""
    running_query = (select(ProcessInstance.version_id, func.count())
                     .where(ProcessInstance.status == "running").group_by(ProcessInstance.version_id))
    version_query = select(ProcessVersion).order_by(ProcessVersion.process_key, ProcessVersion.version.desc())
    if process_key is not None:
        version_query = version_query.where(ProcessVersion.process_key == process_key)
    with db.sessions() as session:
        running = dict(session.execute(running_query).all())
        grouped: dict[str, list[VersionView]] = {}
        for row in session.scalars(version_query):
            grouped.setdefault(row.process_key, []).append(VersionView(
                row.id, row.process_key, row.version, row.name, row.content_hash, row.deployed_by, row.deployed_at,
                running.get(row.id, 0)))
    return [ProcessVersions(key, tuple(versions)) for key, versions in grouped.items()]


def version_file(db: Database, process_key: str, version: int | None = None) -> VersionFile | None:
    """The stored BPMN bytes of one version (the latest when `version` is None); None when there is none."""
    query = select(ProcessVersion.version, ProcessVersion.bpmn).where(ProcessVersion.process_key == process_key)
    if version is None:
        query = query.order_by(ProcessVersion.version.desc()).limit(1)
    else:
        query = query.where(ProcessVersion.version == version)
    with db.sessions() as session:
        row = session.execute(query).first()
    return VersionFile(process_key, row[0], bytes(row[1])) if row else None
