"""The auditors' case list page: filters as an auditor sets them, rows linking to the instance page, page
links and counts, bad filter values explained on the page, and who may open it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.processes.conftest import Case
from tests.processes.test_service_response import service_request
from tests.webapp.conftest import FEEDBACK_FORM

SPECIALIST = "svc.huang"


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-instance-id="(\d+)">', html)]


@pytest.fixture
def some_cases(engine, clock):
    """A service request whose first response is missed (Mon), then five feedback forms (Tue)."""
    missed = Case(engine, engine.start_instance("service_response", service_request(customer="苏州安达精密"), SPECIALIST))
    clock.advance(timedelta(minutes=6))
    engine.fire_due_timers()
    clock.advance(timedelta(days=1))
    forms = [engine.start_instance("quality_feedback", dict(FEEDBACK_FORM, batch_no=f"B-{n}"), "sales.li")
             for n in range(5)]
    return missed.id, forms


def test_the_list_shows_cases_newest_first_linking_to_their_page(as_user, some_cases):
    missed, forms = some_cases
    html = as_user("audit.ma").text("/audit/instances")
    assert _rows(html) == [*reversed(forms), missed]
    assert "6 个案件" in html or "6 cases" in html
    assert f'href="/audit/instances/{missed}"' in html
    assert "苏州安达精密" in html and "售后服务响应时限控制" in html and "2026-11-16 09:00" in html


def test_filters_narrow_the_list(as_user, some_cases):
    missed, forms = some_cases
    auditor = as_user("audit.ma")
    assert _rows(auditor.text("/audit/instances?process=service_response")) == [missed]
    assert _rows(auditor.text("/audit/instances?process=quality_feedback&version=1")) == list(reversed(forms))
    assert _rows(auditor.text("/audit/instances?sla=breached")) == [missed]
    assert _rows(auditor.text("/audit/instances?department=quality")) == list(reversed(forms))
    assert _rows(auditor.text("/audit/instances?start=2026-11-16&end=2026-11-16")) == [missed]
    assert _rows(auditor.text("/audit/instances?q=安达")) == [missed]
    assert _rows(auditor.text("/audit/instances?status=completed")) == []
    assert _rows(auditor.text("/audit/instances?status=running&department=after_sales&sla=breached&q=安达")) == [missed]


def test_pages_keep_the_filters(as_user, some_cases):
    missed, forms = some_cases
    auditor = as_user("audit.ma")
    first = auditor.text("/audit/instances?process=quality_feedback&per_page=2")
    assert _rows(first) == [forms[4], forms[3]]
    assert "第 1 / 3 页" in first or "Page 1 of 3" in first
    assert 'href="/audit/instances?process=quality_feedback&amp;per_page=2&amp;page=2"' in first
    last = auditor.text("/audit/instances?process=quality_feedback&per_page=2&page=3")
    assert _rows(last) == [forms[0]]


@pytest.mark.parametrize(("query", "message"), [
    ("status=open", "open"),
    ("sla=late", "late"),
    ("department=nowhere", "nowhere"),
    ("process=nothing", "nothing"),
    ("version=1", "请同时选择流程"),
    ("process=quality_feedback&version=9", "没有版本 9"),
    ("version=x&process=quality_feedback", "须为整数"),
    ("start=2026-02-30", "2026-02-30"),
    ("start=2026-11-20&end=2026-11-01", "晚于结束"),
    ("page=0", "从 1 开始"),
    ("page=abc", "abc"),
])
def test_bad_filter_values_are_explained_not_a_server_error(as_user, some_cases, query, message):
    response = as_user("audit.ma").page(f"/audit/instances?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="flash error"' in html and message in html
    assert _rows(html) == []


@pytest.mark.parametrize(("username", "status"), [
    ("audit.ma", 200), ("admin", 200), ("sales.li", 403), ("qa.chen", 403), ("owner.xu", 403),
])
def test_only_auditors_and_admins_open_the_list(as_user, username, status):
    assert as_user(username).page("/audit/instances").status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(app):
    response = app.test_client().get("/audit/instances")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
