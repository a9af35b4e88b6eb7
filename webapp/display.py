"""How things read on the pages: language (Chinese by default), Beijing time, time left, names by locale."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel, format_datetime, get_locale
from flask_babel import gettext as _

from engine.records import queries
from webapp.access import may_audit, may_model
from webapp.incident_texts import failure_text
from webapp.runtime import departments, engine, latest_processes

LANGUAGES = {"zh": "中文", "en": "English"}


def select_locale() -> str:
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    return "zh"  # the users are Chinese companies: Chinese unless a user picks English


def english() -> bool:
    return str(get_locale()) == "en"


def pick(chinese: str | None, english_text: str | None) -> str:
    """The English text on English pages when the diagram gives one, the Chinese one otherwise."""
    if english() and english_text:
        return english_text
    return chinese or english_text or ""


def now() -> datetime:
    """The engine's clock, read once per request so a page is consistent."""
    if "now" not in g:
        g.now = engine().clock.now()
    return g.now


def local_time(moment: datetime | None) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else ""


def due_state(due_at: datetime | None, warn_at: datetime | None) -> str:
    """overdue (red), due_soon (amber), on_time, or no_limit; the same rules as the inbox filter."""
    if due_at is None:
        return "no_limit"
    current = now()
    if due_at <= current:
        return "overdue"
    if warn_at is not None and warn_at <= current:
        return "due_soon"
    return "on_time"


def time_left(due_at: datetime | None) -> str:
    if due_at is None:
        return ""
    delta = due_at - now()
    text = _span(abs(delta))
    return _("%(span)s left", span=text) if delta > timedelta(0) else _("%(span)s overdue", span=text)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def department_name(code: str | None) -> str:
    if not code:
        return ""
    department = departments().get(code)
    return pick(department.name_zh, department.name_en) if department else code


def processes() -> dict[str, queries.ProcessSummary]:
    if "processes" not in g:
        g.processes = latest_processes()
    return g.processes


def process_name(process_key: str) -> str:
    summary = processes().get(process_key)
    return summary.name if summary else process_key


def category_label(process_key: str, value: str | None) -> str:
    if not value:
        return ""
    summary = processes().get(process_key)
    label = summary.category_labels.get(value) if summary else None
    return pick(label[0], label[1]) if label else value


def option_name(process_key: str, field_id: str, value):
    """A coded value of one of the diagram's enum fields by its option name; other values as they are."""
    summary = processes().get(process_key)
    label = summary.option_labels.get(field_id, {}).get(value) if summary and isinstance(value, str) else None
    return pick(label[0], label[1]) if label else value


def field_label(form_field: dict[str, Any]) -> str:
    return pick(form_field.get("label"), form_field.get("label_en"))


def option_label(option: list[str | None] | tuple[str, ...]) -> str:
    return pick(option[1], option[2] if len(option) > 2 else None)


def event_label(kind: str) -> str:
    labels = {
        "instance_started": _("Case started"), "instance_completed": _("Case completed"),
        "instance_cancelled": _("Case cancelled"), "task_ready": _("Task created"),
        "task_claimed": _("Task claimed"), "task_unclaimed": _("Task released"),
        "task_handed_over": _("Task handed over"), "task_completed": _("Task completed"),
        "task_cancelled": _("Task withdrawn"), "timer_fired": _("Timer fired"),
        "incident_opened": _("Automatic step failed"), "incident_failed_again": _("Automatic step failed again"), "incident_retried": _("Automatic step retried"),
        "incident_resolved": _("Automatic step recovered"), "incident_closed": _("Incident closed"),
        "category_overridden": _("Category overridden"), "sla_reminded": _("Reminder sent"),
        "escalated": _("Limit missed, escalated"), "bpmn_error": _("Sent back by a check"),
        "sla_warned": _("Limit nearly due"), "sla_met": _("Limit met"), "sla_breached": _("Limit missed"),
        "sla_paused": _("Limits paused, waiting on the customer"), "sla_resumed": _("Limits resumed"),
        "sla_cancelled": _("Limit no longer applies"), "calendar_changed": _("Business calendar changed"),
        "records_purged": _("Records purged after the retention period"),
    }
    return labels.get(kind, kind)


def sla_status_label(status: str) -> str:
    labels = {"running": _("Running"), "paused": _("Paused"), "met": _("Met"), "breached": _("Missed"),
              "cancelled": _("No longer applies")}
    return labels.get(status, status)


def limit_source_name(source: str | None) -> str:
    """Who sets a limit, as users read it: the procedure text, or the company (a rule the text does not give)."""
    labels = {"procedure": _("Procedure"), "company": _("Company rule")}
    return labels.get(source or "", _("Not stated"))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES, current_language=lambda: str(get_locale()), pick=pick,
        local_time=local_time, due_state=due_state, time_left=time_left, department_name=department_name,
        process_name=process_name, category_label=category_label, option_name=option_name, field_label=field_label,
        option_label=option_label, event_label=event_label, sla_status_label=sla_status_label,
        limit_source_name=limit_source_name, failure_text=failure_text,
        may_audit=may_audit, may_model=may_model,
    )

    @app.context_processor
    def request_path():
        return {"current_path": request.full_path.rstrip("?")}
