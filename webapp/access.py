"""Who may see and do what in the inbox: department members work their departments' tasks; admins all."""
from __future__ import annotations

from engine.records.queries import ProcessSummary
from webapp.runtime import departments


def visible_departments(user) -> tuple[str, ...]:
    """Departments whose tasks the user sees (auditors and process owners without a department see none)."""
    if user.has_role("admin"):
        return tuple(departments())
    return tuple(sorted(user.departments))


def may_work(user, department: str) -> bool:
    return department in user.departments or user.has_role("admin")


def may_start(user, process: ProcessSummary) -> bool:
    """Members of the process's starter departments start its cases from the "new" page."""
    if process.start_form is None:
        return False
    return user.has_role("admin") or any(code in user.departments for code in process.starters)


def may_audit(user) -> bool:
    """Auditors (read-only) and admins see every case, its history and the reports."""
    return user.has_role("auditor") or user.has_role("admin")


def may_model(user) -> bool:
    """Process owners (and admins) edit, upload and deploy diagrams and retry incidents."""
    return user.has_role("process_owner") or user.has_role("admin")
