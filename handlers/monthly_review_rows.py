"""How a monthly review report reads: table rows for the case page (one per figure, Pareto item or
listed case) and a short text for the reviewers' forms and the mail that sends the report."""
from __future__ import annotations

from typing import Any

Label = tuple[str, str]

# Each report counts the forms of one process; the coded values of its enum fields (category, cause…)
# are named as that process's deployed diagram names them.
KINDS: dict[str, dict[str, Any]] = {
    "market_quality": {"code": "SC", "title": ("市场质量信息月度汇总", "Monthly market quality summary"),
                       "source_process": "quality_feedback"},
    "feedback_analysis": {"code": "FK", "title": ("月度反馈分析报告", "Monthly feedback analysis report"),
                          "source_process": "feedback_improvement"},
}
# The report's own terms (not form options).
NAMES: dict[str, Label] = {
    "undecided": ("未定类别", "Category not decided"), "unknown": ("未填写", "Not given"),
    "unclassified": ("未分类", "Not classified"),
    "nonconforming_share": ("不合格比例达到重要信息界限", "Nonconforming share at the important threshold"),
    "open": ("整改中", "Improvement open"), "report_issued": ("已出整改报告，跟踪中", "Report issued, tracking"),
    "closed": ("已关闭", "Closed"),
}
FieldNames = dict[str, dict[str, Label]]  # field id -> value -> names, from the diagram (option_names)
NONE_ROW: Label = ("无", "None")


def name(code: str | None, options: dict[str, Label] | None = None) -> Label | str:
    """A coded value by the diagram's option name, else a report term."""
    if code is None:
        return NAMES["unknown"]
    return (options or {}).get(code) or NAMES.get(code) or code


def chinese(label: Label | str) -> str:
    return label[0] if isinstance(label, tuple) else label


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def row(section: Label, item: Any, figure: Any = None, share: str = "", remark: Any = None) -> dict[str, Any]:
    return {"review_section": section, "review_item": item, "review_figure": figure, "review_share": share,
            "review_remark": remark}


def _counts(section: Label, counts: dict[str, int], total: int, names: dict[str, Any] | None = None):
    return [row(section, name(code, names), count, percent(count / total))
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _pareto(section: Label, items: list[dict[str, Any]], names: dict[str, Any] | None = None):
    rows = []
    for rank, item in enumerate(items, 1):
        label = name(item["cause"], names)
        zh, en = label if isinstance(label, tuple) else (label, label)
        cumulative = percent(item["cumulative_share"])
        rows.append(row(section, (f"{rank}. {zh}", f"{rank}. {en}"), item["count"], percent(item["share"]),
                        (f"累计 {cumulative}，关键少数", f"cumulative {cumulative}, vital few") if item["vital"]
                        else (f"累计 {cumulative}", f"cumulative {cumulative}")))
    return rows or [row(section, NONE_ROW)]


def _listed(section: Label, rows: list[dict[str, Any]]):
    return rows or [row(section, NONE_ROW)]


def _case(problem: dict[str, Any]) -> str:
    return f"{problem['form_no']} {problem['customer']} {problem['spec_model']} 批次 {problem['batch_no']}"


def _reasons(reasons: list[str], consequences: dict[str, Any]) -> Label:
    names = [name(r, consequences) for r in reasons]
    return "、".join(n[0] for n in names), ", ".join(n[1] for n in names)


def _status(problem: dict[str, Any], extra: Label | None = None) -> Label:
    zh, en = name(problem["improvement_status"])
    return (f"{extra[0]}；{zh}", f"{extra[1]}; {en}") if extra else (zh, en)


def _overview(content: dict[str, Any], total_label: Label, empty: Label) -> list[dict[str, Any]]:
    section = ("概况", "Overview")
    period = content["period"]
    return [row(section, ("统计期间", "Period"), f"{period['first_day']} 至 {period['last_day']}"),
            row(section, total_label, content["total"], remark=None if content["total"] else empty)]


def _attainment(content: dict[str, Any]) -> list[dict[str, Any]]:
    section = ("部门时限达成", "Limits met by department")
    return _listed(section, [
        row(section, _with_source(a), f"{a['met']}/{a['total']}", percent(a["rate"]),
            (f"超时 {a['breached']} 次", f"{a['breached']} missed") if a["breached"] else None)
        for a in content["sla_attainment"]])


SOURCE_LABELS = {"procedure": ("程序规定时限", "limits the procedure states"),
                 "company": ("公司规定时限", "company rules")}


def _with_source(attainment: dict[str, Any]) -> tuple[str, str]:
    """A department's line, saying whose limits it counts (a report never sums the two)."""
    label = SOURCE_LABELS.get(attainment.get("source") or "")
    if label is None:
        return attainment["name_zh"], attainment["name_en"]
    return f"{attainment['name_zh']}（{label[0]}）", f"{attainment['name_en']} ({label[1]})"


def _market_quality(content: dict[str, Any], names: FieldNames) -> list[dict[str, Any]]:
    total = content["total"] or 1
    consequences = names.get("consequence")
    batch, serious, complaints = ("批量问题", "Batch problems"), ("重大问题", "Serious problems"), \
        ("投诉与索赔", "Complaints and claims")
    return [
        *_overview(content, ("市场质量信息（份）", "Feedback forms"), ("本月无市场质量信息反馈", "No market quality information this month")),
        *_counts(("信息类别", "Category"), content["by_category"], total, names.get("category")),
        *_counts(("造成后果", "Consequence"), content["by_consequence"], total, consequences),
        *_pareto(("不合格特性排列图", "Pareto of nonconforming characteristics"), content["pareto"],
                 names.get("characteristic")),
        *_listed(batch, [row(batch, _case(p), f"{p['quantity_nonconforming']}/{p['quantity_shipped']}",
                             percent(p["nonconforming_share"]), _status(p, _reasons(p["reasons"], consequences)))
                         for p in content["batch_problems"]]),
        *_listed(serious, [row(serious, _case(p), remark=_status(p)) for p in content["serious_problems"]]),
        *_listed(complaints, [row(complaints, _case(p), name(p["consequence"], consequences), remark=_status(p))
                              for p in content["complaints_and_claims"]]),
        *_attainment(content),
    ]


def _feedback_analysis(content: dict[str, Any], names: FieldNames) -> list[dict[str, Any]]:
    total = content["total"] or 1
    overview, frequent, serious = ("概况", "Overview"), \
        (f"频发问题（每月>{content['frequent_threshold']}次）", f"Frequent problems (> {content['frequent_threshold']} a month)"), \
        ("紧急/重要问题", "Urgent and important problems")
    satisfaction = content["satisfaction"]
    return [
        *_overview(content, ("客户反馈（条）", "Customer feedback"), ("本月无客户反馈", "No customer feedback this month")),
        row(overview, ("已关闭", "Closed"), content["closed"], percent(content["closed"] / total)),
        row(overview, ("满意度平均分（5分制）", "Average satisfaction (of 5)"), satisfaction["average"],
            remark=(f"评分 {satisfaction['rated']} 条，低于4分 {satisfaction['below_4']} 条",
                    f"{satisfaction['rated']} rated, {satisfaction['below_4']} below 4")),
        row(overview, ("二次处理", "Second handlings"), content["second_handling"]),
        *_counts(("反馈类别", "Feedback class"), content["by_class"], total, names.get("feedback_class")),
        *_pareto(("原因类别排列图", "Pareto of cause categories"), content["pareto"], names.get("cause_category")),
        *_listed(frequent, [row(frequent, p["problem_key"], p["count"],
                                remark=("知识库：" + p["solution"], "Knowledge base: " + p["solution"])
                                if p["solution"] else ("知识库无记录", "Not in the knowledge base"))
                            for p in content["frequent_problems"]]),
        *_listed(serious, [row(serious, f"{p['feedback_no']} {p['customer']} {p['product_model'] or ''}",
                               name(p["feedback_class"], names.get("feedback_class")), remark=name(p["improvement_status"]))
                           for p in content["serious_problems"]]),
        *_attainment(content),
    ]


def report_rows(report: Any, names: FieldNames) -> list[dict[str, Any]]:
    """The report's figures, then what the reviewers added, in reading order; `names` are the source
    process's option names."""
    rows = (_market_quality if report.kind == "market_quality" else _feedback_analysis)(report.content, names)
    review = ("评审", "Review")
    if report.clerk_comments:
        rows.append(row(("销售部内勤汇总", "Sales clerk's summary"), ("汇总意见", "Comments"),
                        remark=report.clerk_comments))
    if report.additional_information:
        rows.append(row(("销售部内勤汇总", "Sales clerk's summary"), ("补充信息", "Additions"),
                        remark=report.additional_information))
    for opinion in report.department_opinions or []:
        remark = opinion["opinion"] + (f"\n改进措施：{opinion['actions']}" if opinion.get("actions") else "")
        rows.append(row(("部门评审意见", "Department opinions"), (opinion["name_zh"], opinion["name_en"]),
                        opinion["by"], remark=remark))
    for key, label in (("review_conclusions", ("评审结论", "Conclusions")),
                       ("improvement_decisions", ("改进决定与措施", "Decisions and actions")),
                       ("reviewers", ("评审人", "Reviewers"))):
        if getattr(report, key):
            rows.append(row(review, label, remark=getattr(report, key)))
    for key, label in (("plan_effectiveness", ("改进方案有效性", "Effectiveness of the plans")),
                       ("next_quarter_focus", ("下一季度产品优化重点", "Next quarter's focus"))):
        if (report.content or {}).get(key):
            rows.append(row(review, label, remark=report.content[key]))
    return rows


def summary_text(kind: str, content: dict[str, Any], names: FieldNames) -> str:
    """A few lines the reviewers read on their form and in the mail."""
    period = content["period"]
    lines = [f"统计期间：{period['first_day']} 至 {period['last_day']}"]
    if kind == "market_quality":
        if not content["total"]:
            return "\n".join(lines + ["本月无市场质量信息反馈。"])
        categories = "，".join(f"{chinese(name(c, names.get('category')))} {n} 份" for c, n in sorted(content["by_category"].items()))
        lines += [f"市场质量信息共 {content['total']} 份（{categories}）",
                  f"批量问题 {len(content['batch_problems'])} 项，重大问题 {len(content['serious_problems'])} 项，"
                  f"投诉与索赔 {len(content['complaints_and_claims'])} 项"]
    else:
        if not content["total"]:
            return "\n".join(lines + ["本月无客户反馈。"])
        lines += [f"客户反馈共 {content['total']} 条，频发问题 {len(content['frequent_problems'])} 项，"
                  f"二次处理 {content['second_handling']} 次，满意度平均分 {content['satisfaction']['average']}"]
        if content["frequent_problems"]:
            lines.append("频发问题：" + "；".join(f"{p['problem_key']}（{p['count']}次）"
                                               for p in content["frequent_problems"]))
    causes = names.get("characteristic" if kind == "market_quality" else "cause_category")
    vital = "、".join(chinese(name(p["cause"], causes)) for p in content["pareto"] if p["vital"])
    if vital:
        lines.append(f"主要原因（累计80%）：{vital}")
    return "\n".join(lines)
