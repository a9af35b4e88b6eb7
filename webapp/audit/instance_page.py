"""One instance for an auditor: the diagram with the path taken, the timeline, the data after each step,
SLA records and incidents; the timeline as CSV/Excel."""
from __future__ import annotations

from flask import render_template

from webapp.audit import blueprint


@blueprint.route("/instances/<int:instance_id>")
def instance(instance_id: int):
    return render_template("error.html", title="TODO", message="")
