"""Which form fields of a diagram are the customer's satisfaction, and how an answer scores.

The diagram says it, not Python: a form field carries the property `report_satisfaction` (see
processes/README.md). On a number field (`long`, `double`) it is the top of the field's scale ("5": the
answer is the score, 1–5); on a select (`enum`) it scores the options, "very_satisfied=5, satisfied=4,
neutral=3, dissatisfied=1" (options not named do not count), the highest score being the top. Reports put
every answer on a five-point scale (score / top × 5), so differently scaled questions average together."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROPERTY = "report_satisfaction"
REPORT_SCALE = 5.0


class SatisfactionFieldError(ValueError):
    """A `report_satisfaction` property the reports cannot score with."""


@dataclass(frozen=True)
class SatisfactionQuestion:
    element_id: str
    field_id: str
    label: str
    label_en: str | None
    top: float
    option_scores: dict[str, float] | None  # None: a number field whose value is the score

    def score(self, answer: Any) -> float | None:
        """The answer on the report's five-point scale; None when it does not count (empty, unknown)."""
        if answer is None or answer == "" or isinstance(answer, bool):
            return None
        if self.option_scores is not None:
            raw = self.option_scores.get(str(answer))
        else:
            try:
                raw = float(answer)
            except (TypeError, ValueError):
                return None
        if raw is None:
            return None
        return max(0.0, min(raw, self.top)) / self.top * REPORT_SCALE


def _number(text: str, field_id: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SatisfactionFieldError(
            f"form field '{field_id}': {PROPERTY} needs a number, got '{text}'") from None
    if value <= 0:
        raise SatisfactionFieldError(f"form field '{field_id}': {PROPERTY} scores must be above 0, got '{text}'")
    return value


def question_of(element_id: str, form_field: dict[str, Any]) -> SatisfactionQuestion | None:
    """The field as a satisfaction question, None when it is none; SatisfactionFieldError on a bad property."""
    value = (form_field.get("properties") or {}).get(PROPERTY)
    if value is None:
        return None
    field_id, kind = form_field["id"], form_field["type"]
    if kind in ("long", "double"):
        top, scores = _number(value.strip(), field_id), None
    elif kind == "enum":
        options = {option[0] for option in form_field.get("options", [])}
        scores = {}
        for part in value.split(","):
            if not part.strip():
                continue
            option, sep, score = part.partition("=")
            option = option.strip()
            if not sep or option not in options:
                raise SatisfactionFieldError(
                    f"form field '{field_id}': {PROPERTY} scores options as 'option=score, …'; "
                    f"'{part.strip()}' names no option of the field ({', '.join(sorted(options))})")
            scores[option] = _number(score.strip(), field_id)
        if not scores:
            raise SatisfactionFieldError(f"form field '{field_id}': {PROPERTY} scores no option")
        top = max(scores.values())
    else:
        raise SatisfactionFieldError(
            f"form field '{field_id}': {PROPERTY} fits a number or select field, not a '{kind}' field")
    return SatisfactionQuestion(element_id, field_id, form_field.get("label") or field_id,
                                form_field.get("label_en"), top, scores)


def questions_in(catalog: dict[str, Any]) -> list[SatisfactionQuestion]:
    """Every satisfaction question of a deployed version's user-task forms (deploy has checked them)."""
    found = []
    for element_id, element in catalog.get("elements", {}).items():
        if element.get("type") != "userTask":
            continue
        for form_field in (element.get("form") or {}).get("fields", []):
            try:
                question = question_of(element_id, form_field)
            except SatisfactionFieldError:
                question = None
            if question is not None:
                found.append(question)
    return found
