"""SLA and service reports for a period, with charts drawn in the page (inline SVG), each table as CSV or
Excel, and the monthly review records of the review processes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import abort, render_template, request
from flask_babel import gettext as _

from engine.errors import NotFound
from engine.records import record_books
from engine.records.service_reports import ServiceReport, service_report
from engine.working_time.calendar import BUSINESS_TZ, beijing_day_start
from webapp.audit.area import blueprint
from webapp.audit.exports import FORMATS, table_response
from webapp.display import department_name, limit_source_name, now, pick, process_name
from webapp.runtime import directory, engine

MONTHLY_REVIEWS_BOOK = "monthly_reviews"
MAX_PERIOD_DAYS = 3 * 366


class PeriodError(ValueError):
    """A period the report cannot cover; the message says why."""


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _hours(value: float) -> float:
    return round(value, 1)


@dataclass(frozen=True)
class Table:
    """One report table: its title, column headers, rows (numbers as numbers), and which column the chart draws."""

    name: str
    title: str
    headers: list[str]
    rows: list[list]
    chart_column: int | None = None  # the value the bar chart shows
    chart_max: float | None = None  # a fixed top (100 for rates), else the largest value


def _tables(report: ServiceReport) -> list[Table]:
    people = directory().display_names({a.who for a in report.by_person})
    rate = _("Attainment (%)")
    return [
        Table("sla_by_department", _("Limits met by department"),
              [_("Department"), _("Limit set by"), _("Met"), _("Missed"), _("Total"), rate],
              [[department_name(a.who), limit_source_name(a.source), a.met, a.breached, a.total, _percent(a.rate)]
               for a in report.by_department], 5, 100),
        Table("sla_by_person", _("Limits met by person"),
              [_("Person"), _("Limit set by"), _("Met"), _("Missed"), _("Total"), rate],
              [[people.get(a.who, a.who), limit_source_name(a.source), a.met, a.breached, a.total, _percent(a.rate)]
               for a in report.by_person], 5, 100),
        Table("response_times", _("Response time by department (task created to completed)"),
              [_("Department"), _("Tasks completed"), _("Average (hours)"), _("Longest (hours)")],
              [[department_name(r.department), r.tasks, _hours(r.average_hours), _hours(r.longest_hours)]
               for r in report.response_times], 2),
        Table("case_durations", _("Case duration by process (started to completed)"),
              [_("Process"), _("Cases completed"), _("Average (hours)"), _("Longest (hours)")],
              [[process_name(r.process_key), r.cases, _hours(r.average_hours), _hours(r.longest_hours)]
               for r in report.case_durations], 2),
        Table("resolution", _("Resolution rate by process (cases started in the period)"),
              [_("Process"), _("Started"), _("Completed"), _("Cancelled"), _("Still open"), _("Resolved (%)")],
              [[process_name(r.process_key), r.started, r.completed, r.cancelled, r.running, _percent(r.rate)]
               for r in report.resolution], 5, 100),
        Table("satisfaction", _("Customer satisfaction (answers given in the period, 5-point scale)"),
              [_("Process"), _("Question"), _("Answers"), _("Average (of 5)")],
              [[process_name(s.process_key), pick(s.label, s.label_en), s.answers, round(s.average, 2)]
               for s in report.satisfaction], 3, 5),
    ]


def _period(args) -> tuple[date, date]:
    """The request's Beijing dates, both included; the current Beijing month by default."""
    today = now().astimezone(BUSINESS_TZ).date()
    first = today.replace(day=1)
    try:
        start = date.fromisoformat(args["start"]) if args.get("start") else first
    except ValueError:
        raise PeriodError(_("The period's start must be a date such as 2026-11-01, not “%(value)s”.",
                            value=args.get("start"))) from None
    try:
        # Without an end: to the end of the start's month.
        end = date.fromisoformat(args["end"]) if args.get("end") else (
            (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1))
    except ValueError:
        raise PeriodError(_("The period's end must be a date such as 2026-11-30, not “%(value)s”.",
                            value=args.get("end"))) from None
    if end < start:
        raise PeriodError(_("The period ends before it starts."))
    if (end - start).days > MAX_PERIOD_DAYS:
        raise PeriodError(_("A report covers at most three years."))
    return start, end


def _report(start: date, end: date) -> ServiceReport:
    return service_report(engine().db, beijing_day_start(start), beijing_day_start(end + timedelta(days=1)))


def _monthly_reviews():
    """The months with review reports (the record book's index), or None when the book is not kept."""
    handlers = engine().handlers
    if handlers.book(MONTHLY_REVIEWS_BOOK) is None:
        return None
    try:
        return record_books.open_book(engine().db, handlers, MONTHLY_REVIEWS_BOOK)
    except NotFound:
        return None


@blueprint.route("/reports")
def reports():
    try:
        start, end = _period(request.args)
    except PeriodError as err:
        return render_template("audit/reports.html", error=str(err), args=request.args, tables=[],
                               reviews=_monthly_reviews(), period=None, book=MONTHLY_REVIEWS_BOOK), 400
    tables = _tables(_report(start, end))
    return render_template("audit/reports.html", error=None, args=request.args, tables=tables,
                           period=(start, end), reviews=_monthly_reviews(), book=MONTHLY_REVIEWS_BOOK,
                           formats=FORMATS, chart=bar_chart)


@blueprint.route("/reports/export/<table>/<fmt>")
def report_export(table: str, fmt: str):
    if fmt not in FORMATS:
        abort(404)
    try:
        start, end = _period(request.args)
    except PeriodError as err:
        abort(400, str(err))
    found = {t.name: t for t in _tables(_report(start, end))}.get(table)
    if found is None:
        abort(404)
    return table_response(f"{table}_{start.isoformat()}_{end.isoformat()}", found.headers, found.rows, fmt,
                          sheet_title=table)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    label_width: int
    bar_area: int
    width: int


def bar_chart(table: Table, row_height: int = 24, label_width: int = 220, bar_area: int = 420) -> Chart | None:
    """Horizontal bars of the table's chart column, laid out here so the template only draws SVG."""
    if table.chart_column is None or not table.rows:
        return None
    values = [row[table.chart_column] for row in table.rows]
    labels = [" · ".join(str(v) for v in row[:2]) if table.name == "satisfaction" else str(row[0])
              for row in table.rows]
    top = table.chart_max or max((v for v in values if v is not None), default=0) or 1
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        number = value if value is not None else 0
        bars.append(Bar(label if len(label) <= 18 else label[:17] + "…", number,
                        "–" if value is None else f"{value:g}", index * row_height,
                        round(bar_area * min(number, top) / top, 1)))
    return Chart(bars, len(bars) * row_height, label_width, bar_area, label_width + bar_area + 60)

