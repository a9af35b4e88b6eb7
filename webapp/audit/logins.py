"""/audit/logins: the sign-in log for auditors (who signed in, failed, was locked out, signed out, changed a
password; from which address and browser), filtered by user name, outcome and Beijing dates, newest first."""
from __future__ import annotations

from datetime import date

from flask import current_app, render_template, request
from flask_babel import gettext as _

from engine.accounts import sign_in
from engine.accounts.sign_in import LoginLogError, LoginQuery
from webapp.audit.area import blueprint
from webapp.audit.filters import filter_day, filter_number
from webapp.auth import sign_ins

FILTER_ARGS = ("username", "outcome", "start", "end")


def outcome_labels() -> dict[str, str]:
    return {
        sign_in.SIGNED_IN: _("Signed in"),
        sign_in.WRONG_PASSWORD: _("Wrong password"),
        sign_in.UNKNOWN_USER: _("Unknown user name"),
        sign_in.INACTIVE_USER: _("Inactive user"),
        sign_in.LOCKED_OUT: _("Locked out"),
        sign_in.SIGNED_OUT: _("Signed out"),
        sign_in.SESSION_EXPIRED: _("Session expired"),
        sign_in.PASSWORD_CHANGED: _("Password changed"),
        sign_in.SESSION_REVOKED: _("Ended session used"),
        sign_in.API_TOKEN_REFUSED: _("API token refused"),
    }


def _date(value: str, what: str) -> date | None:
    return filter_day(value, what, LoginLogError)


def _number(value: str, what: str, default: int) -> int:
    number = filter_number(value, what, LoginLogError)
    return default if number is None else number


def _query(args) -> LoginQuery:
    outcome = args.get("outcome") or None
    if outcome and outcome not in sign_in.OUTCOMES:
        raise LoginLogError(_("Unknown outcome “%(value)s”.", value=outcome))
    query = LoginQuery(
        username=sign_in.typed_username(args.get("username")) or None, outcome=outcome,
        day_from=_date(args.get("start", ""), _("From")), day_to=_date(args.get("end", ""), _("To")),
        page=_number(args.get("page", ""), _("Page"), 1),
        per_page=_number(args.get("per_page", ""), _("Page size"), current_app.config.get("AUDIT_PAGE_SIZE", 50)))
    if query.day_from and query.day_to and query.day_from > query.day_to:
        raise LoginLogError(_("The start of the date range is after its end."))
    if query.page < 1 or not 1 <= query.per_page <= 500:
        raise LoginLogError(_("Pages count from 1 and hold 1 to 500 rows."))
    return query


@blueprint.route("/logins")
def logins():
    args = request.args
    error = page = None
    try:
        page = sign_ins().log(_query(args))
    except LoginLogError as err:
        error = str(err)
    kept = {key: args[key] for key in (*FILTER_ARGS, "per_page") if args.get(key)}
    return render_template("audit/logins.html", page=page, error=error, args=args, kept=kept,
                           outcomes=outcome_labels()), (400 if error else 200)
