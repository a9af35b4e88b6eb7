"""The inbox's category filter names each process's categories under that process, as its diagram does."""
from __future__ import annotations


def test_categories_are_grouped_by_process_and_narrowed_to_the_chosen_one(as_user):
    clerk = as_user("sales.li")
    everything = clerk.text("/inbox?view=department")
    assert '<optgroup label="市场质量信息反馈处理">' in everything
    assert '<optgroup label="客户反馈与产品改进">' in everything

    p1_only = clerk.text("/inbox?view=department&process=quality_feedback")
    assert "重要信息" in p1_only and '<optgroup label="客户反馈与产品改进">' not in p1_only
    assert "紧急（安全隐患" not in p1_only
