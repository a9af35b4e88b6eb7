"""Department tasks: the caller's departments' tasks, one task, claim, release, complete with the form data.

The same rules as the inbox: members of a task's department (and admins) work it; a task for the head of a
department ("head:<code>") only its heads; a task held by someone else is theirs until released."""
from __future__ import annotations

from dataclasses import asdict
from typing import NoReturn

from flask import request
from flask_smorest import Blueprint, abort

from engine.diagrams.forms import InvalidForm
from engine.errors import (
    CaseDataError,
    ConcurrencyConflict,
    HeadsOnly,
    NotAMember,
    NotFound,
    NotPermitted,
    TaskClaimedByOther,
    TaskNotOpen,
    TaskRoutingError,
)
from engine.records import api_reads, queries
from engine.records.inbox import InboxQuery, list_inbox
from webapp.access import may_work, visible_departments
from webapp.api.auth import api_user, authenticate, forbid
from webapp.api.schemas import (
    MAX_ID,
    ProblemSchema,
    TaskDetailSchema,
    TaskListArgsSchema,
    TaskPageSchema,
    contains_nul,
)
from webapp.runtime import engine

blueprint = Blueprint("tasks", __name__, description="Department tasks: list, claim, release, complete")
blueprint.before_request(authenticate)

FORM_BODY = {"required": True, "description": "the task form's fields, by field id",
             "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}
REFUSALS = (
    (401, None), (403, "heads-only task, or not the caller's department"), (404, None),
    (409, "already completed, no longer open, held by someone else, or changed at the same moment"),
)


def _document_refusals(view):
    for code, description in REFUSALS:
        view = blueprint.alt_response(code, schema=ProblemSchema, description=description)(view)
    return view


@blueprint.route("")
@blueprint.arguments(TaskListArgsSchema, location="query")
@blueprint.response(200, TaskPageSchema)
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
def tasks(args: dict):
    """Tasks of the caller's departments (view=department) or held by the caller (view=mine), due first."""
    user = api_user()
    departments = visible_departments(user)
    if args["department"]:
        if args["department"] not in departments:
            forbid("You can only see the tasks of your own departments.")
        departments = (args["department"],)
    assignee = user.username if args["view"] == "mine" else None
    if args["state"] != "open":
        rows, total = api_reads.closed_tasks(engine().db, departments, args["state"], assignee,
                                             args["page"], args["per_page"])
        return {"items": rows, "total": total, "page": args["page"], "per_page": args["per_page"]}
    page = list_inbox(engine().db, InboxQuery(
        departments=departments, now=engine().clock.now(), assignee=assignee, process_key=args["process"],
        due_state=args["due"], search=args["q"], sort=args["sort"], page=args["page"], per_page=args["per_page"]))
    return {"items": [{**asdict(row), "state": "open"} for row in page.rows], "total": page.total,
            "page": page.page, "per_page": page.per_page}


def workable_task(task_id: int) -> queries.TaskView:
    task = queries.get_task(engine().db, task_id) if task_id <= MAX_ID else None
    if task is None:
        abort(404, message=f"No task {task_id}.")
    if not may_work(api_user(), task.department):
        forbid(f"Task {task_id} belongs to department '{task.department}'; only its members may open it.")
    return task


def _refused(task_id: int, err: Exception) -> NoReturn:
    """The engine refused; nothing was changed. Say why with the status a client can act on."""
    current = queries.get_task(engine().db, task_id)
    if isinstance(err, TaskNotOpen) and current is not None and current.state == "completed":
        abort(409, message=f"Task {task_id} was already completed by {current.completed_by} at "
                           f"{current.completed_at.isoformat()}. Nothing was changed.")
    if isinstance(err, (TaskNotOpen, TaskClaimedByOther, ConcurrencyConflict)):
        abort(409, message=f"{err} Nothing was changed.")
    if isinstance(err, (HeadsOnly, NotAMember)):
        abort(403, message=f"{err} Nothing was changed.")
    if isinstance(err, NotFound):
        abort(404, message=str(err))
    abort(422, message=str(err))
    raise AssertionError("abort raises")


@blueprint.route("/<int:task_id>")
@blueprint.response(200, TaskDetailSchema)
@_document_refusals
def task(task_id: int):
    """One task with its form (as the diagram defines it) and the case data it shows."""
    return workable_task(task_id)


@blueprint.route("/<int:task_id>/claim", methods=["POST"])
@blueprint.response(200, TaskDetailSchema)
@_document_refusals
def claim(task_id: int):
    """Hold the task so colleagues see who works it."""
    workable_task(task_id)
    try:
        engine().claim_task(task_id, api_user().username)
    except (TaskNotOpen, TaskClaimedByOther, ConcurrencyConflict, NotPermitted, NotFound) as err:
        _refused(task_id, err)
    return queries.get_task(engine().db, task_id)


@blueprint.route("/<int:task_id>/unclaim", methods=["POST"])
@blueprint.response(200, TaskDetailSchema)
@_document_refusals
def unclaim(task_id: int):
    """Give the task back to the department's list (its holder or the department head)."""
    workable_task(task_id)
    try:
        engine().unclaim_task(task_id, api_user().username)
    except (TaskNotOpen, TaskClaimedByOther, ConcurrencyConflict, NotPermitted, NotFound) as err:
        _refused(task_id, err)
    return queries.get_task(engine().db, task_id)


@blueprint.route("/<int:task_id>/complete", methods=["POST"])
@blueprint.doc(requestBody=FORM_BODY)
@blueprint.response(200, TaskDetailSchema)
@blueprint.alt_response(422, schema=ProblemSchema, description="the data does not fit the form: field errors")
@_document_refusals
def complete(task_id: int):
    """Submit the task's form; invalid data comes back with field errors and changes nothing."""
    workable_task(task_id)
    submitted = request.get_json(silent=True)
    if not isinstance(submitted, dict):
        abort(422, message="Send the form data as a JSON object (field id -> value).")
    if contains_nul(submitted):
        abort(422, message="The form data must not contain NUL characters.")
    try:
        engine().complete_task(task_id, api_user().username, submitted)
    except InvalidForm as invalid:
        abort(422, message="The data does not fit the task's form; nothing was changed.", errors=invalid.errors)
    except (TaskNotOpen, TaskClaimedByOther, ConcurrencyConflict, NotPermitted, NotFound, CaseDataError,
            TaskRoutingError) as err:
        _refused(task_id, err)
    return queries.get_task(engine().db, task_id)
