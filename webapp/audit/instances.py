"""The auditors' instance list: filter by process, version, status, department, start date, SLA state and
number/customer; newest first, in pages; each row opens the instance page."""
from __future__ import annotations

from datetime import date

from flask import current_app, render_template, request
from flask_babel import gettext as _

from engine.records import case_search
from engine.records.case_search import CaseQuery, CaseSearchError
from webapp.audit.area import blueprint
from webapp.audit.filters import filter_day, filter_number
from webapp.runtime import departments, engine

FILTER_ARGS = ("process", "version", "status", "department", "start", "end", "sla", "q")


def _date(value: str, what: str) -> date | None:
    return filter_day(value, what, CaseSearchError)


def _number(value: str, what: str) -> int | None:
    return filter_number(value, what, CaseSearchError)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _query(args) -> CaseQuery:
    """The request's filters as a query; CaseSearchError with a message for the page on a bad value."""
    status = args.get("status") or None
    if status and status not in case_search.STATUSES:
        raise CaseSearchError(_("Unknown status “%(value)s”.", value=status))
    sla = args.get("sla") or None
    if sla and sla not in case_search.SLA_STATES:
        raise CaseSearchError(_("Unknown SLA state “%(value)s”.", value=sla))
    department = args.get("department") or None
    if department and department not in departments():
        raise CaseSearchError(_("Unknown department “%(value)s”.", value=department))
    query = CaseQuery(
        process_key=args.get("process") or None, version=_number(args.get("version", ""), _("Version")),
        status=status, department=department,
        started_from=_date(args.get("start", ""), _("Started from")), started_to=_date(args.get("end", ""), _("Started to")),
        sla=sla, search=(args.get("q") or "").strip()[:100] or None,
        page=_or(_number(args.get("page", ""), _("Page")), 1),
        per_page=_or(_number(args.get("per_page", ""), _("Page size")), current_app.config.get("AUDIT_PAGE_SIZE", 25)))
    if query.version is not None and not query.process_key:
        raise CaseSearchError(_("A version belongs to a process: choose the process too."))
    if query.started_from and query.started_to and query.started_from > query.started_to:
        raise CaseSearchError(_("The start of the date range is after its end."))
    if query.page < 1 or query.per_page < 1:
        raise CaseSearchError(_("Page and page size count from 1."))
    return query


@blueprint.route("/instances")
def instances():
    args = request.args
    choices = case_search.process_versions(engine().db)
    error = page = None
    try:
        query = _query(args)
        versions = {c.process_key: c.versions for c in choices}
        if query.process_key and query.process_key not in versions:
            raise CaseSearchError(_("No process “%(value)s” is deployed.", value=query.process_key))
        if query.version is not None and query.version not in versions[query.process_key]:
            raise CaseSearchError(_("This process has no version %(version)d.", version=query.version))
        page = case_search.search_cases(engine().db, query)
    except CaseSearchError as err:
        error = str(err)
    kept = {key: args[key] for key in (*FILTER_ARGS, "per_page") if args.get(key)}
    return render_template("audit/instances.html", page=page, error=error, args=args, kept=kept,
                           choices=choices, statuses=case_search.STATUSES,
                           departments=departments()), (400 if error else 200)
