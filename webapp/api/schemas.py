"""Marshmallow schemas of the API: what goes in and what comes out, and the OpenAPI document's components."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.diagrams.forms import UNSTORABLE_MESSAGE
from engine.records.inbox import DUE_STATES, SORTS
from engine.storage.storable_text import holds_unstorable_text

MAX_ID = 2**31 - 1  # ids are 32-bit integers in every supported database
TASK_STATES = ("open", "completed", "cancelled")


# Text with a NUL character or a lone surrogate cannot be stored (engine.storage.storable_text): a clear 422, not a 500.
contains_nul = holds_unstorable_text


def no_nul(value: Any) -> None:
    if holds_unstorable_text(value):
        raise ValidationError(UNSTORABLE_MESSAGE)


def Text(**kwargs) -> fields.String:  # noqa: N802 - a field factory, named like the fields it builds
    checks = [no_nul] + ([kwargs.pop("validate")] if "validate" in kwargs else [])
    return fields.String(validate=checks, **kwargs)


class ProblemSchema(Schema):
    """Every error: HTTP code and name, a message, and field errors for 422 (field id -> messages)."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String()
    errors = fields.Dict()
    element_id = fields.String(allow_none=True, metadata={"description": "the diagram element a deploy error is about"})


# -- processes -----------------------------------------------------------------------------------------

class VersionSchema(Schema):
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    content_hash = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(required=True)
    running_instances = fields.Integer(required=True, attribute="running")


class ProcessSchema(Schema):
    process_key = fields.String(required=True)
    name = fields.String(required=True)
    latest_version = fields.Integer(required=True)
    starters = fields.List(fields.String(), required=True,
                           metadata={"description": "departments whose members start its cases"})
    startable = fields.Boolean(required=True, metadata={"description": "whether the caller may start a case"})
    start_form = fields.Dict(allow_none=True, metadata={"description": "the start event's form fields"})


class ProcessDetailSchema(ProcessSchema):
    versions = fields.List(fields.Nested(VersionSchema), required=True)


class DeployArgsSchema(Schema):
    filename = Text(load_default="diagram.bpmn", validate=validate.Length(min=1, max=200))


class DeployResultSchema(Schema):
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false when the same file was deployed before"})


# -- instances -----------------------------------------------------------------------------------------

class StartInstanceSchema(Schema):
    data = fields.Dict(keys=fields.String(), required=True, validate=no_nul,
                       metadata={"description": "the start form's fields, by field id"})
    business_key = Text(allow_none=True, load_default=None, validate=validate.Length(min=1, max=120))


class InstanceSchema(Schema):
    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    status = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    next_due_at = fields.DateTime(allow_none=True)


class InstanceListArgsSchema(Schema):
    process = Text(load_default=None, validate=validate.Length(max=120))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class SlaSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    element_id = fields.String(required=True)
    name = fields.String(required=True)
    department = fields.String(required=True)
    person = fields.String(allow_none=True)
    status = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    warned_at = fields.DateTime(allow_none=True)
    met_at = fields.DateTime(allow_none=True)
    breached_at = fields.DateTime(allow_none=True)
    paused_seconds = fields.Integer(required=True)
    source = fields.String(allow_none=True, metadata={
        "description": "who sets the limit: procedure (the procedure text states it) or company (a company rule)"})


class EventSchema(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    actor = fields.String(required=True)
    element_id = fields.String(allow_none=True)
    detail = fields.Dict(required=True)


# -- tasks ---------------------------------------------------------------------------------------------

class TaskSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    business_key = fields.String(allow_none=True)
    name = fields.String(required=True)
    department = fields.String(required=True)
    customer = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    warn_at = fields.DateTime(allow_none=True)
    limit_name = fields.String(allow_none=True)
    limit_source = fields.String(allow_none=True, metadata={"description": "procedure or company: who sets the limit"})
    claimed_by = fields.String(allow_none=True)
    state = fields.String(required=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class TaskDetailSchema(TaskSchema):
    element_id = fields.String(required=True)
    heads_only = fields.Boolean(required=True)
    claimed_at = fields.DateTime(allow_none=True)
    form = fields.Dict(required=True, metadata={"description": "the task's form fields as the diagram defines them"})
    data = fields.Dict(required=True, metadata={"description": "the case data the task shows"})
    submitted = fields.Dict(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    sla = fields.List(fields.Nested(SlaSchema), required=True)


class TaskListArgsSchema(Schema):
    view = fields.String(load_default="department", validate=validate.OneOf(("mine", "department")),
                         metadata={"description": "mine: tasks I hold; department: my departments' tasks"})
    department = Text(load_default=None, validate=validate.Length(max=40))
    state = fields.String(load_default="open", validate=validate.OneOf(TASK_STATES))
    process = Text(load_default=None, validate=validate.Length(max=120))
    due = fields.String(load_default=None, validate=validate.OneOf(DUE_STATES))
    q = Text(load_default=None, validate=validate.Length(max=100),
             metadata={"description": "part of a business key or customer name"})
    sort = fields.String(load_default="due", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


# -- reports -------------------------------------------------------------------------------------------

class AttainmentArgsSchema(Schema):
    start = fields.Date(required=True, data_key="from", metadata={"description": "first day (Beijing time)"})
    end = fields.Date(required=True, data_key="to", metadata={"description": "last day, included"})
    by = fields.String(load_default="department", validate=validate.OneOf(("department", "person")))
    process = Text(load_default=None, validate=validate.Length(max=120))
    kind = fields.String(load_default=None, validate=validate.OneOf(("limit", "duty")))

    @validates_schema
    def period(self, data: dict[str, Any], **kwargs) -> None:
        errors = {key: ["must be a day between the years 2000 and 2999"]
                  for key, day in (("from", data.get("start")), ("to", data.get("end")))
                  if day is not None and not 2000 <= day.year <= 2999}
        if not errors and data.get("start") and data.get("end") and data["end"] < data["start"]:
            errors["to"] = ["must not be before 'from'"]
        if errors:
            raise ValidationError(errors)


class AttainmentRowSchema(Schema):
    who = fields.String(required=True, metadata={"description": "department code or user name"})
    met = fields.Integer(required=True)
    breached = fields.Integer(required=True)
    total = fields.Integer(required=True)
    rate = fields.Float(allow_none=True, metadata={"description": "met / total; null when nothing fell due"})


class AttainmentReportSchema(Schema):
    by = fields.String(required=True)
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    rows = fields.List(fields.Nested(AttainmentRowSchema), required=True)
