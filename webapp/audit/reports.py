"""SLA and service reports for a period, with charts, and the monthly review records."""
from __future__ import annotations

from flask import render_template

from webapp.audit import blueprint


@blueprint.route("/reports")
def reports():
    return render_template("error.html", title="TODO", message="")
