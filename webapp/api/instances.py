"""Cases: start one (a hotline or CRM files a complaint), read one with its tasks and limits, its audit events.

Auditors and admins read every case; department users the cases in which their department has a task, and
whoever started a case reads it."""
from __future__ import annotations

from dataclasses import asdict

from flask_smorest import Blueprint, abort

from engine.diagrams.forms import InvalidForm
from engine.errors import CaseDataError, NotFound, NotStartable, TaskRoutingError
from engine.records import api_reads, queries
from engine.records.queries import InstanceView
from webapp.access import may_audit, may_start
from webapp.api.auth import api_user, authenticate, forbid
from webapp.api.processes import find_process
from webapp.api.schemas import (
    MAX_ID,
    EventSchema,
    InstanceDetailSchema,
    InstanceListArgsSchema,
    InstanceSchema,
    ProblemSchema,
    StartInstanceSchema,
)
from webapp.runtime import engine

blueprint = Blueprint("instances", __name__, description="Cases (process instances) and their audit events")
blueprint.before_request(authenticate)


@blueprint.route("/processes/<process_key>/instances", methods=["POST"])
@blueprint.arguments(StartInstanceSchema)
@blueprint.response(201, InstanceSchema)
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
@blueprint.alt_response(404, schema=ProblemSchema)
@blueprint.alt_response(409, schema=ProblemSchema, description="the process starts on its schedule, not by hand")
@blueprint.alt_response(422, schema=ProblemSchema, description="the data does not fit the start form: field errors")
def start(body: dict, process_key: str):
    """Start a case of the latest version with the start form's data (members of its starter departments)."""
    process = find_process(process_key)
    user = api_user()
    if process.start_form is None:
        abort(409, message=f"Process '{process_key}' is not started by hand (it starts on its schedule "
                           "or from another process).")
    if not may_start(user, process):
        forbid(f"Only members of {', '.join(process.starters) or 'its starter departments'} start "
               f"'{process_key}' cases.")
    try:
        instance_id = engine().start_instance(process_key, body["data"], user.username,
                                              business_key=body.get("business_key"))
    except InvalidForm as invalid:
        abort(422, message="The data does not fit the start form; nothing was filed.", errors=invalid.errors)
    except NotStartable as err:
        abort(409, message=str(err))
    except NotFound as err:
        abort(404, message=str(err))
    except (CaseDataError, TaskRoutingError) as err:
        abort(422, message=str(err))
    return queries.get_instance(engine().db, instance_id)


@blueprint.route("/instances")
@blueprint.arguments(InstanceListArgsSchema, location="query")
@blueprint.response(200, InstanceSchema(many=True))
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
def instances(args: dict):
    """The latest cases, newest first (auditors and admins)."""
    if not may_audit(api_user()):
        forbid("Only auditors and admins list every case.")
    return queries.list_instances(engine().db, process_key=args["process"], limit=args["limit"])


def readable_instance(instance_id: int) -> InstanceView:
    instance = queries.get_instance(engine().db, instance_id) if instance_id <= MAX_ID else None
    if instance is None:
        abort(404, message=f"No case {instance_id}.")
    user = api_user()
    if not (may_audit(user) or api_reads.case_departments(engine().db, instance_id) & set(user.departments)
            or api_reads.case_starter(engine().db, instance_id) == user.username):
        forbid("Only auditors, admins, whoever started this case and the departments with a task in it read it.")
    return instance


@blueprint.route("/instances/<int:instance_id>")
@blueprint.response(200, InstanceDetailSchema)
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
@blueprint.alt_response(404, schema=ProblemSchema)
def instance(instance_id: int):
    """One case: its state, every task (open and done) and its limits."""
    found = readable_instance(instance_id)
    db = engine().db
    return {**asdict(found), "tasks": api_reads.case_tasks(db, instance_id),
            "sla": queries.sla_records(db, instance_id)}


@blueprint.route("/instances/<int:instance_id>/events")
@blueprint.response(200, EventSchema(many=True))
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
@blueprint.alt_response(404, schema=ProblemSchema)
def events(instance_id: int):
    """The case's audit events in order: who did what when, with the data submitted."""
    readable_instance(instance_id)
    return queries.audit_trail(engine().db, instance_id)
