"""The auditors' case search: each filter, combined filters, newest first, pages and counts, bad values;
on cases started through the engine with the frozen clock (P4 service requests, P1 feedback forms)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from engine.notifications.outbox import FileTransport
from engine.records.case_search import CaseQuery, CaseSearchError, process_versions, search_cases
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.conftest import PROCESSES
from tests.processes.conftest import Case
from tests.processes.test_service_response import service_request
from tests.webapp.conftest import FEEDBACK_FORM

SPECIALIST = "svc.huang"


@dataclass
class Cases:
    engine: WorkflowEngine
    met: int  # service request, Mon 16 Nov: answered in time and closed (completed)
    missed: int  # service request, Mon 16 Nov: first response missed (running)
    feedback: int  # P1 feedback form, Tue 17 Nov: waits for Quality (running, no limit measured yet)
    withdrawn: int  # service request, Wed 18 Nov, on version 2 of the diagram: cancelled

    def ids(self, **filters) -> list[int]:
        return [row.id for row in search_cases(self.engine.db, CaseQuery(**filters)).rows]


@pytest.fixture
def cases(database, clock, outbox_file, staff) -> Cases:
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    engine.deploy_directory(PROCESSES, "test")
    met = Case(engine, engine.start_instance("service_response", service_request(customer="华东机电有限公司"), SPECIALIST))
    missed = Case(engine, engine.start_instance("service_response", service_request(customer="苏州安达精密"), SPECIALIST))
    clock.advance(timedelta(minutes=2))
    met.complete("Task_first_response", SPECIALIST, first_response="您好", request_type="consultation",
                 urgency="general", urgency_basis="一般咨询")
    clock.advance(timedelta(minutes=4))
    engine.fire_due_timers()  # the second request's 5-minute first response is missed
    met.complete("Task_gen_direct_answer", SPECIALIST, can_answer_directly=True, direct_answer="请检查润滑脂")
    met.complete("Task_feedback", SPECIALIST, result_feedback="已答复", customer_confirmed=True,
                 satisfaction="satisfied")
    clock.advance(timedelta(days=1))
    feedback = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")
    clock.advance(timedelta(days=1))
    version_two = (PROCESSES / "service_response.bpmn").read_bytes() + b"\n<!-- version 2 -->\n"
    assert engine.deploy(version_two, "owner.xu").version == 2
    withdrawn = engine.start_instance("service_response", service_request(customer="宁波恒力"), SPECIALIST)
    engine.cancel_instance(withdrawn, "admin", "客户撤回")
    return Cases(engine, met.id, missed.id, feedback, withdrawn)


def test_all_cases_newest_first_with_their_facts(cases):
    page = search_cases(cases.engine.db, CaseQuery())
    assert [r.id for r in page.rows] == [cases.withdrawn, cases.feedback, cases.missed, cases.met]
    assert (page.total, page.page, page.pages) == (4, 1, 1)
    met = page.rows[-1]
    assert (met.process_key, met.version, met.status, met.customer, met.started_by) == (
        "service_response", 1, "completed", "华东机电有限公司", SPECIALIST)
    assert met.business_key.startswith("SR-2026-") and met.ended_at is not None
    assert (met.limits_met, met.limits_breached) == (2, 0)
    missed = page.rows[-2]
    assert (missed.limits_met, missed.limits_breached) == (0, 1)
    assert page.rows[0].version == 2


def test_each_filter(cases):
    assert cases.ids(process_key="quality_feedback") == [cases.feedback]
    assert cases.ids(process_key="service_response") == [cases.withdrawn, cases.missed, cases.met]
    assert cases.ids(process_key="service_response", version=1) == [cases.missed, cases.met]
    assert cases.ids(process_key="service_response", version=2) == [cases.withdrawn]
    assert cases.ids(status="completed") == [cases.met]
    assert cases.ids(status="running") == [cases.feedback, cases.missed]
    assert cases.ids(status="cancelled") == [cases.withdrawn]
    assert cases.ids(department="quality") == [cases.feedback]
    assert cases.ids(department="after_sales") == [cases.withdrawn, cases.missed, cases.met]
    assert cases.ids(department="development") == []
    # Beijing dates, both ends included.
    assert cases.ids(started_from=date(2026, 11, 17)) == [cases.withdrawn, cases.feedback]
    assert cases.ids(started_to=date(2026, 11, 16)) == [cases.missed, cases.met]
    assert cases.ids(started_from=date(2026, 11, 17), started_to=date(2026, 11, 17)) == [cases.feedback]
    assert cases.ids(sla="breached") == [cases.missed]
    assert cases.ids(sla="met") == [cases.met]


def test_search_by_number_or_customer(cases):
    met = search_cases(cases.engine.db, CaseQuery(process_key="service_response", status="completed")).rows[0]
    assert cases.ids(search=met.business_key) == [cases.met]
    assert cases.ids(search=met.business_key.lower()) == [cases.met]  # numbers regardless of case
    assert cases.ids(search="安达") == [cases.missed]  # part of the customer
    assert cases.ids(search="杭州精工") == [cases.feedback]
    assert cases.ids(search="SR-2026-") == [cases.withdrawn, cases.missed, cases.met]
    assert cases.ids(search="100%_") == []  # LIKE wildcards are plain text
    assert cases.ids(search="  ") == cases.ids()


def test_combined_filters(cases):
    assert cases.ids(process_key="service_response", status="running", sla="breached", search="安达",
                     department="after_sales", started_from=date(2026, 11, 16),
                     started_to=date(2026, 11, 16)) == [cases.missed]
    assert cases.ids(process_key="service_response", status="completed", sla="breached") == []
    assert cases.ids(department="quality", status="running", search="杭州") == [cases.feedback]
    assert cases.ids(department="quality", sla="met") == []


def test_pages_and_counts(cases):
    first = search_cases(cases.engine.db, CaseQuery(per_page=3))
    second = search_cases(cases.engine.db, CaseQuery(per_page=3, page=2))
    assert (first.total, first.pages, len(first.rows)) == (4, 2, 3)
    assert [r.id for r in second.rows] == [cases.met] and second.page == 2
    beyond = search_cases(cases.engine.db, CaseQuery(per_page=3, page=9))
    assert beyond.page == 2 and [r.id for r in beyond.rows] == [cases.met]  # the last page
    filtered = search_cases(cases.engine.db, CaseQuery(process_key="service_response", per_page=2, page=2))
    assert (filtered.total, [r.id for r in filtered.rows]) == (3, [cases.met])
    assert search_cases(cases.engine.db, CaseQuery(status="completed", department="quality")).total == 0


@pytest.mark.parametrize(("query", "message"), [
    (CaseQuery(status="open"), "unknown status"),
    (CaseQuery(sla="late"), "unknown SLA state"),
    (CaseQuery(version=1), "choose the process"),
    (CaseQuery(process_key="service_response", version=7), "has no version 7"),
    (CaseQuery(started_from=date(2026, 11, 18), started_to=date(2026, 11, 17)), "after its end"),
    (CaseQuery(page=0), "count from 1"),
])
def test_bad_filters_are_refused_with_the_reason(cases, query, message):
    with pytest.raises(CaseSearchError, match=message):
        search_cases(cases.engine.db, query)


def test_the_process_and_version_choices(cases):
    choices = {c.process_key: c.versions for c in process_versions(cases.engine.db)}
    assert choices["service_response"] == (1, 2) and choices["quality_feedback"] == (1,)


def test_a_search_matching_many_cases_filters_by_subquery_alike(cases, monkeypatch):
    from engine.records import case_search
    listed = cases.ids(search="SR-2026-")
    monkeypatch.setattr(case_search, "SEARCH_ID_LIST_LIMIT", 1)  # more matches than an id list holds
    assert cases.ids(search="SR-2026-") == listed == [cases.withdrawn, cases.missed, cases.met]
    assert cases.ids(search="安达", sla="breached") == [cases.missed]
