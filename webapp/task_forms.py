"""A diagram form (`camunda:formData`) as page widgets, and a posted page back into form values."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine.diagrams.forms import NUMBER_LIMIT
from webapp.display import field_label, option_label

WIDGETS = {"string": "text", "text": "textarea", "long": "integer", "double": "decimal", "boolean": "checkbox",
           "date": "date", "enum": "select"}


@dataclass
class FieldWidget:
    id: str
    label: str
    widget: str
    required: bool
    readonly: bool
    value: Any
    options: list[tuple[str, str]] = field(default_factory=list)
    constraints: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def display_value(self) -> str:
        """How a read-only value reads (an option's name, yes/no)."""
        if self.widget == "select":
            return dict(self.options).get(self.value, self.value or "")
        if self.widget == "checkbox":
            return "✓" if self.value in (True, "true") else "✗"
        return "" if self.value is None else str(self.value)


def widgets(form: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]] | None = None) -> list[FieldWidget]:
    errors = errors or {}
    result = []
    for form_field in form.get("fields", []):
        value = values.get(form_field["id"], form_field.get("default"))
        result.append(FieldWidget(
            id=form_field["id"], label=field_label(form_field), widget=WIDGETS[form_field["type"]],
            required=form_field["required"], readonly=form_field["readonly"], value=value,
            options=[(o[0], option_label(o)) for o in form_field.get("options", [])],
            constraints=_input_constraints(form_field), errors=errors.get(form_field["id"], [])))
    return result


def _input_constraints(form_field: dict[str, Any]) -> dict[str, Any]:
    """The diagram's constraints, with the number limit on the sides it leaves open, so the browser
    tells the user the range before the server refuses it."""
    constraints = dict(form_field.get("constraints", {}))
    if form_field["type"] in ("long", "double"):
        constraints.setdefault("min", str(-NUMBER_LIMIT))
        constraints.setdefault("max", str(NUMBER_LIMIT))
    return constraints


def submitted_values(form: dict[str, Any], posted: MultiDict) -> dict[str, Any]:
    """The editable fields as posted; anything else in the request is ignored."""
    values: dict[str, Any] = {}
    for form_field in form.get("fields", []):
        if form_field["readonly"]:
            continue
        if form_field["type"] == "boolean":
            values[form_field["id"]] = posted.get(form_field["id"]) == "true"
        else:
            values[form_field["id"]] = (posted.get(form_field["id"]) or "").strip()
    return values


_NUMBER = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^(Missing data for required field|Field may not be null|must not be empty)"),
     lambda m: _("This field is required.")),
    (re.compile(r"^must not contain NUL"),
     lambda m: _("Remove the characters that cannot be stored (NUL or an unpaired surrogate).")),
    (re.compile(r"^Not a valid integer"), lambda m: _("Enter a whole number.")),
    (re.compile(r"^Not a valid number"), lambda m: _("Enter a number.")),
    (re.compile(r"^Not a valid (date|datetime)"), lambda m: _("Enter a date as YYYY-MM-DD.")),
    (re.compile(r"^Not a valid boolean"), lambda m: _("Tick the box or leave it empty.")),
    (re.compile(r"^Must be one of"), lambda m: _("Choose one of the options.")),
    (re.compile(rf"^Must be greater than or equal to ({_NUMBER}) and less than or equal to ({_NUMBER})"),
     lambda m: _("Enter a value from %(low)s to %(high)s.", low=_plain(m[1]), high=_plain(m[2]))),
    (re.compile(rf"^Must be greater than or equal to ({_NUMBER})"),
     lambda m: _("Enter at least %(low)s.", low=_plain(m[1]))),
    (re.compile(rf"^Must be less than or equal to ({_NUMBER})"),
     lambda m: _("Enter at most %(high)s.", high=_plain(m[1]))),
    (re.compile(r"^Special numeric values"), lambda m: _("Enter a finite number.")),
    (re.compile(r"^Shorter than minimum length (\d+)"),
     lambda m: _("Enter at least %(count)s characters.", count=m[1])),
    (re.compile(r"^Longer than maximum length (\d+)"),
     lambda m: _("Enter at most %(count)s characters.", count=m[1])),
]


def _plain(number: str) -> str:
    """A bound as people write it: 5 not 5.0, 1,000,000,000 not 1000000000."""
    value = float(number)
    if value.is_integer():
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return number


def readable_errors(errors: dict[str, list[str]], form: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """The validator's messages in the page's language; given the form, a message about a number's range
    names its field (the label), as the user reads it."""
    labels = {f["id"]: field_label(f) for f in (form or {}).get("fields", [])}
    readable: dict[str, list[str]] = {}
    for field_id, messages in errors.items():
        readable[field_id] = []
        for message in messages:
            for pattern, render in _PATTERNS:
                match = pattern.search(message)
                if match:
                    text = render(match)
                    if field_id in labels and _RANGE.search(message):
                        text = _("%(field)s: %(problem)s", field=labels[field_id], problem=text)
                    readable[field_id].append(text)
                    break
            else:
                readable[field_id].append(message)
    return readable


_RANGE = re.compile(r"^(Must be (greater|less) than or equal to|Special numeric values)")
