"""P3's rules on plain values: the pasted lines an Excel export gives, the verification results, the
calendar months, and where a fluctuation starts to count as abnormal."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.quality_figures import (
    Decision,
    PastedFigure,
    find_fluctuations,
    month_bounds,
    months_before,
    parse_decisions,
    parse_figures,
    previous_month,
)
from tests.conftest import BEIJING


def test_tabs_from_excel_chinese_commas_codes_and_english_names_are_all_read():
    figures, errors = parse_figures("来源\t类别\t型号\t故障\t数量\n"
                                    "维修站\t整机维修\tJZ-200\t电机烧毁\t12\n"
                                    "\n"
                                    "热线，热线数据，JZ-200，异响，6\n"
                                    "repair_station,OBF,KB-10,外壳破损,0\n"
                                    "Repair station,Board repair,,主板短路,3")
    assert errors == []
    assert figures == [
        PastedFigure(2, "repair_station", "unit_repair", "JZ-200", "电机烧毁", 12),
        PastedFigure(4, "hotline", "hotline_data", "JZ-200", "异响", 6),
        PastedFigure(5, "repair_station", "obf", "KB-10", "外壳破损", 0),
        PastedFigure(6, "repair_station", "board_repair", "", "主板短路", 3)]


def test_every_problem_of_a_line_is_named_with_its_line_number():
    figures, errors = parse_figures("维修站,整机维修,JZ-200,电机烧毁,5\n门店,返修,JZ-200,,-3")
    assert [f.line_no for f in figures] == [1]
    assert errors == ["第2行：来源“门店”应为服务系统/400/800热线/维修站/客户反馈；类别“返修”应为板级维修/整机维修/开箱不良/热线数据；"
                      "故障不能为空；数量“-3”应为不小于0的整数"]


def test_customer_feedback_and_the_procedures_own_words_are_read():
    """5.1.1 names 客户反馈 among the sources; 5.1.2 names 电路板维修数据 and 400/800数据."""
    figures, errors = parse_figures("客户反馈,电路板维修,KB-10,主板短路,2\n客户,400/800数据,JZ-200,异响,1\n"
                                    "售后维修站,整机,JZ-200,电机烧毁,3")
    assert errors == []
    assert [(f.source, f.category) for f in figures] == [
        ("customer", "board_repair"), ("customer", "hotline_data"), ("repair_station", "unit_repair")]


@pytest.mark.parametrize("text", ["", "  \n\n", "来源,类别,型号,故障,数量"])
def test_an_empty_paste_is_refused(text):
    assert parse_figures(text) == ([], ["没有数据：请粘贴至少一行（来源,类别,型号,故障,数量）"])


def test_verification_results_need_a_known_record_a_result_and_a_corrected_count():
    decisions, errors = parse_decisions("#7,属实,,与维修站确认\n8,corrected,9\n9\t剔除\t\t重复，热线登记两次", {7, 8, 9})
    assert errors == []
    assert decisions == [Decision(7, "verified", None, "与维修站确认"), Decision(8, "corrected", 9, ""),
                         Decision(9, "dropped", None, "重复，热线登记两次")]
    _, errors = parse_decisions("7,更正,,\n12,属实,,\n8,剔除", {7, 8, 9})
    assert errors == ["第1行：更正须填写更正后的数量（不小于0的整数）", "第2行：编号“12”不是待核实记录"]
    _, errors = parse_decisions("7,属实", {7, 8, 9})
    assert errors == ["以下记录未给出核实结果：#8、#9"]


@pytest.mark.parametrize(("moment", "month"), [
    (datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING), "2026-11"),
    (datetime(2027, 1, 1, 9, 0, tzinfo=BEIJING), "2026-12"),
    (datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "2026-11"),  # already 1 December 00:30 in Beijing
])
def test_the_month_analysed_is_the_calendar_month_before_the_run_in_beijing_time(moment, month):
    assert previous_month(moment) == month


def test_trailing_months_and_month_bounds_cross_the_year():
    assert months_before("2027-02", 3) == ["2026-11", "2026-12", "2027-01"]
    start, end = month_bounds("2026-12")
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=BEIJING), datetime(2027, 1, 1, tzinfo=BEIJING))


KEY = ("unit_repair", "JZ-200", "电机烧毁")
OTHER = ("hotline_data", "JZ-200", "异响")


def test_a_fluctuation_counts_above_mean_times_ratio_and_from_the_minimum_count():
    trailing = [{KEY: 4}, {KEY: 6}, {KEY: 5, OTHER: 1}]  # mean 5
    assert find_fluctuations({KEY: 15}, trailing, 3.0, 5) == []  # exactly 5 × 3 is not above it
    [spike] = find_fluctuations({KEY: 16}, trailing, 3.0, 5)
    assert (spike.rule, spike.trailing, spike.mean) == ("spike", [4, 6, 5], 5.0)
    assert find_fluctuations({OTHER: 4}, trailing, 1.5, 5) == []  # 4 > 1/3 × 1.5, but under 5
    [first] = find_fluctuations({("obf", "KB-10", "外壳破损"): 5}, trailing, 1.5, 5)
    assert (first.rule, first.reason) == ("first_appearance", "首次出现：5件 ≥ 5件")


def test_without_any_trailing_figures_there_is_no_baseline_to_compare_with():
    assert find_fluctuations({KEY: 50}, [{}, {}, {}], 1.5, 5) == []
