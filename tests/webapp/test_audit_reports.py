"""Auditors' reports: figures of real cases driven through the engine with the frozen clock (P4 service
requests: limits met and missed, answers to the diagram's satisfaction question), charts in the page,
CSV/Excel downloads with the same figures, the monthly review records, and who may open them."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests.processes.conftest import Case
from tests.processes.test_service_response import service_request

SPECIALIST = "svc.huang"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section class="report" id="{name}">(.*?)</section>', html, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def _table_rows(section: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
    return [[_text(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _answer_directly(case: Case, satisfaction: str) -> None:
    case.complete("Task_gen_direct_answer", SPECIALIST, can_answer_directly=True, direct_answer="请检查润滑脂型号")
    case.complete("Task_feedback", SPECIALIST, result_feedback="已答复", customer_confirmed=True,
                  satisfaction=satisfaction)


@pytest.fixture
def month_of_service(engine, clock):
    """Three requests on Monday 16 November: two answered within their limits and closed with the customer
    very satisfied / satisfied; the third's 5-minute first response is missed (nobody held it)."""
    answered = [Case(engine, engine.start_instance("service_response", service_request(customer=name), SPECIALIST))
                for name in ("华东机电有限公司", "苏州安达精密")]
    missed = Case(engine, engine.start_instance("service_response", service_request(customer="宁波恒力"), SPECIALIST))
    clock.advance(timedelta(minutes=2))
    for case in answered:
        case.complete("Task_first_response", SPECIALIST, first_response="您好，已收到", request_type="consultation",
                      urgency="general", urgency_basis="一般咨询")
    clock.advance(timedelta(minutes=4))
    assert engine.fire_due_timers() == 1  # the third request's first response
    _answer_directly(answered[0], "very_satisfied")
    _answer_directly(answered[1], "satisfied")
    return answered, missed


def test_report_figures_come_from_the_cases_of_the_month(as_user, month_of_service):
    html = as_user("audit.ma").text("/audit/reports")  # default: the current month in Beijing (November)
    assert "2026-11-01" in html and "2026-11-30" in html
    # After-sales: 4 limits met (2 first responses, 2 direct answers), the third first response missed.
    assert _table_rows(_section(html, "sla_by_department")) == [["售后服务部", "程序规定", "4", "1", "5", "80.0"]]
    # The miss had no holder: it counts for the department only.
    assert _table_rows(_section(html, "sla_by_person")) == [["黄丽", "程序规定", "4", "0", "4", "100.0"]]
    assert _table_rows(_section(html, "resolution")) == [["售后服务响应时限控制", "3", "2", "0", "1", "66.7"]]
    [durations] = _table_rows(_section(html, "case_durations"))
    assert durations[:2] == ["售后服务响应时限控制", "2"]
    [responses] = _table_rows(_section(html, "response_times"))
    assert responses[:2] == ["售后服务部", "6"]  # three tasks of each closed request
    # very satisfied = 5, satisfied = 4 as the diagram scores the options (report_satisfaction).
    assert _table_rows(_section(html, "satisfaction")) == [["售后服务响应时限控制", "客户满意度评价", "2", "4.5"]]


def test_charts_are_inline_svg_bars_with_the_table_figures(as_user, month_of_service):
    html = as_user("audit.ma").text("/audit/reports")
    section = _section(html, "sla_by_department")
    assert '<svg class="chart"' in section and 'data-label="售后服务部" data-value="80"' in section
    bar = re.search(r'<rect class="bar" x="220" y="4" width="([\d.]+)"', section)
    assert bar and float(bar.group(1)) == pytest.approx(420 * 0.8)  # 80 % of the 100 % track
    assert "<script" not in html.split("<main>")[1]  # drawn by the server, no chart library


def test_each_table_downloads_as_csv_and_excel_with_the_same_figures(as_user, month_of_service):
    auditor = as_user("audit.ma")
    html = auditor.text("/audit/reports")
    assert "/audit/reports/export/sla_by_department/csv?start=2026-11-01&amp;end=2026-11-30" in html
    csv = auditor.client.get("/audit/reports/export/sla_by_department/csv?start=2026-11-01&end=2026-11-30")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "sla_by_department_2026-11-01_2026-11-30.csv" in csv.headers["Content-Disposition"]
    text = csv.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    assert text.splitlines()[1:] == ["售后服务部,程序规定,4,1,5,80.0"]

    xlsx = auditor.client.get("/audit/reports/export/satisfaction/xlsx?start=2026-11-01&end=2026-11-30")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1] == ("售后服务响应时限控制", "客户满意度评价", 2, 4.5)

    assert auditor.page("/audit/reports/export/sla_by_department/pdf").status_code == 404
    assert auditor.page("/audit/reports/export/nothing/csv").status_code == 404


def test_another_period_has_its_own_figures(as_user, month_of_service):
    html = as_user("audit.ma").text("/audit/reports?start=2026-12-01&end=2026-12-31")
    assert '<section class="report" id="sla_by_department">' in html
    assert "<tbody>" not in _section(html, "sla_by_department")
    assert "本期无数据" in html
    only_start = as_user("audit.ma").text("/audit/reports?start=2026-11-16")
    assert 'value="2026-11-30"' in only_start  # to the end of that month


@pytest.mark.parametrize(("query", "message"), [
    ("start=2026-13-01", "2026-13-01"),
    ("start=2026-11-30&end=2026-11-01", "早于开始"),
    ("start=2020-01-01&end=2026-11-30", "最多覆盖三年"),
])
def test_a_bad_period_is_explained_on_the_page(as_user, query, message):
    auditor = as_user("audit.ma")
    response = auditor.page(f"/audit/reports?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert auditor.page(f"/audit/reports/export/resolution/csv?{query}").status_code == 400


def test_monthly_review_records_are_listed_by_month_with_links(engine, as_user, clock):
    engine.start_scheduled_now("market_quality_monthly", "admin")  # reports October (the month before)
    auditor = as_user("audit.ma")
    section = _section(auditor.text("/audit/reports"), "monthly_reviews")
    assert 'href="/records/monthly_reviews?key=2026-10"' in section
    assert "YB-2026-10-SC" in section and "市场质量信息月度汇总" in section
    month = auditor.text("/records/monthly_reviews?key=2026-10")
    assert "YB-2026-10-SC" in month and "月度评审报告（2026-10）" in month
    assert auditor.page("/records/monthly_reviews?key=2026-13").status_code == 404


@pytest.mark.parametrize(("username", "status"), [
    ("audit.ma", 200), ("admin", 200), ("sales.li", 403), ("qa.chen", 403), ("owner.xu", 403),
])
def test_only_auditors_and_admins_open_the_reports(as_user, username, status):
    client = as_user(username)
    assert client.page("/audit/reports").status_code == status
    assert client.client.get("/audit/reports/export/resolution/xlsx").status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(app):
    client = app.test_client()
    for url in ("/audit/reports", "/audit/reports/export/resolution/xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
