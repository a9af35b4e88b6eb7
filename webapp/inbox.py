"""Department users' area: the inbox, the task page (claim, release, hand over, complete) and new cases."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.diagrams.forms import FormDefinition, InvalidForm
from engine.errors import (
    ConcurrencyConflict,
    HeadsOnly,
    NotAColleague,
    NotAMember,
    NotFound,
    NotPermitted,
    TaskClaimedByOther,
    TaskNotOpen,
)
from engine.records import queries
from engine.records.inbox import DUE_STATES, SORTS, InboxQuery, list_inbox
from webapp.access import may_audit, may_model, may_start, may_work, visible_departments
from webapp.display import department_name, local_time, now, processes
from webapp.runtime import directory, engine
from webapp.task_forms import readable_errors, submitted_values, widgets

blueprint = Blueprint("inbox", __name__)


@blueprint.before_request
@login_required
def signed_in_only():
    return None


@blueprint.route("/")
def home():
    """Each role lands where its work is: department users in their inbox, auditors on the case list,
    process owners on their processes."""
    if not current_user.departments:
        if may_audit(current_user):
            return redirect(url_for("audit.instances"))
        if may_model(current_user):
            return redirect(url_for("modeler.processes"))
    return redirect(url_for("inbox.index"))


@blueprint.route("/inbox")
def index():
    args = request.args
    view = args.get("view") if args.get("view") in ("mine", "department") else "mine"
    departments = visible_departments(current_user)
    department = args.get("department")
    if department:
        if department not in departments:
            abort(403, _("You can only see the tasks of your own departments."))
        departments = (department,)
    query = InboxQuery(
        departments=departments, now=now(),
        assignee=current_user.username if view == "mine" else None,
        unclaimed_only=view == "department" and args.get("unclaimed") == "1",
        process_key=args.get("process") or None, category=args.get("category") or None,
        due_state=args.get("due") if args.get("due") in DUE_STATES else None,
        search=(args.get("q") or "").strip()[:100] or None,
        sort=args.get("sort") if args.get("sort") in SORTS else "due",
        page=args.get("page", 1, type=int) or 1, per_page=current_app.config["INBOX_PAGE_SIZE"])
    page = list_inbox(engine().db, query)
    # Categories by process (each diagram names its own), only the chosen process's when one is chosen.
    categories = [(p.name, sorted(p.category_labels.items())) for key, p in processes().items()
                  if p.category_labels and query.process_key in (None, key)]
    return render_template("inbox/list.html", page=page, view=view, query=query, args=args,
                           departments=visible_departments(current_user), categories=categories,
                           process_choices=[(key, p.name) for key, p in processes().items()],
                           startable=[p for p in processes().values() if may_start(current_user, p)])


def _visible_task(task_id: int) -> queries.TaskView:
    task = queries.get_task(engine().db, task_id)
    if task is None:
        abort(404)
    if not may_work(current_user, task.department):
        abort(403, _("This task belongs to %(department)s; only its members may open it.",
                     department=department_name(task.department)))
    return task


@blueprint.route("/tasks/<int:task_id>")
def task(task_id: int):
    return _render_task(_visible_task(task_id))


def _render_task(task: queries.TaskView, values: dict | None = None, errors: dict | None = None,
                 status: int = 200):
    instance = queries.get_instance(engine().db, task.instance_id)
    shown_values = {**task.data, **(task.submitted or {}), **(values or {})}
    colleagues = [u for u in directory().colleagues(task.department) if u.username != task.claimed_by
                  and (not task.heads_only or u.departments.get(task.department) == "head")]
    heads = current_user.departments.get(task.department) == "head"
    # A task for the department head (candidateGroups "head:<code>"): members see it but may not work it.
    may_act = not task.heads_only or heads or current_user.has_role("admin")
    history = queries.audit_trail(engine().db, task.instance_id)
    mentioned = ({e.actor for e in history} | {task.claimed_by, task.completed_by}
                 | {e.detail.get("to") for e in history if e.kind == "task_handed_over"})
    people = directory().display_names(mentioned - {None})
    return render_template(
        "inbox/task.html", task=task, instance=instance, fields=widgets(task.form, shown_values, errors),
        errors=errors or {}, colleagues=colleagues, history=history, people=people,
        records=engine().case_records(task.instance_id),
        limits=queries.sla_records(engine().db, task.instance_id),
        may_complete=may_act and task.state == "open" and task.claimed_by in (None, current_user.username),
        heads=heads, may_act=may_act), status


@blueprint.route("/tasks/<int:task_id>/claim", methods=["POST"])
def claim(task_id: int):
    task = _visible_task(task_id)
    return _act(task, lambda: engine().claim_task(task_id, current_user.username), _("You now hold this task."),
                claimed_status=409)


@blueprint.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
def unclaim(task_id: int):
    task = _visible_task(task_id)
    return _act(task, lambda: engine().unclaim_task(task_id, current_user.username),
                _("The task is back in the department's list."))


@blueprint.route("/tasks/<int:task_id>/hand-over", methods=["POST"])
def hand_over(task_id: int):
    task = _visible_task(task_id)
    colleague = (request.form.get("to") or "").strip()
    return _act(task, lambda: engine().hand_over_task(task_id, current_user.username, colleague),
                _("The task was handed over to %(name)s.", name=colleague))


@blueprint.route("/tasks/<int:task_id>/complete", methods=["POST"])
def complete(task_id: int):
    task = _visible_task(task_id)
    values = submitted_values(task.form, request.form)
    try:
        stopped_at = engine().complete_task(task_id, current_user.username, values)
    except InvalidForm as invalid:
        return _render_task(task, values, readable_errors(invalid.errors, task.form), status=422)
    except (TaskNotOpen, TaskClaimedByOther, ConcurrencyConflict, NotPermitted, NotFound) as err:
        return _refused(task, err)
    if stopped_at:
        _flash_stopped(_("Task “%(name)s” completed and your entries were saved.", name=task.name), stopped_at)
    else:
        flash(_("Task “%(name)s” completed.", name=task.name), "success")
    return redirect(url_for("inbox.index"))


def _flash_stopped(done: str, elements: list[str]) -> None:
    """The user's step was kept, but the diagram failed after it: say so, and who deals with it."""
    flash(done + " " + _("The case then stopped at a step of the process diagram (%(elements)s) that could not run. "
                         "The process owner sees it as an incident and continues the case once the diagram is "
                         "corrected; you need not do anything.", elements="、".join(elements)), "warning")


def _act(task: queries.TaskView, command, done_message: str, claimed_status: int = 403):
    try:
        command()
    except (TaskNotOpen, TaskClaimedByOther, ConcurrencyConflict, NotAColleague, NotPermitted, NotFound) as err:
        return _refused(task, err, claimed_status)
    flash(done_message, "success")
    return redirect(url_for("inbox.task", task_id=task.id))


def _refused(task: queries.TaskView, err: Exception, claimed_status: int = 403):
    """A clear page for an action the engine refused; nothing was changed."""
    current = queries.get_task(engine().db, task.id) or task
    names = directory().display_names({current.claimed_by, current.completed_by} - {None})
    if isinstance(err, TaskNotOpen) and current.state == "completed":
        message, status = _("This task was already completed by %(who)s at %(when)s. Nothing was changed.",
                            who=names.get(current.completed_by, current.completed_by),
                            when=local_time(current.completed_at)), 409
    elif isinstance(err, TaskNotOpen):
        message, status = _("This task is no longer open (the case moved on). Nothing was changed."), 409
    elif isinstance(err, TaskClaimedByOther):
        message, status = _("%(who)s holds this task; only they or the department head may do that.",
                            who=names.get(current.claimed_by, current.claimed_by)), claimed_status
    elif isinstance(err, NotAColleague):
        message, status = _("A task can only be handed over to an active member of %(department)s.",
                            department=department_name(task.department)), 403
    elif isinstance(err, HeadsOnly):
        message, status = _("Only the head of %(department)s may work this task. Nothing was changed.",
                            department=department_name(task.department)), 403
    elif isinstance(err, NotAMember):
        message, status = _("Only active members of %(department)s may work this task. Nothing was changed; "
                            "ask the department head to hand it to a member.",
                            department=department_name(task.department)), 403
    elif isinstance(err, ConcurrencyConflict):
        message, status = _("Someone changed this case at the same moment. Nothing was saved; "
                            "reload the page and try again."), 409
    else:
        abort(404)
    return render_template("error.html", title=_("Not done"), message=message,
                           back=url_for("inbox.task", task_id=task.id)), status


@blueprint.route("/new")
def new_case():
    startable = [p for p in processes().values() if may_start(current_user, p)]
    return render_template("inbox/new.html", startable=startable)


@blueprint.route("/new/<process_key>", methods=["GET", "POST"])
def start_case(process_key: str):
    process = processes().get(process_key)
    if process is None:
        abort(404)
    if not may_start(current_user, process):
        abort(403, _("Only %(departments)s may start this process.",
                     departments="、".join(department_name(code) for code in process.starters) or "—"))
    values: dict = {}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = submitted_values(process.start_form, request.form)
        try:
            instance_id = engine().start_instance(process_key, values, current_user.username)
        except InvalidForm as invalid:
            errors, status = readable_errors(invalid.errors, process.start_form), 422
        else:
            instance = queries.get_instance(engine().db, instance_id)
            filed = _("%(process)s %(number)s filed.", process=process.name,
                      number=instance.business_key or f"#{instance_id}")
            stopped_at = [i.element_id for i in queries.list_incidents(engine().db, instance_id=instance_id)
                          if i.reason]
            if stopped_at:
                _flash_stopped(filed, stopped_at)
            else:
                flash(filed, "success")
            return redirect(url_for("inbox.index", view="department"))
    fields = widgets(process.start_form or FormDefinition([]).to_dict(), values, errors)
    return render_template("inbox/start.html", process=process, fields=fields, errors=errors), status
