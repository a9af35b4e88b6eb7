"""Process owners' area: processes and versions, the served bpmn.io modeller, upload, download, incidents."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.diagrams.catalog import DiagramError
from engine.errors import IncidentNotOpen, NotFound, StatedRule, Term
from engine.modelling.process_versions import list_process_versions, version_file
from engine.records import queries
from engine.runtime.engine_core import DeployResult
from webapp.access import may_model
from webapp.diagram_files import diagram_response
from webapp.display import process_name
from webapp.runtime import directory, engine

blueprint = Blueprint("modeler", __name__, url_prefix="/modeler")

# bpmn-js and its properties panel set element styles from script (style attributes): the modeller page
# alone allows inline styles; scripts stay 'self' only.
MODELLER_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; frame-ancestors 'none'")


@blueprint.before_request
@login_required
def process_owners_only():
    if not may_model(current_user):
        abort(403)
    return None


@blueprint.after_request
def modeller_styles(response: Response) -> Response:
    if g.get("modeller_page"):
        response.headers["Content-Security-Policy"] = MODELLER_CSP
    return response


@blueprint.route("/")
def processes():
    return _process_list()


def _process_list():
    """The list page (also shown again, with the error, after a refused upload)."""
    listed = list_process_versions(engine().db)
    people = directory().display_names({v.deployed_by for p in listed for v in p.versions})
    return render_template("modeler/processes.html", processes=listed, people=people)


@blueprint.route("/<process_key>/edit")
def edit(process_key: str):
    """The modeller on a version (the latest unless ?version=N), loaded from the download route."""
    version = request.args.get("version", type=int)
    stored = version_file(engine().db, process_key, version)
    if stored is None:
        abort(404)
    return _modeller(process_key, stored.version, url_for(".download", process_key=process_key, version=stored.version))


PROCESS_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")


@blueprint.route("/new")
def new_process():
    """Start a new process from a minimal diagram (start → end) once it has a key no process uses."""
    key, name = (request.args.get("key") or "").strip(), (request.args.get("name") or "").strip()
    if "key" not in request.args:
        return render_template("modeler/new.html", key="", name="", error=None)
    error = None
    if not PROCESS_KEY.fullmatch(key):
        error = _("The key is a letter followed by letters, digits or underscores (e.g. spare_parts_request).")
    elif version_file(engine().db, key) is not None:
        error = _("A process with the key %(key)s exists already: edit it from the list.", key=key)
    elif not name:
        error = _("Give the process a name.")
    if error:
        return render_template("modeler/new.html", key=key, name=name, error=error), 400
    return _modeller(key, None, url_for(".starter_diagram", key=key, name=name), name)


@blueprint.route("/new.bpmn")
def starter_diagram():
    """The minimal diagram a new process starts from; it deploys as it is."""
    key, name = request.args.get("key", ""), request.args.get("name", "")
    if not PROCESS_KEY.fullmatch(key):
        abort(404)
    xml = render_template("modeler/new_process.bpmn.xml", key=key, name=name)
    return diagram_response(xml.encode("utf-8"), f"{key}.bpmn")


def _modeller(process_key: str, version: int | None, diagram_url: str, title: str | None = None) -> str:
    """The modeller page (the only one whose styles may be set inline, see modeller_styles)."""
    g.modeller_page = True
    return render_template("modeler/edit.html", process_key=process_key, version=version, diagram_url=diagram_url,
                           title=title or process_name(process_key))


@blueprint.route("/<process_key>/versions/<int:version>.bpmn")
def download(process_key: str, version: int):
    """A version's file exactly as deployed; the modeller loads it from here too."""
    stored = version_file(engine().db, process_key, version)
    if stored is None:
        abort(404)
    return diagram_response(stored.bpmn, stored.filename)


@blueprint.route("/deploy", methods=["POST"])
def deploy():
    """The modeller's save: the request body is the diagram's XML as bpmn.io saved it."""
    filename = _safe_filename(request.args.get("filename") or "modeller.bpmn")
    try:
        result = engine().deploy(request.get_data(), current_user.username, filename)
    except DiagramError as err:
        # `problem` is the rule in English (as the CLI prints it), `message` in the page's language.
        return jsonify(ok=False, problem=err.problem, element_id=err.element_id,
                       message=deploy_error_message(err)), 400
    return jsonify(ok=True, process_key=result.process_key, version=result.version, created=result.created,
                   message=_deployed_message(result))


@blueprint.route("/upload", methods=["POST"])
def upload():
    """A .bpmn file from the desktop Camunda Modeler, deployed as it is (read as bytes, never decoded here)."""
    file = request.files.get("diagram")
    if file is None or not file.filename:
        flash(_("Choose a .bpmn file to upload."), "error")
        return _process_list(), 400
    filename = _safe_filename(file.filename)
    try:
        result = engine().deploy(file.read(), current_user.username, filename)
    except DiagramError as err:
        flash(_("%(file)s was not deployed: %(problem)s", file=filename, problem=deploy_error_message(err)), "error")
        return _process_list(), 400
    flash(_deployed_message(result), "success")
    return redirect(url_for(".processes"))


@blueprint.route("/incidents")
def incidents():
    return render_template("modeler/incidents.html", incidents=queries.list_incidents(engine().db))


@blueprint.route("/incidents/<int:incident_id>/retry", methods=["POST"])
def retry(incident_id: int):
    """Run the failed step (a handler, or a diagram element's code) again now and say how it went."""
    try:
        retried = engine().retry_incident(incident_id, current_user.username)
    except NotFound:
        abort(404)
    except IncidentNotOpen:
        flash(_("Incident %(id)d is no longer open.", id=incident_id), "warning")
        return redirect(url_for(".incidents"))
    if not retried:
        flash(_("Incident %(id)d was closed: the case no longer waits at this step.", id=incident_id), "warning")
    elif any(i.id == incident_id for i in queries.list_incidents(engine().db)):
        flash(_("Incident %(id)d: the step failed again.", id=incident_id), "error")
    else:
        flash(_("Incident %(id)d resolved: the step ran and the case went on.", id=incident_id), "success")
    return redirect(url_for(".incidents"))


def _deployed_message(result: DeployResult) -> str:
    if result.created:
        return _("Deployed %(process)s as version %(version)d.", process=result.process_key, version=result.version)
    return _("%(process)s is unchanged: it is the same as version %(version)d, nothing was deployed.",
             process=result.process_key, version=result.version)


def rule_text(rule: StatedRule) -> str:
    """A rule the engine states (an N_-marked English template and its parameters) in the user's language."""
    params = {name: _param_text(value) for name, value in rule.params.items()}
    return _(rule.template, **params) if params else _(rule.template)


def _param_text(value: object) -> object:
    if isinstance(value, StatedRule):
        return rule_text(value)
    if isinstance(value, Term):
        return _(str(value))
    return value


def deploy_error_message(err: DiagramError) -> str:
    """A refused deploy as the process owner reads it: the rule, then the element it is about."""
    if err.element_id:
        return _("%(problem)s (element %(element)s)", problem=rule_text(err), element=err.element_id)
    return rule_text(err)


def _safe_filename(name: str) -> str:
    """The file's base name as the audit event records it (no folders, no quotes)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable() and c not in "\"'<>")[:120] or "diagram.bpmn"
