"""P6 record rules without a diagram: the beta list as people type it, the problem key recurrences are
counted by, the calendar month of a feedback, and the recurring problems the monthly review reads."""
from __future__ import annotations

from datetime import UTC, datetime

from handlers.knowledge_base import calendar_month
from handlers.product_improvement import CustomerFeedback, beta_participants, problem_key, recurring_problems
from tests.conftest import BEIJING


def test_beta_lines_give_customers_and_their_results_without_blanks_or_repeats():
    text = "华东机电：试用无异响\n\n  南方重工 \n华东机电: 重复\n北方机床:转速正常\n"
    assert beta_participants(text) == [("华东机电", "试用无异响"), ("南方重工", None), ("北方机床", "转速正常")]
    assert beta_participants("") == []


def test_the_problem_key_ignores_case_and_spacing():
    assert problem_key(" JZ-200 ", "轴承  异响") == problem_key("jz-200", "轴承 异响") == "jz-200/轴承 异响"
    assert problem_key("JZ-200", "漏油") != problem_key("JZ-300", "漏油")


def test_a_calendar_month_is_counted_in_beijing_time_and_december_rolls_over():
    # 31 Oct 17:00 UTC is already 1 Nov in Beijing.
    start, end = calendar_month(datetime(2026, 10, 31, 17, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 11, 1, tzinfo=BEIJING), datetime(2026, 12, 1, tzinfo=BEIJING))
    start, end = calendar_month(datetime(2026, 12, 31, 23, 0, tzinfo=BEIJING))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=BEIJING), datetime(2027, 1, 1, tzinfo=BEIJING))


def test_recurring_problems_are_those_above_the_threshold_in_the_period(database):
    def add(session, number: int, key: str, day: int, month: int = 11) -> None:
        session.add(CustomerFeedback(feedback_no=f"FK-2026-{number:04d}", instance_id=number, channel="phone",
                                     customer="客户", received_at=datetime(2026, month, day, 10, tzinfo=BEIJING),
                                     problem_key=key, handling_rounds=1, recurrence_flagged=False))
    with database.sessions.begin() as session:
        number = 0
        for key, count in (("jz-200/轴承异响", 7), ("jz-200/漏油", 6), ("jz-300/过热", 5)):
            for day in range(1, count + 1):
                number += 1
                add(session, number, key, day)
        add(session, 99, "jz-300/过热", 2, month=12)  # next month
    with database.sessions() as session:
        november = (datetime(2026, 11, 1, tzinfo=BEIJING), datetime(2026, 12, 1, tzinfo=BEIJING))
        assert recurring_problems(session, *november) == [("jz-200/轴承异响", 7), ("jz-200/漏油", 6)]
        assert recurring_problems(session, *november, threshold=6) == [("jz-200/轴承异响", 7)]
        assert recurring_problems(session, *november, threshold=4)[-1] == ("jz-300/过热", 5)
