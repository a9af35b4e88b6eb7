"""SLA attainment over the API: auditors and admins read it for a period, by department or person."""
from __future__ import annotations

import pytest

from tests.webapp.conftest import sla_demo_with_a_met_and_a_missed_limit

NOVEMBER = "/api/v1/reports/sla-attainment?from=2026-11-01&to=2026-11-30"


@pytest.fixture
def month_with_limits(engine, clock):
    return sla_demo_with_a_met_and_a_missed_limit(engine, clock)


@pytest.mark.parametrize("username", ["audit.ma", "admin"])
def test_auditors_and_admins_read_attainment_by_person_and_department(api, month_with_limits, username):
    client = api(username)
    by_person = client.get(NOVEMBER + "&by=person")
    assert by_person.status_code == 200
    assert by_person.json == {"by": "person", "from": "2026-11-01", "to": "2026-11-30", "rows": [
        {"who": "qa.wang", "met": 1, "breached": 0, "total": 1, "rate": 1.0}]}
    by_department = client.get(NOVEMBER).json
    assert by_department["by"] == "department"
    rows = {r["who"]: r for r in by_department["rows"]}
    assert rows["quality"]["met"] == 1
    assert sum(r["breached"] for r in rows.values()) == 1
    december = client.get("/api/v1/reports/sla-attainment?from=2026-12-01&to=2026-12-31")
    assert december.status_code == 200 and december.json["rows"] == []
    assert client.get(NOVEMBER + "&process=other_process").json["rows"] == []


@pytest.mark.parametrize("username", ["qa.wang", "owner.xu", "sales.zhao"])
def test_others_may_not_read_reports(api, username):
    response = api(username).get(NOVEMBER)
    assert response.status_code == 403 and response.json["message"] == "Only auditors and admins read SLA reports."


def test_a_bad_period_is_422_naming_the_parameter(api):
    auditor = api("audit.ma")
    backwards = auditor.get("/api/v1/reports/sla-attainment?from=2026-12-31&to=2026-12-01")
    assert backwards.status_code == 422 and backwards.json["errors"]["query"] == {"to": ["must not be before 'from'"]}
    missing = auditor.get("/api/v1/reports/sla-attainment?to=2026-12-01")
    assert missing.status_code == 422 and "from" in missing.json["errors"]["query"]
    far = auditor.get("/api/v1/reports/sla-attainment?from=0001-01-01&to=9999-12-31")
    assert far.status_code == 422 and set(far.json["errors"]["query"]) == {"from", "to"}
    assert auditor.get(NOVEMBER + "&by=team").status_code == 422
