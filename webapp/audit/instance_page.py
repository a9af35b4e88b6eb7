"""One instance for an auditor: the diagram with the path taken, the timeline, the data after each step,
SLA records and incidents; the timeline as CSV/Excel."""
from __future__ import annotations

import re
from typing import Any

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _

from engine.records import case_history, queries
from engine.working_time.calendar import BUSINESS_TZ
from webapp.audit.area import blueprint
from webapp.audit.exports import FORMATS, table_response
from webapp.diagram_files import diagram_response
from webapp.display import event_label, pick
from webapp.runtime import directory, engine


def _header(instance_id: int) -> case_history.CaseHeader:
    header = case_history.case_header(engine().db, instance_id)
    if header is None:
        abort(404)
    return header


def _people(usernames: set[str | None]) -> dict[str, str]:
    return directory().display_names({u for u in usernames if u})


@blueprint.route("/instances/<int:instance_id>")
def instance(instance_id: int):
    header = _header(instance_id)
    db = engine().db
    timeline = case_history.case_timeline(db, instance_id)
    limits = queries.sla_records(db, instance_id=instance_id)
    incidents = queries.list_incidents(db, status=None, instance_id=instance_id)
    people = _people({header.started_by} | {s.actor for s in timeline} | {r.person for r in limits}
                     | {s.detail.get("to") for s in timeline if s.kind == "task_handed_over"})
    return render_template("audit/instance.html", case=header, timeline=timeline, limits=limits,
                           incidents=incidents, people=people, path=case_history.path_taken(db, instance_id),
                           field_label_of=lambda field_id: _field_label(header, field_id))


def _field_label(header: case_history.CaseHeader, field_id: str) -> str:
    label = header.field_labels.get(field_id)
    return pick(label[0], label[1]) if label else field_id


@blueprint.route("/instances/<int:instance_id>/diagram.bpmn")
def instance_diagram(instance_id: int):
    """The BPMN file of the version the case runs on, for the viewer."""
    xml = case_history.case_diagram(engine().db, instance_id)
    if xml is None:
        abort(404)
    return diagram_response(xml, f"case-{instance_id}.bpmn")


@blueprint.route("/instances/<int:instance_id>/marks.json")
def instance_marks(instance_id: int):
    """What the viewer marks: elements passed (with how often), where the case is, limits missed."""
    _header(instance_id)
    path = case_history.path_taken(engine().db, instance_id)
    return jsonify(passes=path.passes, active=list(path.active), breached=list(path.breached))


@blueprint.route("/instances/<int:instance_id>/timeline.<fmt>")
@blueprint.route("/instances/<int:instance_id>/timeline")
def instance_timeline(instance_id: int, fmt: str | None = None):
    """The audit timeline as a table to take away (CSV or Excel), times in Beijing time."""
    fmt = fmt or request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(404)
    header = _header(instance_id)
    timeline = case_history.case_timeline(engine().db, instance_id)
    people = _people({s.actor for s in timeline})
    headers = [_("Time (Beijing)"), _("Who"), _("User name"), _("What"), _("Element"), _("Element id"),
               _("Data submitted"), _("Case data after the step")]
    rows = [[step.at.astimezone(BUSINESS_TZ).replace(tzinfo=None), _actor(step.actor, people), step.actor,
             event_label(step.kind), header.element_names.get(step.element_id or "", step.element_id or ""),
             step.element_id or "", _submitted(step), step.data_after] for step in timeline]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"case-{header.business_key or header.id}-timeline")
    return table_response(name, headers, rows, fmt, sheet_title=_("Timeline"))


def _actor(username: str, people: dict[str, str]) -> str:
    return _("System") if username == "system" else people.get(username, username)


def _submitted(step: case_history.TimelineStep) -> Any:
    data = step.detail.get("data")
    return data if data else None
