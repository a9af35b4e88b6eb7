"""A limit the procedure states and a company rule are told apart wherever a limit is shown: the inbox, the
task page, the auditor's SLA records and the attainment report (the timer's `sla_source` in the diagram)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.diagrams.catalog import DiagramError
from engine.records import queries
from engine.storage.models import OutboxMessage
from tests.webapp.conftest import SLA_DEMO

COMPANY_NOTE = "此时限为公司规定，程序文件未给出具体时限。"
PROCEDURE_NOTE = "此时限为程序文件规定。"


def _start(engine) -> int:
    engine.deploy(SLA_DEMO.read_bytes(), "owner.xu")
    return engine.start_instance("sla_demo", {"customer": "华东机电"}, "svc.huang")


def _row(html: str, task_id: int) -> str:
    return re.search(rf'<tr class="task [^"]*" data-task-id="{task_id}">(.*?)</tr>', html, re.S).group(1)


def test_the_inbox_and_the_task_page_say_which_limits_the_company_sets(engine, clock, as_user):
    case = _start(engine)
    [solve] = queries.list_tasks(engine.db, instance_id=case)
    assert solve.limit_source == "procedure"
    quality = as_user("qa.wang")
    assert "公司规定" not in _row(quality.text("/inbox?view=department"), solve.id)
    page = quality.text(f"/tasks/{solve.id}")
    assert PROCEDURE_NOTE in page and COMPANY_NOTE not in page

    engine.complete_task(solve.id, "qa.wang", {"solution": "换件", "needs_customer_info": False})
    [close] = [t for t in queries.list_tasks(engine.db, instance_id=case) if t.element_id == "Task_close"]
    assert close.limit_source == "company"
    assert 'class="badge company-rule"' in _row(quality.text("/inbox?view=department"), close.id)
    page = quality.text(f"/tasks/{close.id}")
    assert COMPANY_NOTE in page and PROCEDURE_NOTE not in page


def test_sla_records_the_instance_page_and_the_report_keep_the_source(engine, clock, as_user, api):
    case = _start(engine)
    [solve] = queries.list_tasks(engine.db, instance_id=case)
    engine.complete_task(solve.id, "qa.wang", {"solution": "换件", "needs_customer_info": False})
    clock.advance(timedelta(hours=1, seconds=1))
    engine.fire_due_timers()  # the company's 1-hour closing limit is missed

    sources = {r.element_id: (r.source, r.status) for r in queries.sla_records(engine.db, case) if r.kind == "limit"}
    assert sources == {"Timer_handle_limit": ("procedure", "met"), "Timer_close_limit": ("company", "breached")}
    with engine.db.sessions() as session:
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("超时：1小时内关闭%"))).all()
    assert notices and all("此时限为公司规定" in n.body for n in notices)  # the breach notice says so too

    auditor = as_user("audit.ma")
    html = auditor.text(f"/audit/instances/{case}")
    limits = re.search(r'<table class="limits">(.*?)</table>', html, re.S).group(1)
    assert re.search(r'data-element-id="Timer_handle_limit">.*?<td class="limit-source procedure">程序规定</td>',
                     limits, re.S)
    assert re.search(r'data-element-id="Timer_close_limit">.*?<td class="limit-source company">公司规定</td>',
                     limits, re.S)

    report = auditor.text("/audit/reports?start=2026-11-01&end=2026-11-30")
    section = report.split('id="sla_by_department"')[1].split("</section>")[0]
    rows = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>")[1], re.S)]
    # Never one sum of both: the procedure's limit met and the company's rule missed are two rows.
    assert ["质量部", "程序规定", "1", "0", "1", "100.0"] in rows
    assert ["质量部", "公司规定", "0", "1", "1", "0.0"] in rows

    answer = api("audit.ma").get(f"/api/v1/instances/{case}")  # the API's case view, as the auditor
    assert answer.status_code == 200
    assert {r["element_id"]: r["source"] for r in answer.get_json()["sla"] if r["kind"] == "limit"} == {
        "Timer_handle_limit": "procedure", "Timer_close_limit": "company"}


def test_an_unknown_source_is_refused_at_deploy_naming_the_timer(engine):
    raw = SLA_DEMO.read_bytes().replace(b'name="sla_source" value="company"', b'name="sla_source" value="law"')
    with pytest.raises(DiagramError, match="sla_source must be 'procedure'") as refused:
        engine.deploy(raw, "owner.xu")
    assert refused.value.element_id == "Timer_close_limit"


def test_a_running_case_keeps_the_limits_of_the_version_it_started_on(engine, clock):
    """A process owner re-declares a limit in a new version: cases already running keep the limit, its
    name and its source as their version had them; new cases get the new ones."""
    old_case = _start(engine)
    changed = SLA_DEMO.read_text(encoding="utf-8").replace(
        '<camunda:property name="sla_name" value="24小时内处理完毕" />\n'
        '          <camunda:property name="sla_source" value="procedure" />',
        '<camunda:property name="sla_name" value="公司规定：24小时内处理完毕" />\n'
        '          <camunda:property name="sla_source" value="company" />').encode()
    assert changed != SLA_DEMO.read_bytes()
    engine.deploy(changed, "owner.xu")
    new_case = engine.start_instance("sla_demo", {"customer": "苏州安达"}, "svc.huang")
    assert queries.get_instance(engine.db, old_case).version == 1 and queries.get_instance(engine.db, new_case).version == 2

    def handle_limit(case):
        [record] = [r for r in queries.sla_records(engine.db, case) if r.element_id == "Timer_handle_limit"]
        return record.name, record.source
    assert handle_limit(old_case) == ("24小时内处理完毕", "procedure")
    assert handle_limit(new_case) == ("公司规定：24小时内处理完毕", "company")
    clock.advance(timedelta(hours=24, seconds=1))
    engine.fire_due_timers()
    assert handle_limit(old_case) == ("24小时内处理完毕", "procedure")  # breached under its own version's limit
    assert [r.status for r in queries.sla_records(engine.db, old_case) if r.element_id == "Timer_handle_limit"] == \
        ["breached"]
