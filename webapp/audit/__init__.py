"""Auditors' area (read-only): instances with the path taken, the audit timeline, SLA reports, exports,
the sign-in log."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from webapp.access import may_audit

blueprint = Blueprint("audit", __name__, url_prefix="/audit")


@blueprint.before_request
@login_required
def auditors_only():
    if not may_audit(current_user):
        abort(403)
    return None


from webapp.audit import instance_page, instances, logins, reports  # noqa: E402,F401  (routes register on the blueprint)
