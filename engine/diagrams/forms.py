"""Forms as the diagrams define them (`camunda:formData`), and server-side validation of submissions."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from engine.storage.storable_text import is_unstorable

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
FIELD_TYPES = ("string", "text", "long", "double", "boolean", "date", "enum")
CONSTRAINTS = ("required", "readonly", "min", "max", "minlength", "maxlength")
NUMBER_TYPES = ("long", "double")
# The largest number (either sign) a number field takes, and the bound on any side the diagram leaves
# open: every value that passes a form fits the columns handlers keep numbers in (PostgreSQL integer,
# numeric(12, 2)), so a number accepted at the form can never fail a handler's save on every retry.
NUMBER_LIMIT = 1_000_000_000
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates"
BLANK_MESSAGE = "must not be empty"


class InvalidForm(ValueError):
    """A submission that does not satisfy its form; `errors` maps field id to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        detail = "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in sorted(errors.items()))
        super().__init__(f"invalid form submission ({detail})")


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    required: bool = False
    readonly: bool = False
    default: str | None = None
    label_en: str | None = None
    options: list[tuple[str, str, str | None]] = field(default_factory=list)  # id, name, English name
    constraints: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormDefinition:
    fields: list[FormField]

    def to_dict(self) -> dict[str, Any]:
        return {"fields": [asdict(f) for f in self.fields]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FormDefinition:
        if not data:
            return cls([])
        return cls([FormField(**{**f, "options": [_option(o) for o in f["options"]]}) for f in data["fields"]])

    def field_ids(self) -> list[str]:
        return [f.id for f in self.fields]


def _option(stored: list[str | None]) -> tuple[str, str, str | None]:
    """Versions deployed before options had English names stored pairs."""
    return (stored[0], stored[1], stored[2] if len(stored) > 2 else None)


class FormDefinitionError(ValueError):
    """A form in a diagram that the engine cannot render or validate."""


def parse_form_data(element) -> FormDefinition | None:
    """Read `camunda:formData` under a BPMN element (an lxml element); None when it has no form."""
    form_data = element.find(f"{{http://www.omg.org/spec/BPMN/20100524/MODEL}}extensionElements/{{{CAMUNDA_NS}}}formData")
    if form_data is None:
        return None
    parsed: list[FormField] = []
    for node in form_data.findall(f"{{{CAMUNDA_NS}}}formField"):
        field_id, field_type = node.get("id"), node.get("type")
        if not field_id:
            raise FormDefinitionError("a form field has no id")
        if field_type not in FIELD_TYPES:
            raise FormDefinitionError(
                f"form field '{field_id}' has type '{field_type}'; known types are {', '.join(FIELD_TYPES)}")
        constraints: dict[str, str] = {}
        for constraint in node.findall(f"{{{CAMUNDA_NS}}}validation/{{{CAMUNDA_NS}}}constraint"):
            name = constraint.get("name")
            if name not in CONSTRAINTS:
                raise FormDefinitionError(f"form field '{field_id}' has unknown constraint '{name}'")
            constraints[name] = constraint.get("config") or ""
        _check_bounds(field_id, field_type, constraints)
        properties = {p.get("id"): p.get("value") or "" for p in
                      node.findall(f"{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property")}
        # An option's English name is the field property `label_en.<option id>` (the panel edits field properties).
        options = [(v.get("id"), v.get("name") or v.get("id"), properties.pop(f"label_en.{v.get('id')}", None))
                   for v in node.findall(f"{{{CAMUNDA_NS}}}value")]
        if field_type == "enum" and not options:
            raise FormDefinitionError(f"enum form field '{field_id}' has no values")
        parsed.append(FormField(
            id=field_id, label=node.get("label") or field_id, type=field_type,
            required="required" in constraints, readonly="readonly" in constraints,
            default=node.get("defaultValue"), label_en=properties.pop("label_en", None), options=options,
            constraints={k: v for k, v in constraints.items() if k not in ("required", "readonly")},
            properties=properties,
        ))
    ids = [f.id for f in parsed]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise FormDefinitionError(f"form has duplicate field ids: {', '.join(sorted(duplicates))}")
    return FormDefinition(parsed)


def _check_bounds(field_id: str, field_type: str, constraints: dict[str, str]) -> None:
    """Bounds are finite numbers; min/max belong to number fields and stay within NUMBER_LIMIT."""
    for bound in ("min", "max", "minlength", "maxlength"):
        if bound not in constraints:
            continue
        try:
            value = float(constraints[bound])
        except ValueError:
            raise FormDefinitionError(
                f"form field '{field_id}': constraint {bound} needs a number, got '{constraints[bound]}'") from None
        if not math.isfinite(value):
            raise FormDefinitionError(
                f"form field '{field_id}': constraint {bound} needs a finite number, got '{constraints[bound]}'")
        if bound in ("min", "max") and field_type not in NUMBER_TYPES:
            raise FormDefinitionError(
                f"form field '{field_id}' has type '{field_type}': constraints min and max apply to number fields "
                f"({', '.join(NUMBER_TYPES)}); use minlength/maxlength for text")
        if bound in ("min", "max") and abs(value) > NUMBER_LIMIT:
            raise FormDefinitionError(
                f"form field '{field_id}': constraint {bound} {constraints[bound]} is beyond the largest number a "
                f"form takes ({NUMBER_LIMIT:,} either side of zero)")
    if "min" in constraints and "max" in constraints and float(constraints["min"]) > float(constraints["max"]):
        raise FormDefinitionError(f"form field '{field_id}': constraint min {constraints['min']} is greater than "
                                  f"max {constraints['max']}")


def _bound(text: str) -> int | float:
    """A bound as the validator's message should show it: 5, not 5.0."""
    value = float(text)
    return int(value) if value.is_integer() else value


def _range_checks(form_field: FormField) -> list:
    """The diagram's bounds, and NUMBER_LIMIT on each side the diagram leaves open (or, in a version
    deployed before the limit was checked, states beyond it)."""
    c = form_field.constraints
    checks: list = []
    if "min" in c or "max" in c:
        checks.append(validate.Range(min=_bound(c["min"]) if "min" in c else None,
                                     max=_bound(c["max"]) if "max" in c else None))
    if form_field.type in NUMBER_TYPES:
        low = -NUMBER_LIMIT if "min" not in c or _bound(c["min"]) < -NUMBER_LIMIT else None
        high = NUMBER_LIMIT if "max" not in c or _bound(c["max"]) > NUMBER_LIMIT else None
        if low is not None or high is not None:
            checks.append(validate.Range(min=low, max=high))
    return checks


class WholeNumber(fields.Integer):
    """A whole-number field that refuses 1.5 instead of storing 1 (marshmallow's Integer truncates a
    JSON number with a fraction; infinity and NaN are refused too)."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def _storable(value: str) -> None:
    if is_unstorable(value):
        raise ValidationError(UNSTORABLE_MESSAGE)


def _not_blank(value: str) -> None:
    """A required text is more than spaces (the web form strips them; an API call must not slip them in)."""
    if not value.strip():
        raise ValidationError(BLANK_MESSAGE)


def _marshmallow_field(form_field: FormField) -> fields.Field:
    checks: list = _range_checks(form_field)
    c = form_field.constraints
    if "minlength" in c or "maxlength" in c:
        checks.append(validate.Length(min=int(float(c["minlength"])) if "minlength" in c else None,
                                      max=int(float(c["maxlength"])) if "maxlength" in c else None))
    if form_field.type in ("string", "text", "enum"):
        checks.append(_storable)
    if form_field.type in ("string", "text") and form_field.required:
        checks.append(_not_blank)
    if form_field.type == "enum":
        checks.append(validate.OneOf([o[0] for o in form_field.options]))
    kinds = {
        "string": fields.String, "text": fields.String, "long": WholeNumber, "double": fields.Float,
        "boolean": fields.Boolean, "date": fields.Date, "enum": fields.String,
    }
    return kinds[form_field.type](required=form_field.required, allow_none=not form_field.required,
                                  validate=checks)


_schemas: dict[str, type[Schema]] = {}


def _schema_for(fields_: list[FormField]) -> type[Schema]:
    """Built once per distinct form: building a marshmallow schema costs more than validating with it."""
    key = repr(fields_)
    schema = _schemas.get(key)
    if schema is None:
        if len(_schemas) > 1024:
            _schemas.clear()
        schema = _schemas[key] = Schema.from_dict({f.id: _marshmallow_field(f) for f in fields_})
    return schema


def validate_submission(form: FormDefinition, submitted: dict[str, Any]) -> dict[str, Any]:
    """Check `submitted` against the form; return JSON-ready values or raise InvalidForm (nothing changes)."""
    editable = [f for f in form.fields if not f.readonly]
    schema_class = _schema_for(editable)
    cleaned_input = {k: (None if v == "" else v) for k, v in submitted.items()}
    try:
        loaded = schema_class().load(cleaned_input)
    except ValidationError as err:
        errors = {k: (v if isinstance(v, list) else [str(v)]) for k, v in err.messages.items()}
        raise InvalidForm(errors) from None
    result: dict[str, Any] = {}
    for key, value in loaded.items():
        result[key] = value.isoformat() if isinstance(value, date) else value
    for f in editable:
        if f.type == "boolean" and result.get(f.id) is None:
            result[f.id] = False
    return result
