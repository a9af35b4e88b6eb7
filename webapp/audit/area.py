"""The auditors' blueprint and who may enter it: every page of the area registers on it."""
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
