"""Process owners' area: processes and versions, the served bpmn.io modeller, upload, download, incidents."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from webapp.access import may_model

blueprint = Blueprint("modeler", __name__, url_prefix="/modeler")


@blueprint.before_request
@login_required
def process_owners_only():
    if not may_model(current_user):
        abort(403)
    return None


@blueprint.route("/")
def processes():
    return render_template("error.html", title="TODO", message="")
