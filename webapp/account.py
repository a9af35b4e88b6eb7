"""/account/password: a signed-in user changes their own password (current one, new one twice), under the
password policy of engine.accounts.passwords; the change is audited and ends the user's other sessions."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.accounts import passwords, sign_in
from webapp.auth import hash_password, password_matches, request_client, sign_ins
from webapp.runtime import directory

blueprint = Blueprint("account", __name__)


@blueprint.before_request
@login_required
def signed_in_only():
    return None


def rule_messages(broken: list[passwords.BrokenRule], min_length: int) -> list[str]:
    """The broken rules in the reader's language."""
    texts = {
        "too_short": _("At least %(count)d characters.", count=min_length),
        "too_long": _("At most %(count)d characters.", count=passwords.MAX_LENGTH),
        "too_few_classes": _("At least 3 of: upper-case letters, lower-case letters, digits, symbols."),
        "contains_username": _("Must not contain your user name."),
        "common": _("Must not be one of the most common passwords."),
    }
    return [texts.get(rule.code, rule.message) for rule in broken]


def _render(errors: list[str] | None = None, status: int = 200):
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    rules = rule_messages([passwords.BrokenRule(code, "") for code in
                           ("too_short", "too_few_classes", "contains_username", "common")], min_length)
    return render_template("account/password.html", errors=errors or [], rules=rules,
                           min_length=min_length), status


@blueprint.route("/account/password", methods=["GET", "POST"])
def change_password():
    if request.method == "GET":
        return _render()
    username = current_user.username
    until = sign_ins().locked_until(username, request.remote_addr)
    if until is not None:
        return _render([_("Too many failed attempts. Try again after %(time)s (Beijing time).",
                          time=format_datetime(until, "yyyy-MM-dd HH:mm:ss"))], 429)
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    repeat = request.form.get("repeat_password") or ""
    view = directory().get(username)
    if view is None or not password_matches(view.password_hash, current):
        # Counts towards the lockout: someone at an unattended signed-in screen must not guess it freely.
        sign_ins().record(sign_in.WRONG_PASSWORD, username, request_client())
        return _render([_("The current password is wrong; nothing was changed.")], 422)
    errors = []
    if new != repeat:
        errors.append(_("The new password and its repetition differ."))
    if passwords.normalised(new) == passwords.normalised(current):
        errors.append(_("The new password must differ from the current one."))
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    errors += rule_messages(passwords.broken_rules(new, username, min_length), min_length)
    if errors:
        return _render(errors, 422)
    new_hash = hash_password(new)
    client = request_client()
    directory().set_password_hash(username, new_hash, actor=username, ip=client.ip, user_agent=client.user_agent)
    # This session goes on with the user's new session generation; their other sessions have ended.
    session["generation"] = directory().get(username).session_generation
    flash(_("Your password was changed."), "success")
    return redirect(url_for("inbox.home"))
