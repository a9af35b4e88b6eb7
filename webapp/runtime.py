"""The running app's engine and directory as request code reaches them, and what pages may keep between
requests: deployed versions (immutable) and the department names (re-read every minute)."""
from __future__ import annotations

import time

from flask import current_app

from engine.accounts.directory import DepartmentView, Directory
from engine.records import queries
from engine.runtime.workflow_engine import WorkflowEngine

DEPARTMENTS_TTL_SECONDS = 60


def engine() -> WorkflowEngine:
    return current_app.extensions["aftersales.engine"]


def directory() -> Directory:
    return current_app.extensions["aftersales.directory"]


def latest_processes() -> dict[str, queries.ProcessSummary]:
    """The latest version of every deployed process; a version is read once, then kept (it never changes)."""
    kept: dict[int, queries.ProcessSummary] = current_app.extensions.setdefault("aftersales.versions", {})
    result = {}
    for process_key, version_id in sorted(queries.latest_versions(engine().db).items()):
        summary = kept.get(version_id)
        if summary is None:
            summary = kept[version_id] = queries.process_summary(engine().db, version_id)
        result[process_key] = summary
    return result


def departments() -> dict[str, DepartmentView]:
    cached = current_app.extensions.get("aftersales.departments")
    if cached is None or time.monotonic() - cached[0] > DEPARTMENTS_TTL_SECONDS:
        cached = (time.monotonic(), {d.code: d for d in directory().departments()})
        current_app.extensions["aftersales.departments"] = cached
    return cached[1]
