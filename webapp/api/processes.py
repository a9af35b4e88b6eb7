"""Deployed processes and their versions: list, one, download a version's BPMN, deploy a new version."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from engine.diagrams.catalog import DiagramError
from engine.modelling import process_versions
from engine.records.queries import ProcessSummary
from webapp.access import may_audit, may_model, may_start
from webapp.api.auth import api_user, authenticate, forbid
from webapp.api.schemas import (
    MAX_ID,
    DeployArgsSchema,
    DeployResultSchema,
    ProblemSchema,
    ProcessDetailSchema,
    ProcessSchema,
)
from webapp.diagram_files import diagram_response
from webapp.modeler import deploy_error_message
from webapp.runtime import engine, latest_processes

blueprint = Blueprint("processes", __name__, description="Deployed processes (BPMN diagrams) and their versions")
blueprint.before_request(authenticate)

MAX_DIAGRAM_BYTES = 5 * 1024 * 1024
BPMN_BODY = {"required": True, "description": "the .bpmn file as the modeller saved it",
             "content": {"application/xml": {"schema": {"type": "string"}},
                         "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


def process_json(process: ProcessSummary) -> dict:
    return {"process_key": process.process_key, "name": process.name, "latest_version": process.version,
            "starters": list(process.starters), "startable": may_start(api_user(), process),
            "start_form": process.start_form}


def find_process(process_key: str) -> ProcessSummary:
    process = latest_processes().get(process_key)
    if process is None:
        abort(404, message=f"No process '{process_key}' is deployed.")
    return process


@blueprint.route("")
class Processes(MethodView):
    @blueprint.response(200, ProcessSchema(many=True))
    @blueprint.alt_response(401, schema=ProblemSchema)
    def get(self):
        """The latest version of every deployed process, and whether the caller may start its cases."""
        return [process_json(p) for p in latest_processes().values()]

    @blueprint.arguments(DeployArgsSchema, location="query")
    @blueprint.doc(requestBody=BPMN_BODY)
    @blueprint.response(201, DeployResultSchema)
    @blueprint.alt_response(200, schema=DeployResultSchema, description="the same file was deployed before")
    @blueprint.alt_response(400, schema=ProblemSchema, description="the diagram was refused; nothing was stored")
    @blueprint.alt_response(401, schema=ProblemSchema)
    @blueprint.alt_response(403, schema=ProblemSchema)
    @blueprint.alt_response(413, schema=ProblemSchema)
    def post(self, args):
        """Deploy a BPMN file as a new version (process owners and admins); refused diagrams store nothing.

        The same file again creates no version: 200 with created false."""
        user = api_user()
        if not may_model(user):
            forbid("Only process owners and admins deploy diagrams.")
        if (request.content_length or 0) > MAX_DIAGRAM_BYTES:
            abort(413, message=f"A diagram may be at most {MAX_DIAGRAM_BYTES // (1024 * 1024)} MB.")
        raw = request.get_data()
        if not raw.strip():
            abort(400, message="Send the BPMN file as the request body.")
        try:
            result = engine().deploy(raw, user.username, filename=args["filename"])
        except DiagramError as err:
            # The rule in the caller's language (Chinese unless English is chosen); errors.problem in English.
            abort(400, message=deploy_error_message(err), errors={"element_id": err.element_id, "problem": err.problem},
                  element_id=err.element_id)
        body = {"process_key": result.process_key, "version": result.version, "created": result.created}
        return body, 201 if result.created else 200


@blueprint.route("/<process_key>")
@blueprint.response(200, ProcessDetailSchema)
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(404, schema=ProblemSchema)
def process(process_key: str):
    """One process: its latest version, start form and every deployed version."""
    found = find_process(process_key)
    listed = process_versions.list_process_versions(engine().db, process_key)
    return {**process_json(found), "versions": listed[0].versions if listed else ()}


@blueprint.route("/<process_key>/versions/<int:version>/bpmn")
@blueprint.doc(responses={"200": {"description": "the BPMN file of that version, as deployed",
                                  "content": {"application/xml": {"schema": {"type": "string"}}}}})
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
@blueprint.alt_response(404, schema=ProblemSchema)
def version_file(process_key: str, version: int):
    """Download a deployed version's diagram (process owners, auditors and admins)."""
    user = api_user()
    if not (may_model(user) or may_audit(user)):
        forbid("Only process owners, auditors and admins download diagrams.")
    valid = version <= MAX_ID and "\x00" not in process_key
    found_file = process_versions.version_file(engine().db, process_key, version) if valid else None
    if found_file is None:
        abort(404, message=f"No version {version} of process '{process_key}'.")
    return diagram_response(found_file.bpmn, found_file.filename)
