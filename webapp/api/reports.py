"""SLA reports for auditors and admins: limits met and missed by department or person in a period."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_smorest import Blueprint

from engine.timing import attainment
from engine.working_time.calendar import BUSINESS_TZ
from webapp.access import may_audit
from webapp.api.auth import api_user, authenticate, forbid
from webapp.api.schemas import AttainmentArgsSchema, AttainmentReportSchema, ProblemSchema
from webapp.runtime import engine

blueprint = Blueprint("reports", __name__, description="SLA reports (auditors and admins)")
blueprint.before_request(authenticate)


@blueprint.route("/sla-attainment")
@blueprint.arguments(AttainmentArgsSchema, location="query")
@blueprint.response(200, AttainmentReportSchema)
@blueprint.alt_response(401, schema=ProblemSchema)
@blueprint.alt_response(403, schema=ProblemSchema)
def sla_attainment(args: dict):
    """Limits and duties that fell due in the period (Beijing days, both included): met, missed, rate."""
    if not may_audit(api_user()):
        forbid("Only auditors and admins read SLA reports.")
    start = datetime.combine(args["start"], time.min, BUSINESS_TZ)
    end = datetime.combine(args["end"] + timedelta(days=1), time.min, BUSINESS_TZ)
    rows = attainment.sla_attainment(engine().db, start, end, by=args["by"], process_key=args["process"],
                                  kind=args["kind"])
    return {"by": args["by"], "start": args["start"], "end": args["end"],
            "rows": [{"who": r.who, "met": r.met, "breached": r.breached, "total": r.total, "rate": r.rate}
                     for r in rows]}
