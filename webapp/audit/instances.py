"""Instance list and instance page (diagram with the path taken, timeline, data after each step, SLA, incidents)."""
from __future__ import annotations

from flask import render_template

from webapp.audit import blueprint


@blueprint.route("/instances")
def instances():
    return render_template("error.html", title="TODO", message="")
