"""Every route against every kind of user: who gets the page, who gets 403, and nothing changes on 403."""
from __future__ import annotations

import pytest

from engine.records import queries
from tests.webapp.conftest import FEEDBACK_FORM

# (user, role in the case of a Quality task filed by Sales)
SALES_MEMBER, QUALITY_MEMBER, QUALITY_HEAD, OTHER_DEPT, AUDITOR, OWNER, ADMIN = (
    "sales.li", "qa.wang", "qa.chen", "dev.liu", "audit.ma", "owner.xu", "admin")

# route -> expected status per user; the Quality task is unclaimed.
MATRIX = [
    ("GET", "/inbox", {}, {u: 200 for u in (SALES_MEMBER, QUALITY_MEMBER, QUALITY_HEAD, OTHER_DEPT, AUDITOR, OWNER, ADMIN)}),
    ("GET", "/new", {}, {u: 200 for u in (SALES_MEMBER, QUALITY_MEMBER, AUDITOR, ADMIN)}),
    ("GET", "/new/quality_feedback", {}, {SALES_MEMBER: 200, QUALITY_MEMBER: 403, AUDITOR: 403, OWNER: 403, ADMIN: 200}),
    ("GET", "/tasks/{task}", {}, {SALES_MEMBER: 403, QUALITY_MEMBER: 200, QUALITY_HEAD: 200, OTHER_DEPT: 403,
                                  AUDITOR: 403, OWNER: 403, ADMIN: 200}),
    ("POST", "/tasks/{task}/claim", {}, {SALES_MEMBER: 403, OTHER_DEPT: 403, AUDITOR: 403, OWNER: 403,
                                         QUALITY_MEMBER: 302}),
    ("POST", "/tasks/{task}/complete", {"category": "important"},
     {SALES_MEMBER: 403, OTHER_DEPT: 403, AUDITOR: 403, OWNER: 403, QUALITY_HEAD: 302}),
    ("POST", "/tasks/{task}/hand-over", {"to": "qa.chen"}, {AUDITOR: 403, OTHER_DEPT: 403, QUALITY_MEMBER: 302}),
    ("POST", "/tasks/{task}/unclaim", {}, {AUDITOR: 403, SALES_MEMBER: 403, QUALITY_MEMBER: 302}),
    ("GET", "/tasks/999999", {}, {QUALITY_MEMBER: 404}),
]


@pytest.mark.parametrize("method,route,form,expected", MATRIX, ids=[f"{m} {r}" for m, r, _, _ in MATRIX])
def test_route_by_role(engine, as_user, method, route, form, expected):
    engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    task = [t for t in queries.list_tasks(engine.db) if t.department == "quality"][0]
    url = route.format(task=task.id)
    for username, status in expected.items():
        before = queries.get_task(engine.db, task.id)
        events = len(queries.audit_trail(engine.db))
        user = as_user(username)
        response = user.client.get(url) if method == "GET" else user.post(url, form)
        assert response.status_code == status, f"{username} {method} {url}"
        if status in (403, 404) or method == "GET":
            assert queries.get_task(engine.db, task.id) == before, f"{username} changed the task"
            assert len(queries.audit_trail(engine.db)) == events
